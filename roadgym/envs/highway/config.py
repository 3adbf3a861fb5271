"""``HighwayConfig``: every knob of ``roadgym/Highway-v0`` and ``roadgym/Merge-v0``.

Names follow highway-env's config keys where it has one (``lanes_count``,
``vehicles_count``, ``duration``, ``policy_frequency``, ``collision_reward``,
``right_lane_reward``, ``high_speed_reward``, ``lane_change_reward``,
``reward_speed_range``, ``normalize_reward``), with roadgym's unit suffixes.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from roadgym.envs.core.config import (
    OBSERVATION_MODES,
    ConfigError,
    IdmTrafficFields,
    MultiAgentFields,
    WorldConfig,
    option,
    redeclare,
    world_default,
)

HIGHWAY_OBSERVATION_MODES = (*OBSERVATION_MODES, "kinematics", "occupancy_grid")
# Controlled cars start on a grid of slots: every main lane, rows this far apart ahead
# of the first car's start; a world holds at most lanes_count x AGENT_SPAWN_ROWS of them.
AGENT_SPAWN_ROWS = 4
AGENT_ROW_SPACING_M = 30.0
AGENT_LANE_STAGGER_M = 6.0  # each lane's slots this much further along than the last's


@dataclasses.dataclass(frozen=True)
class HighwayConfig(MultiAgentFields, IdmTrafficFields, WorldConfig):
    """Configuration of ``roadgym/Highway-v0``: road, traffic, ego, observation, reward.

    The car, camera and action fields are :class:`WorldConfig`'s. Three defaults differ:
    ``dt_s`` 0.2 (a 5 Hz simulation, highway-fast-v0's rate), ``meters_per_pixel`` 1.0
    (a 64 px camera sees 48 m ahead, what a highway needs) and ``action_type`` adds
    ``meta``, highway-env's ``DiscreteMetaAction``. The NPCs' IDM fields are
    :class:`IdmTrafficFields`', with its (highway-env's) defaults.
    """

    observation_modes: ClassVar[tuple[str, ...]] = HIGHWAY_OBSERVATION_MODES

    dt_s: float = world_default("dt_s", 0.2)
    meters_per_pixel: float = world_default("meters_per_pixel", 1.0)
    observation: str = world_default(
        "observation",
        "rgb",
        "Highway adds 'kinematics' (highway-env's Kinematics, (V, F) float32) and "
        "'occupancy_grid' (highway-env's OccupancyGrid, (4, 11, 11) float32), e.g. "
        "'rgb+kinematics'.",
    )
    action_type: str = world_default(
        "action_type",
        "continuous",
        "Highway adds 'meta': Discrete(5) LANE_LEFT, IDLE, LANE_RIGHT, FASTER, SLOWER over "
        "target_speeds_mps, executed by a low-level controller at the simulation rate.",
        extra_choices=("meta",),
    )
    # -- the road
    lanes_count: int = option(4, "Lanes of the main road.", low=2, high=5)
    max_curvature_per_m: float = option(
        0.002,
        "Largest curvature of the road's gentle bends (1/m; 0.002 is a 500 m radius, "
        "0 a straight road).",
        low=0.0,
        high=0.005,
    )
    on_ramp: bool = option(
        False,
        "Add an on-ramp joining from the right whose lane ends (Merge-v0 sets it).",
    )
    ramp_join_m: float = option(
        200.0,
        "Distance from the ego car's start to where the on-ramp meets the main road (m).",
        low=50.0,
        high=2000.0,
    )
    ramp_merge_length_m: float = option(
        120.0,
        "Length of the ramp's acceleration lane beside the main road; it ends there (m).",
        low=30.0,
        high=500.0,
    )
    ramp_vehicles_count: int = option(
        4, "NPC vehicles that start on the on-ramp and must merge.", low=0, high=20
    )
    ego_on_ramp: bool = option(
        False, "Start the ego car on the on-ramp (needs on_ramp) instead of the main road."
    )
    # -- time
    duration_s: float = option(
        40.0,
        "Episode length in simulated seconds: truncation (highway-env's duration).",
        low=1.0,
        high=600.0,
    )
    policy_frequency_hz: float = option(
        5.0,
        "Actions per simulated second; each action is held (continuous, discrete) or "
        "executed by the controller (meta) for 1 / (policy_frequency_hz * dt_s) "
        "simulation steps. highway-env's default is 1.",
        low=0.1,
        high=100.0,
    )
    # -- the ego car
    ego_initial_speed_mps: float = option(
        25.0, "Speed of the ego car at reset (m/s).", low=0.0, high=60.0
    )
    target_speeds_mps: tuple[float, ...] = option(
        (20.0, 25.0, 30.0),
        "Target speeds that FASTER and SLOWER step through (meta actions), ascending (m/s).",
        low=0.0,
        high=60.0,
    )
    # -- traffic
    vehicles_count: int = option(
        30,
        "NPC vehicles per world, kept between recycle_behind_m behind and "
        "recycle_ahead_m ahead of the ego car: this sets the traffic density.",
        low=0,
        high=200,
    )
    npc_speed_range_mps: tuple[float, ...] = option(
        (22.0, 28.0),
        "Range [low, high] of the NPCs' desired speeds, drawn uniformly per vehicle (m/s).",
        low=1.0,
        high=60.0,
    )
    recycle_behind_m: float = option(
        100.0,
        "An NPC this far behind the ego car is moved ahead (m).",
        low=30.0,
        high=1000.0,
    )
    recycle_ahead_m: float = option(
        400.0,
        "An NPC this far ahead of the ego car is moved behind (m).",
        low=60.0,
        high=2000.0,
    )
    idm_delta: float = option(4.0, "IDM acceleration exponent.", low=1.0, high=10.0)
    mobil_politeness: float = option(
        0.2, "MOBIL politeness: weight of the other drivers' gains.", low=0.0, high=2.0
    )
    mobil_safe_braking_mps2: float = option(
        2.0,
        "MOBIL safety limit: the deceleration a lane change may impose on the new follower "
        "(m/s^2).",
        low=0.1,
        high=10.0,
    )
    mobil_gain_threshold_mps2: float = option(
        0.2, "MOBIL: acceleration gain a lane change must bring (m/s^2).", low=0.0, high=5.0
    )
    mobil_keep_right_bias_mps2: float = option(
        0.2,
        "MOBIL keep-right bias: lowers the threshold of changes to the right and raises "
        "that of changes to the left (m/s^2).",
        low=0.0,
        high=5.0,
    )
    mobil_interval_s: float = option(
        1.0, "How often each NPC considers a lane change (s).", low=0.05, high=10.0
    )
    lane_change_duration_s: float = option(
        3.0, "Time an NPC takes to move one lane sideways (s).", low=0.5, high=10.0
    )
    # -- observation
    kinematics_vehicles_count: int = option(
        5, "Rows V of the kinematics observation: the ego car and V - 1 others.", low=1, high=50
    )
    kinematics_heading: bool = option(
        False, "Add cos_h and sin_h to the kinematics features (7 columns instead of 5)."
    )
    kinematics_see_behind: bool = option(
        False, "Kinematics rows include vehicles more than 2 car lengths behind the ego car."
    )
    curvature_lookahead_m: tuple[float, ...] = world_default(
        "curvature_lookahead_m", (0.0, 25.0, 50.0, 100.0)
    )
    # -- reward (highway-env's form)
    collision_reward: float = option(
        -1.0, "Reward weight of a collision (highway-env's).", low=-100.0, high=0.0
    )
    right_lane_reward: float = option(
        0.1,
        "Weight of being in the rightmost lane (lane index / (lanes - 1)).",
        low=0.0,
        high=100.0,
    )
    high_speed_reward: float = option(
        0.4,
        "Weight of the forward speed, mapped linearly from reward_speed_range_mps to [0, 1].",
        low=0.0,
        high=100.0,
    )
    lane_change_reward: float = option(
        0.0,
        "Reward of each lane change (highway-env's; usually 0 or negative).",
        low=-100.0,
        high=100.0,
    )
    reward_speed_range_mps: tuple[float, ...] = option(
        (20.0, 30.0),
        "Forward speeds mapped to 0 and 1 in the speed reward (m/s).",
        low=0.0,
        high=80.0,
    )
    normalize_reward: bool = option(
        True,
        "Map the reward from [collision_reward, high_speed_reward + right_lane_reward] "
        "to [0, 1], as highway-env does.",
    )

    def validate(self) -> None:
        super().validate()
        name = type(self).__name__
        for field, value in (
            ("npc_speed_range_mps", self.npc_speed_range_mps),
            ("reward_speed_range_mps", self.reward_speed_range_mps),
        ):
            if len(value) != 2 or value[0] > value[1]:
                raise ConfigError(
                    f"{name}.{field} = {value!r} is not allowed; allowed: (low, high), low <= high"
                )
        if self.reward_speed_range_mps[0] == self.reward_speed_range_mps[1]:
            raise ConfigError(
                f"{name}.reward_speed_range_mps = {self.reward_speed_range_mps!r} is empty; "
                "allowed: low < high"
            )
        if list(self.target_speeds_mps) != sorted(self.target_speeds_mps):
            raise ConfigError(
                f"{name}.target_speeds_mps = {self.target_speeds_mps!r} is not ascending; "
                "allowed: ascending speeds"
            )
        steps = 1.0 / (self.policy_frequency_hz * self.dt_s)
        if abs(steps - round(steps)) > 1e-6 or round(steps) < 1:
            raise ConfigError(
                f"{name}.policy_frequency_hz = {self.policy_frequency_hz} does not divide the "
                f"simulation frequency 1 / dt_s = {1.0 / self.dt_s:g} Hz; allowed: "
                "1 / (policy_frequency_hz * dt_s) a whole number >= 1"
            )
        slots = self.lanes_count * AGENT_SPAWN_ROWS
        if self.num_agents > slots:
            raise ConfigError(
                f"{name}.num_agents = {self.num_agents} is too many for lanes_count = "
                f"{self.lanes_count}: the controlled cars start on {AGENT_SPAWN_ROWS} rows of "
                f"one slot per lane, so allowed: num_agents <= {slots}"
            )
        if self.ego_on_ramp and not self.on_ramp:
            raise ConfigError(f"{name}.ego_on_ramp = True needs on_ramp = True")
        if self.normalize_reward and self.collision_reward == (
            self.high_speed_reward + self.right_lane_reward
        ):
            raise ConfigError(
                f"{name}: normalize_reward needs collision_reward != high_speed_reward + "
                "right_lane_reward"
            )

    @property
    def substeps(self) -> int:
        """Simulation steps per action (at least 1)."""
        return round(1.0 / (self.policy_frequency_hz * self.dt_s))

    @property
    def road_length_m(self) -> float:
        """Length of the generated road: enough for the whole episode at top speed
        (from the front row of controlled cars' start)."""
        length = (
            self.recycle_behind_m
            + 40.0
            + self.top_speed_mps * self.duration_s * 1.05
            + self.recycle_ahead_m
            + 100.0
        )
        if self.num_agents > 1:
            length += (
                self.agent_rows * AGENT_ROW_SPACING_M + self.lanes_count * AGENT_LANE_STAGGER_M
            )
        return length

    @property
    def agent_rows(self) -> int:
        """Rows of spawn slots the controlled cars start on."""
        return -(-self.num_agents // self.lanes_count)


@dataclasses.dataclass(frozen=True)
class MergeConfig(HighwayConfig):
    """Configuration of ``roadgym/Merge-v0``: :class:`HighwayConfig` with the on-ramp on."""

    on_ramp: bool = redeclare(HighwayConfig, "on_ramp", True)
    lanes_count: int = redeclare(HighwayConfig, "lanes_count", 3)
    vehicles_count: int = redeclare(HighwayConfig, "vehicles_count", 20)
    duration_s: float = redeclare(HighwayConfig, "duration_s", 30.0)
