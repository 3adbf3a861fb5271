"""A privileged classical driver for Track-v0 and Town-v0: the expert.

It reads the simulator's state instead of pixels: the route (Town) or the lane it is in
(Track) as the path, the lights, stop lines, cars and pedestrians ahead. Steering is
pure pursuit towards a point a speed-dependent distance ahead on the path; speed is the
Intelligent Driver Model against the tightest of: the speed the path's curvature
allows, the car or pedestrian ahead on the path, and the stop line ahead when the light
is red (or yellow and there is room to stop), at a stop sign until the car has stopped
and it is its turn, when the junction's exit is jammed, or before a left turn on a shared
green until oncoming traffic leaves a gap (the rule the NPC cars follow). Before a stop
line it must stop at, and before a pedestrian on the path, it brakes on one braking curve
(2 m/s^2) to a mark (1.2 m before the line, 4 m before the person) instead of IDM's slow
creep, so a pixel student imitating it stops decisively where a stop counts. Every
quantity is an array over the batch, so one ``predict`` call drives every world of a
vector env.

``ExpertDriver(env).predict(obs)`` returns ``(action, None)`` like an SB3 model, so every
tool that runs a model (evaluation, dataset generation, watching) runs the expert.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from roadgym.drivers.highway import HighwayExpertConfig, highway_actions
from roadgym.envs.core.lane_graph import wrap_angle
from roadgym.envs.core.spaces import discrete_action_table
from roadgym.envs.highway.world import HighwayWorld
from roadgym.envs.town import ego as town_ego
from roadgym.envs.town import junctions
from roadgym.envs.town.generator import CONTROL_LIGHT, CONTROL_STOP
from roadgym.envs.town.sidewalks import EDGE_SIDEWALK
from roadgym.envs.town.state import BIG_STEP, gather_rows
from roadgym.envs.town.traffic import LIGHT_RED, LIGHT_YELLOW, left_turn_yield
from roadgym.envs.town.world import TownWorld
from roadgym.envs.track.world import TrackWorld

__all__ = ["ExpertConfig", "ExpertDriver", "stops_for_yellow"]

SPEED_GAIN_PER_S = 2.0  # speed tracking: acceleration per m/s of speed error
STANLEY_GAIN = 1.0  # cross-track gain of the Stanley controller (1/s)
SCENE_STEP_M = float(town_ego.SCENE_AHEAD_M[1] - town_ego.SCENE_AHEAD_M[0])
CROSSER_CORRIDOR_M = 3.0  # route points this close to a walked crossing's line are on it
MERGE_LOOK_M = 25.0  # the ego looks for cars merging into its lane within this distance
MERGE_TIE_M = 1.0  # a merging car this much further from the join than the ego still goes first
STEER_LEAD_S = 0.15  # how far ahead (in seconds of travel) the feed-forward curvature is read
YELLOW_MARGIN_M = 0.5  # a car at speed goes on yellow unless it stops this far before the line
YELLOW_REACTION_S = 0.25  # ... a margin that shrinks to the distance covered in this time


def stops_for_yellow(speed_mps: np.ndarray, line_m: np.ndarray, brake_mps2: float) -> np.ndarray:
    """Whether a car ``line_m`` before a light's line (front bumper, <= 0 once over it) at
    ``speed_mps`` stops for a yellow: the lawful rule, stop if you can, go on only if you
    are over the line or too close to stop before it braking at ``brake_mps2``.

    A car at speed needs a margin (one control step of travel before the brake bites), but
    the margin shrinks with speed: a car standing or creeping just behind the line can
    always stop, and moving off there on yellow is what ran a red (4800422: stopped 0.03 m
    short by a jammed exit in the yellow, it moved off as the exit cleared, 0.5 m being
    "too close to stop", and its centre crossed on red)."""
    stopping_m = speed_mps**2 / (2.0 * brake_mps2)
    margin_m = np.minimum(YELLOW_MARGIN_M, YELLOW_REACTION_S * speed_mps)
    return (line_m > 0.0) & (line_m > stopping_m + margin_m)


@dataclasses.dataclass(frozen=True)
class ExpertConfig:
    """Tuning of the expert's controllers."""

    lookahead_min_m: float = 3.0
    """Shortest pure pursuit lookahead (m)."""
    lookahead_per_mps: float = 0.4
    """Lookahead added per m/s of speed (s)."""
    lookahead_max_m: float = 14.0
    """Longest pure pursuit lookahead (m)."""
    town_cruise_mps: float = 10.0
    """Cruise speed in towns, capped by the lane speed limit (m/s)."""
    track_cruise_mps: float = 16.0
    """Cruise speed on race tracks (m/s)."""
    lateral_accel_mps2: float = 2.0
    """Largest lateral acceleration in turns; sets the speed the curvature allows (m/s^2)."""
    comfort_brake_mps2: float = 3.0
    """IDM comfortable deceleration, also used to decide to stop on yellow (m/s^2)."""
    accel_mps2: float = 2.5
    """IDM acceleration (m/s^2)."""
    time_headway_s: float = 1.2
    """IDM time gap to the car ahead (s)."""
    min_gap_m: float = 3.0
    """IDM standstill gap to a car or pedestrian (m)."""
    stop_line_margin_m: float = 1.2
    """Where the front bumper stops before a stop line (m): the middle of the stretch
    (2 m to -0.5 m) where standing counts as having stopped at a stop sign, so a
    student that copies the stop with an error of a metre either way still stops there."""
    pedestrian_gap_m: float = 4.0
    """Where the front bumper stands before a pedestrian on the path (m): a person may step
    towards the car, so the expert keeps a car's length more than IDM's standstill gap."""
    stop_decel_mps2: float = 2.0
    """Deceleration of the braking curve that ends at a stop mark (m/s^2)."""


def _world_of(env: Any) -> tuple[Any, bool]:
    """The batched simulator behind ``env``, and whether ``env`` is a single env."""
    for path in (
        ("unwrapped", "world"),
        ("world",),
        ("vector_env", "world"),
        ("unwrapped", "vector_env", "world"),
    ):
        obj = env
        try:
            for name in path:
                obj = getattr(obj, name)
        except AttributeError:
            continue
        if isinstance(obj, (TownWorld, TrackWorld, HighwayWorld)):
            single = not hasattr(env, "num_envs")
            return obj, single
    raise TypeError(
        f"env = {env!r} exposes no roadgym world; allowed: a roadgym Track-v0, Town-v0, "
        "Highway-v0 or Merge-v0 env, "
        "vector env or SB3 VecEnv"
    )


class ExpertDriver:
    """The privileged expert for ``env`` (a single env, a vector env or an SB3 VecEnv)."""

    def __init__(self, env: Any, config: ExpertConfig | None = None) -> None:
        self.env = env
        self.config = config or ExpertConfig()
        self.world, self.single = _world_of(env)
        # Highway: the lane each world's ego car is driving to (the expert's own memory).
        # With several controlled cars per world (multi-agent Highway and Merge), one
        # entry per car: the expert drives every one of them.
        cars = self.world.num_cars if isinstance(self.world, HighwayWorld) else None
        self._target_lane = np.zeros(cars or self.world.batch_size, dtype=np.int64)
        self.highway_config = HighwayExpertConfig()

    def predict(
        self,
        observation: Any = None,
        state: Any = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = True,
    ) -> tuple[np.ndarray, None]:
        """Actions for the current state of every world: ``(actions, None)``.

        ``observation`` is not used (the expert reads the simulator); it is accepted so the
        expert runs wherever an SB3 model does. Continuous actions are [steer, throttle]
        (float32, (2,) for a single env, (B, 2) for a batch); for ``discrete`` envs the
        nearest row of the env's discrete action table (``DISCRETE_ACTIONS`` by default).
        """
        world = self.world
        if isinstance(world, HighwayWorld):
            actions = highway_actions(world, self._target_lane, self.highway_config)
            return (actions[0] if self.single else actions), None
        if isinstance(world, TownWorld):
            controls = self._town_controls(world)
        else:
            controls = self._track_controls(world)
        if world.config.action_type == "discrete":
            table = discrete_action_table(world.config)
            distance = np.square(controls[:, None, :] - table[None]).sum(-1)
            actions = np.argmin(distance, axis=1).astype(np.int64)
        else:
            actions = controls.astype(np.float32)
        return (actions[0] if self.single else actions), None

    # ------------------------------------------------------------------ shared pieces

    def _lookahead(self, speed: np.ndarray) -> np.ndarray:
        c = self.config
        return np.clip(
            c.lookahead_min_m + c.lookahead_per_mps * speed, c.lookahead_min_m, c.lookahead_max_m
        )

    def _pure_pursuit(self, world: Any, target: np.ndarray) -> np.ndarray:
        """Steer commands (B,) in [-1, 1] (+ right) towards ``target`` points (B, 2)."""
        car = world.car
        # Pure pursuit's geometry holds at the rear axle, not the centre of the car.
        back = 0.5 * world.config.wheelbase_m
        rear = np.stack(
            [car.x_m - back * np.cos(car.heading_rad), car.y_m - back * np.sin(car.heading_rad)], -1
        )
        rel = target - rear
        alpha = wrap_angle(np.arctan2(rel[:, 1], rel[:, 0]) - car.heading_rad)
        reach = np.maximum(np.hypot(rel[:, 0], rel[:, 1]), 1.0)
        wheel = np.arctan(2.0 * world.config.wheelbase_m * np.sin(alpha) / reach)
        return np.clip(-wheel / world.config.max_steer_rad, -1.0, 1.0)

    def _idm(self, speed, desired, gap, closing) -> np.ndarray:
        c = self.config
        s_star = c.min_gap_m + np.maximum(
            0.0,
            speed * c.time_headway_s
            + speed * closing / (2.0 * np.sqrt(c.accel_mps2 * c.comfort_brake_mps2)),
        )
        free = 1.0 - (speed / np.maximum(desired, 0.1)) ** 4
        return c.accel_mps2 * (free - (s_star / np.maximum(gap, 0.05)) ** 2)

    def _stop_profile(self, speed: np.ndarray, remaining_m: np.ndarray) -> np.ndarray:
        """Acceleration (B,) that follows the braking curve ending at a mark ``remaining_m``
        ahead: the speed from which ``stop_decel_mps2`` stands the car there, tracked with
        that deceleration fed forward (far from the mark it allows any acceleration)."""
        c = self.config
        allowed = np.sqrt(2.0 * c.stop_decel_mps2 * np.maximum(remaining_m, 0.0))
        return SPEED_GAIN_PER_S * (allowed - speed) - c.stop_decel_mps2

    def _curve_speed(self, curvature: np.ndarray, ahead_m: np.ndarray) -> np.ndarray:
        """Fastest speed (B,) from which every bend (B, K) at ``ahead_m`` (K,) is comfortable."""
        c = self.config
        bend = np.sqrt(c.lateral_accel_mps2 / np.maximum(np.abs(curvature), 1e-6))
        return np.sqrt(bend**2 + 2.0 * c.comfort_brake_mps2 * ahead_m[None, :]).min(axis=1)

    def _throttle(self, world: Any, accel: np.ndarray) -> np.ndarray:
        cfg = world.config
        return np.clip(
            np.where(accel >= 0, accel / cfg.max_accel_mps2, accel / cfg.max_brake_mps2), -1.0, 1.0
        )

    # ------------------------------------------------------------------ Town-v0

    def _town_controls(self, w: TownWorld) -> np.ndarray:
        c, cfg = self.config, w.config
        speed = w.car.speed_mps
        # Stanley with curvature feed-forward: town turns are tight and short, and the
        # feed-forward (taken a little ahead to cover the steering rate limit) lets the car
        # enter and leave them on the line where pure pursuit cuts or overshoots.
        lead = (w.s_m + STEER_LEAD_S * speed + 1.0)[:, None]
        wheel = (
            np.arctan(cfg.wheelbase_m * town_ego.route_curvature(w, lead)[:, 0])
            - w.heading_error_rad
            - np.arctan(STANLEY_GAIN * w.lateral_offset_m / (speed + 1.0))
        )
        steer = np.clip(-wheel / cfg.max_steer_rad, -1.0, 1.0)

        ahead = np.arange(0.0, 40.0, 2.0)
        curvature = town_ego.route_curvature(w, w.s_m[:, None] + ahead[None, :])
        desired = np.minimum(
            min(c.town_cruise_mps, cfg.speed_limit_mps), self._curve_speed(curvature, ahead)
        )
        near_goal = w.route_length_m - w.s_m
        desired = np.minimum(
            desired, np.sqrt(2.0 * c.comfort_brake_mps2 * np.maximum(near_goal - 1.0, 0.0)) + 1.0
        )

        scene = town_ego.scene_ahead(w)
        # IDM's free-road term brakes too gently for a bend: track the bend speed directly.
        accel = np.minimum(
            SPEED_GAIN_PER_S * (desired - speed),
            self._idm(
                speed, desired, scene["object_distance_m"], speed - scene["object_speed_mps"]
            ),
        )
        merge_gap, merge_speed = self._merge_leader(w)
        accel = np.minimum(accel, self._idm(speed, desired, merge_gap, speed - merge_speed))

        line = scene["line_distance_m"]
        kind, light = scene["line_kind"], scene["line_light"]
        # A left-turner waiting at its line may clear on the start of the yellow, yielding
        # to oncoming cars as on green (the rule the NPCs follow, envs/town/junctions.py).
        b = np.arange(w.num_cars)
        approach = w.route_stop_approach[b, scene["line_event"]]
        crossing = junctions.movements(w)["lane"][:, w.veh_s.shape[1] :].reshape(-1)
        clearing = junctions.clearing_left_turn(
            w, np.where(kind == CONTROL_LIGHT, approach, -1), crossing, line, w.agent_world
        )
        stop_light = (kind == CONTROL_LIGHT) & (
            (light == LIGHT_RED)
            | (
                (light == LIGHT_YELLOW)
                & stops_for_yellow(speed, line, c.comfort_brake_mps2)
                & ~clearing
            )
        )
        stopped = w.route_stop_done[b, scene["line_event"]]
        stop_sign = (kind == CONTROL_STOP) & ~(stopped & self._my_turn(w))
        # Don't enter a junction whose exit is blocked by a slow car.
        jammed = (
            (scene["object_class"] == 1)
            & (scene["object_speed_mps"] < 3.0)
            & (scene["object_distance_m"] < line + 25.0)
            & (kind != 0)
        )
        # A permissive left turn waits at the line for a gap in oncoming traffic.
        _, yield_left = left_turn_yield(w, w.light_state)
        yield_left &= kind == CONTROL_LIGHT
        must_stop = (stop_light | stop_sign | jammed | yield_left) & (line > -0.3)
        # IDM against a line creeps up to it, the last metres at walking pace with a barely
        # negative throttle, and a pixel student copying that rolls over the line. Instead
        # the car drives on, then brakes at one firm deceleration to stand at its mark.
        profile = self._stop_profile(speed, line - c.stop_line_margin_m)
        accel = np.where(must_stop, np.minimum(accel, profile), accel)
        # The same before a pedestrian on the path; at the mark it stands (distances ahead
        # come in 1.5 m steps): a car creeping beside a crosswalk is one people walk into.
        person = scene["object_class"] == 2
        remaining = scene["object_distance_m"] - c.pedestrian_gap_m
        # Someone crossing the street ahead is waited for before their crossing, not met
        # on it: a jaywalker seen only at the lane's edge was hit, and a car stopped only
        # when a person came near stood on the crosswalk, where they walked into it.
        crosser = self._crossing_pedestrian_m(w)
        person |= np.isfinite(crosser)
        remaining = np.minimum(remaining, crosser - c.pedestrian_gap_m)
        accel = np.where(person, np.minimum(accel, self._stop_profile(speed, remaining)), accel)
        at_mark = person & (remaining <= SCENE_STEP_M)
        accel = np.where(at_mark, np.minimum(accel, -c.comfort_brake_mps2), accel)
        # A car that stopped with a light's line between its front bumper and its centre
        # (queued into a junction it entered on green) holds there while the light is
        # red: its centre crossing would run the red. In the yellow too, unless it is a
        # left-turner clearing: standing, its centre may not be over before the red
        # (4900259: stopped 0.19 m over by a jammed exit, it moved off 2.0 s into the
        # yellow and its centre crossed 0.4 s into the red).
        half = 0.5 * cfg.car_length_m
        event_kind = gather_rows(w.by_car(w.approach_kind), w.route_stop_approach)  # (C, E)
        event_light = gather_rows(w.by_car(w.light_state), w.route_stop_approach)
        bumper = w.route_stop_s - w.s_m[:, None] - half
        centre_behind = (event_kind == CONTROL_LIGHT) & (w.route_stop_s > w.s_m[:, None])
        straddling_red = (centre_behind & (event_light == LIGHT_RED) & (bumper <= -0.5)).any(1)
        front_over = centre_behind & (bumper <= 0.0)
        straddling_yellow = (front_over & (event_light == LIGHT_YELLOW)).any(1) & ~clearing
        straddling = (straddling_red | straddling_yellow) & (speed < 1.0)
        accel = np.where(straddling, np.minimum(accel, -c.comfort_brake_mps2), accel)
        throttle = self._throttle(w, accel)
        # Hold the brake at a standstill so the car never creeps over a line.
        throttle = np.where((speed < 0.05) & (accel < 0.0), -1.0, throttle)
        return np.stack([steer, throttle], -1)

    @staticmethod
    def _crossing_pedestrian_m(w: TownWorld) -> np.ndarray:
        """Front bumper to the first route point ahead (C,) (m, inf when none) on the
        crossing of a pedestrian walking one (a crosswalk or a mid-block crossing).

        The car waits before a crossing someone is walking, wherever along it they are:
        stopping only when they come near the route left it standing on the crosswalk,
        in their way."""
        crossing = (w.ped_kind != EDGE_SIDEWALK) & ~w.ped_waiting  # (B, P)
        if not crossing.any():
            return np.full(w.num_cars, np.inf)
        half = 0.5 * w.config.car_length_m
        ahead = town_ego.SCENE_AHEAD_M
        points = town_ego.route_points(w, w.s_m[:, None] + half + ahead[None, :])  # (C, K, 2)
        b = np.arange(w.batch_size)[:, None]
        start = w.by_car(w.walk_xy[b, w.ped_from])[:, None]  # (C, 1, P, 2)
        along = w.by_car(w.walk_xy[b, w.ped_to])[:, None] - start
        crossing = w.by_car(crossing)
        rel = points[:, :, None, :] - start  # (C, K, P, 2)
        length_sq = np.maximum((along * along).sum(-1), 1e-9)
        t = np.clip((rel * along).sum(-1) / length_sq, 0.0, 1.0)  # (B, K, P)
        off = rel - t[..., None] * along
        on_path = (off * off).sum(-1) < CROSSER_CORRIDOR_M**2
        hit = (on_path & crossing[:, None, :]).any(axis=2)  # (C, K)
        return np.where(hit.any(axis=1), ahead[np.argmax(hit, axis=1)], np.inf)

    @staticmethod
    def _merge_leader(w: TownWorld) -> tuple[np.ndarray, np.ndarray]:
        """Gap (C,) (m, inf when none) and speed (C,) of the car each controlled car lets
        merge first.

        Where two lanes join (a two-lane street turning or running into a one-lane one),
        the car nearer the join goes first: a car moving on another connector into the
        lane a controlled car's next crossing leads to (past its stop line, or at a plain
        bend), as near the join as the controlled car or nearer, is followed as if it were
        ahead, at the difference of their distances less a car length. Rivals are the NPCs
        and the other controlled cars; between two controlled cars the order is strict
        (nearer first, ties to the lower agent index), so two of them never wait for each
        other. A car waiting at a light or stop sign is the junction rules' business:
        yielding to it there deadlocks with its wait for this car's turn (or, 5200055,
        for the junction this car stands in to empty).
        """
        n, a, length = w.veh_s.shape[1], w.num_agents, w.config.car_length_m
        mv = junctions.movements(w)
        b = np.arange(w.batch_size)[:, None]
        lane = mv["lane"]  # (B, N + A) connector each car is on or takes next
        merge = w.lane_successors[b, lane, 0]  # a connector leads into one street lane
        to_merge = mv["to_line_m"] + w.lane_length_m[b, lane]  # front bumper to the join
        plain_bend = w.lane_from_approach[b, lane] < 0
        on, rows = w.agent_world, np.arange(w.num_cars)
        lane, merge, to_merge = lane[on], merge[on], to_merge[on]  # (C, N + A)
        speed, to_line, plain_bend = mv["speed"][on], mv["to_line_m"][on], plain_bend[on]
        me = n + rows % a  # each car's own column
        mine = to_merge[rows, me][:, None]
        column = np.arange(n + a)[None, :]
        first = np.where(
            column < n,
            to_merge <= mine + MERGE_TIE_M,
            (to_merge < mine) | ((to_merge == mine) & (column < me[:, None])),
        )
        rival = (
            (merge == merge[rows, me][:, None])
            & (lane != lane[rows, me][:, None])
            & np.isfinite(mine)
            & (mine < MERGE_LOOK_M)
            & (to_merge > -length)
            & first
            & (speed > 0.5)
            & ((to_line <= 0.0) | plain_bend)
            & (column != me[:, None])
        )  # (C, N + A)
        gap = np.where(rival, mine - np.where(rival, to_merge, 0.0) - length, np.inf)
        nearest = np.argmin(gap, axis=1)
        found = gap[rows, nearest]
        return found, np.where(np.isfinite(found), speed[rows, nearest], 0.0)

    @staticmethod
    def _my_turn(w: TownWorld) -> np.ndarray:
        """Whether each controlled car (C,) has the right of way at the stop sign it waits
        at: the earliest claim there (NPCs' and the other controlled cars'), and the
        junction empty of everyone else."""
        junction, key = w.ego_stop_claim()
        others = np.where(
            w.by_car(w.veh_stop_junction) == junction[:, None], w.by_car(w.veh_stop_key), BIG_STEP
        )
        others = others.min(1, initial=BIG_STEP)  # initial: num_vehicles may be 0
        cars = np.arange(w.num_cars)
        j = np.maximum(junction, 0)
        if w.num_agents == 1:
            inside = w.junction_occupancy(include_ego=False)[cars, j]
        else:
            shape = (w.batch_size, w.num_agents)
            claims = np.where(junction >= 0, key, BIG_STEP).reshape(shape)[w.agent_world]
            same = junction.reshape(shape)[w.agent_world] == junction[:, None]  # (C, A)
            same[cars, cars % w.num_agents] = False
            others = np.minimum(others, np.where(same, claims, BIG_STEP).min(1))
            everyone = w.junction_occupancy(include_ego=True)[w.agent_world, j]
            inside = everyone - w.car_in_junction()[cars, j]
        inside = inside + w.by_car(ExpertDriver._npcs_pulling_in(w))[cars, j]
        return (junction >= 0) & (key < others) & (inside == 0)

    @staticmethod
    def _npcs_pulling_in(w: TownWorld) -> np.ndarray:
        """NPCs (B, J) that went at a stop sign and are pulling into each junction: over
        their line but not yet on its connector, a stretch where the world counts them
        neither as waiting nor as inside (2000248: car 6 took its turn as one pulled in,
        and met it in the box)."""
        batch, jn = w.junction_cycle.shape
        b = np.arange(batch)[:, None]
        lane0, lane1 = w.veh_lane[..., 0], w.veh_lane[..., 1]
        pulling = (
            w.veh_committed
            & (w.veh_stop_junction < 0)
            & ~w.lane_is_connector[b, lane0]
            & w.lane_is_connector[b, lane1]
        )
        out = np.zeros(batch * jn, dtype=np.int64)
        np.add.at(out, (b * jn + np.maximum(w.lane_junction[b, lane1], 0))[pulling], 1)
        return out.reshape(batch, jn)

    # ------------------------------------------------------------------ Track-v0

    def _track_controls(self, w: TrackWorld) -> np.ndarray:
        c, cfg = self.config, w.config
        speed = w.car.speed_mps
        # Keep to the lane the car is in: the lane centre nearest to its offset.
        n = cfg.num_lanes
        centres = (0.5 * (n - 1) - np.arange(n)) * cfg.lane_width_m
        lane_offset = centres[
            np.argmin(np.abs(w.lateral_offset_m[:, None] - centres[None, :]), axis=1)
        ]
        look = self._lookahead(speed)
        length = w.track_length_m
        fraction = ((w.s_m + look) % length) / length
        index = np.minimum(np.round(fraction * w.num_segments).astype(np.int64), w.num_segments - 1)
        b = np.arange(w.batch_size)
        point = w.centre_vertices[b, index]
        heading = w.centre_heading[b, np.minimum(index, w.num_segments - 1)]
        normal = np.stack([-np.sin(heading), np.cos(heading)], -1)
        target = point + lane_offset[:, None] * normal
        steer = self._pure_pursuit(w, target)
        ahead = np.arange(0.0, 60.0, 3.0)
        curvature = np.take_along_axis(w.centre_curvature, w._index_ahead(ahead), axis=1)  # noqa: SLF001
        # The lane's own bend is tighter on the inside of a curve.
        lane_curvature = curvature / np.maximum(1.0 - curvature * lane_offset[:, None], 0.2)
        desired = np.minimum(c.track_cruise_mps, self._curve_speed(lane_curvature, ahead))
        accel = SPEED_GAIN_PER_S * (desired - speed)
        return np.stack([steer, self._throttle(w, accel)], -1)
