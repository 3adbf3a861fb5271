"""``TownConfig``: every knob of ``roadgym/Town-v0``, typed, documented and validated."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from roadgym.envs.core.config import (
    OBSERVATION_MODES,
    ConfigError,
    IdmTrafficFields,
    MultiAgentFields,
    RouteFields,
    WorldConfig,
    option,
    world_default,
)


@dataclasses.dataclass(frozen=True)
class TownConfig(MultiAgentFields, RouteFields, IdmTrafficFields, WorldConfig):
    """Configuration of ``roadgym/Town-v0``: town, traffic, car, camera, route, reward.

    The car, camera, observation and action fields are :class:`WorldConfig`'s. Four of
    their defaults differ from Track's, because a town is driven at urban speed through
    right-angle junction turns far tighter than any track bend: ``max_steer_rad`` 0.6 and
    ``steer_rate_radps`` 2.5 (more wheel angle, reached sooner, for those turns), and
    ``max_accel_mps2`` 3.0 and ``top_speed_mps`` 20 (a city car, not a race car). The NPC
    car fields are :class:`IdmTrafficFields`' and the speed limit, step cost, off-road and
    stall fields :class:`RouteFields`', with urban defaults.
    """

    # Town adds `nav`: what a driver knows besides the camera (speed, next turn).
    observation_modes: ClassVar[tuple[str, ...]] = (*OBSERVATION_MODES, "nav")

    max_steer_rad: float = world_default("max_steer_rad", 0.6)
    steer_rate_radps: float = world_default("steer_rate_radps", 2.5)
    max_accel_mps2: float = world_default("max_accel_mps2", 3.0)
    top_speed_mps: float = world_default("top_speed_mps", 20.0)

    # -- the street grid
    grid_size: int = option(5, "Junctions per side of the street grid.", low=3, high=8)
    block_min_m: float = option(
        40.0,
        "Shortest distance between neighbouring junctions (m); at most block_max_m, and it "
        "must leave 8 m of street between junctions: block_min_m >= 4 lane_width_m + "
        "2 (sidewalk_width_m + crosswalk_width_m) + 12 (38 m at default widths).",
        low=38.0,
        high=300.0,
    )
    block_max_m: float = option(
        70.0,
        "Longest distance between neighbouring junctions (m); at least block_min_m.",
        low=38.0,
        high=300.0,
    )
    street_removal_fraction: float = option(
        0.2,
        "Share of street segments removed (only where no dead end appears and every lane "
        "stays reachable from every other).",
        low=0.0,
        high=0.5,
    )
    two_lane_fraction: float = option(
        0.35,
        "Share of grid lines built with 2 lanes each way (else 1). When every line comes "
        "out with 2, one vertical and one horizontal line (drawn at random) keep 1: lanes "
        "do not change mid-block, so inner lanes must meet outer ones somewhere.",
        low=0.0,
        high=1.0,
    )
    # The sidewalk and crosswalk width ranges end where the default block_min_m (40 m) still
    # leaves 8 m of street; wider ones need a larger block_min_m (validate says so).
    lane_width_m: float = world_default(
        "lane_width_m", 3.5, "More than 4.0 needs a larger block_min_m."
    )
    sidewalk_width_m: float = option(3.0, "Width of the sidewalks (m).", low=1.5, high=4.0)
    crosswalk_width_m: float = option(3.0, "Width of the crosswalks (m).", low=1.5, high=4.0)
    speed_limit_mps: float = world_default(
        "speed_limit_mps", 11.0, "Turning lanes are slower (turn_lateral_accel_mps2)."
    )
    turn_lateral_accel_mps2: float = option(
        2.0,
        "Lateral acceleration that sets the speed limit of turning lanes (m/s^2).",
        low=0.5,
        high=8.0,
    )
    # -- traffic control
    traffic_light_fraction: float = option(
        0.5,
        "Share of junctions (3 or more arms) with traffic lights; the others get all-way "
        "stop signs.",
        low=0.0,
        high=1.0,
    )
    green_s: float = option(
        6.0,
        "Green time of each phase (s). A light cycle has two vehicle phases, east-west "
        "then north-south (opposing approaches share one; left turns are permissive and "
        "yield to oncoming traffic), then the walk phase: 2 x (green + yellow + all-red) + "
        "walk = 32 s by default.",
        low=1.0,
        high=120.0,
    )
    yellow_s: float = option(3.0, "Yellow time of each phase (s).", low=0.5, high=10.0)
    all_red_s: float = option(2.0, "All-red clearance after each yellow (s).", low=0.0, high=10.0)
    walk_s: float = option(
        10.0,
        "Pedestrian phase closing each light cycle: every vehicle light red, every "
        "crosswalk of the junction open (s).",
        low=2.0,
        high=120.0,
    )
    left_turn_gap_s: float = option(
        6.0,
        "A left turn on a shared green starts only when every oncoming car going straight "
        "or right is at least this far from its stop line, in seconds at full acceleration "
        "up to the speed limit, and none is inside the junction; a left turn takes about "
        "5 s to clear from a standstill (s).",
        low=0.0,
        high=30.0,
    )
    stop_duration_s: float = option(
        0.5, "How long a car must stand at a stop line before it may go (s).", low=0.0, high=10.0
    )
    # -- traffic
    num_vehicles: int = option(
        20,
        "NPC vehicles per world, spawned apart; reset raises a ConfigError when the town "
        "has no room left for them (a 3 x 3 grid holds about 50).",
        low=0,
        high=128,
    )
    num_pedestrians: int = option(12, "Pedestrians per world.", low=0, high=128)
    jaywalker_fraction: float = option(
        0.2,
        "Share of pedestrians who also cross mid-block and ignore walk signals (they "
        "still wait for a gap in traffic).",
        low=0.0,
        high=1.0,
    )
    pedestrian_speed_mps: float = option(1.3, "Walking speed (m/s).", low=0.3, high=3.0)
    pedestrian_gap_m: float = option(
        22.0,
        "A pedestrian starts an unsignalled crossing only when no moving vehicle is within "
        "this distance of it (m).",
        low=5.0,
        high=100.0,
    )
    idm_accel_mps2: float = world_default("idm_accel_mps2", 2.0)
    idm_comfort_brake_mps2: float = world_default("idm_comfort_brake_mps2", 3.0)
    idm_time_headway_s: float = world_default("idm_time_headway_s", 1.2)
    idm_min_gap_m: float = world_default("idm_min_gap_m", 2.5)
    # -- the route
    route_length_min_m: float = option(
        150.0,
        "Shortest planned route (m, along the lanes); at most route_length_max_m. A town "
        "with no route in range uses the nearest and warns (RouteLengthWarning).",
        low=20.0,
        high=5000.0,
    )
    route_length_max_m: float = option(
        300.0,
        "Longest planned route (m, along the lanes); at least route_length_min_m.",
        low=20.0,
        high=5000.0,
    )
    route_tolerance_m: float = option(
        4.0,
        "Distance from the route centreline beyond which the car has left the route "
        "(ends the episode) (m).",
        low=1.0,
        high=50.0,
    )
    curvature_lookahead_m: tuple[float, ...] = world_default(
        "curvature_lookahead_m", (0.0, 10.0, 20.0)
    )
    # -- reward
    route_reward: float = option(
        100.0, "Progress reward summed over the whole route.", low=0.0, high=1e6
    )
    step_penalty: float = world_default("step_penalty", 0.01)
    success_reward: float = option(10.0, "Bonus on reaching the goal.", low=0.0, high=1e6)
    collision_penalty: float = option(
        50.0,
        "Penalty for hitting a vehicle or a pedestrian (ends the episode).",
        low=0.0,
        high=1e6,
    )
    red_light_penalty: float = option(
        20.0, "Penalty for crossing a stop line on red.", low=0.0, high=1e6
    )
    stop_sign_penalty: float = option(
        10.0, "Penalty for crossing a stop sign's line without stopping.", low=0.0, high=1e6
    )
    off_route_penalty: float = option(
        20.0, "Penalty for leaving the route (ends the episode).", low=0.0, high=1e6
    )
    stall_timeout_s: float = world_default(
        "stall_timeout_s",
        90.0,
        "It must outlast every legitimate wait: a car arriving as its green ends stands 26 s "
        "(the 32 s cycle less its green), and a left-turner or a queued car that misses a "
        "green waits another whole cycle; 90 s is that red wait plus two cycles. Values "
        "shorter than two light cycles are rejected.",
    )
    stall_penalty: float = world_default(
        "stall_penalty",
        60.0,
        "Above every other end's penalty, so that standing still is never a cheaper end "
        "than a collision or leaving the road.",
    )

    @property
    def light_cycle_s(self) -> float:
        """Length of one light cycle (s): two vehicle phases, then the walk phase."""
        return 2 * (self.green_s + self.yellow_s + self.all_red_s) + self.walk_s

    def validate(self) -> None:
        super().validate()
        for low, high in (
            ("block_min_m", "block_max_m"),
            ("route_length_min_m", "route_length_max_m"),
        ):
            if getattr(self, low) > getattr(self, high):
                raise ConfigError(
                    f"TownConfig.{low} = {getattr(self, low)} is larger than {high} = "
                    f"{getattr(self, high)}; allowed: {low} <= {high}"
                )
        if 0 < self.stall_timeout_s < 2 * self.light_cycle_s:
            raise ConfigError(
                f"TownConfig.stall_timeout_s = {self.stall_timeout_s} is shorter than two "
                f"light cycles ({2 * self.light_cycle_s:g} s with these green_s, yellow_s, "
                "all_red_s and walk_s), so it would end legitimate waits at red lights; "
                f"allowed: 0 (off) or >= {2 * self.light_cycle_s:g}"
            )
        narrowest = self.block_min_m - 2 * (
            2 * self.lane_width_m + self.sidewalk_width_m + self.crosswalk_width_m + 2.0
        )
        if narrowest < 8.0:
            raise ConfigError(
                f"TownConfig.block_min_m = {self.block_min_m} leaves {narrowest:.1f} m of "
                "street between junctions with these lane, sidewalk and crosswalk widths; "
                "allowed: a block_min_m that leaves at least 8 m"
            )
