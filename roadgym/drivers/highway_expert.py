"""The privileged expert of Highway-v0 and Merge-v0: IDM and MOBIL for the ego car.

It reads the simulator: the cars ahead and beside the ego car in road coordinates.
Speed follows the Intelligent Driver Model against the leader in its lane (and in the
lane it moves to); lanes change by MOBIL with a wide safety margin, a keep-right bias
and, on the ramp, the lane's end as a standing obstacle. Continuous and discrete
actions steer by pure pursuit towards the chosen lane; meta actions ask for the lane
and for the target speed nearest to where IDM will take the car by the next decision.
Everything is an array over the batch: one ``predict`` drives every world.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from roadgym.envs.core.spaces import DISCRETE_ACTIONS
from roadgym.envs.highway import ego
from roadgym.envs.highway.state import HighwayState
from roadgym.envs.highway.traffic import idm, neighbours, ramp_end_gap, sort_entries

__all__ = ["HighwayExpertConfig", "highway_actions", "highway_controls"]

RAMP_WATCH_M = 60.0  # from this far before the ramp joins, its cars count as in the next lane


@dataclasses.dataclass(frozen=True)
class HighwayExpertConfig:
    """Tuning of the highway expert."""

    cruise_mps: float = 28.0
    """Desired speed on a free road (m/s), capped by the car's top speed."""
    time_headway_s: float = 1.5
    """IDM time gap to the car ahead (s)."""
    min_gap_m: float = 8.0
    """IDM standstill gap (m)."""
    accel_mps2: float = 3.0
    """IDM acceleration (m/s^2)."""
    comfort_brake_mps2: float = 4.0
    """IDM comfortable deceleration (m/s^2)."""
    politeness: float = 0.1
    """MOBIL politeness."""
    safe_braking_mps2: float = 2.0
    """MOBIL: largest deceleration the new follower may be asked for (m/s^2)."""
    gain_threshold_mps2: float = 0.1
    """MOBIL: gain a lane change must bring (m/s^2)."""
    keep_right_bias_mps2: float = 0.1
    """MOBIL keep-right bias (m/s^2)."""
    lane_margin_m: float = 6.0
    """Bumper gap, plus a second of closing speed, needed ahead and behind to change lanes (m)."""
    emergency_braking_fraction: float = 0.5
    """When staying in lane means a collision (meta actions: the car ahead is slower than
    the lowest target speed), a lane change is judged by the braking the new follower
    needs to keep its distance (closing speed squared over twice the gap beyond the
    margin), which may be this share of the NPCs' full braking (``max_brake_mps2``);
    MOBIL's IDM-based test (``safe_braking_mps2``) holds otherwise."""


def _idm(c: HighwayExpertConfig, speed, desired, gap, closing) -> np.ndarray:
    s_star = c.min_gap_m + np.maximum(
        0.0,
        speed * c.time_headway_s
        + speed * closing / (2.0 * np.sqrt(c.accel_mps2 * c.comfort_brake_mps2)),
    )
    free = 1.0 - (speed / np.maximum(desired, 0.1)) ** 4
    return c.accel_mps2 * (free - (s_star / np.maximum(gap, 0.1)) ** 2)


def highway_controls(
    world: HighwayState,
    target_lane: np.ndarray,
    config: HighwayExpertConfig,
    slowest_mps: float = 0.0,
    horizon_s: float = 0.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The expert's decision for every world.

    ``target_lane`` (B,) is the lane it is driving to (updated in place). Returns
    ``(controls, lane_step, accel)``: [steer, throttle] (B, 2), the lane change it asks
    for (B,) in {-1, 0, +1}, and its IDM acceleration (B,).

    ``slowest_mps``: the lowest speed the car can hold (meta actions: the lowest target
    speed); where IDM would take it below that within ``horizon_s`` (the next decision),
    staying means a collision, and the lane change is mandatory: any lane that is better
    than the one it is in, with the gaps free, and whose new follower can brake for it
    (``emergency_braking_fraction``), will do.
    """
    cfg, n = world.config, world.num_npcs
    c = config
    batch = world.batch_size
    b = np.arange(batch)
    cars = n + 1
    me = b * cars + n
    s, d = world.veh_s[:, n], world.veh_d[:, n]
    speed = world.car.speed_mps
    desired = np.full(batch, min(c.cruise_mps, cfg.top_speed_mps))
    entries = sort_entries(world)
    all_s, all_v = world.veh_s.reshape(-1), world.veh_speed.reshape(-1)
    length = cfg.car_length_m

    def accel_in(
        lane: np.ndarray, watch_ramp: bool = False
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Own IDM acceleration in ``lane``, and the leader and follower there."""
        leader, follower = neighbours(entries, b, lane, s)
        # The ego car's own entry sits at exactly ``s``: skip it on either side.
        leader = np.where(leader == me, -1, leader)
        follower = np.where(follower == me, -1, follower)
        has = leader >= 0
        lead = np.maximum(leader, 0)
        gap = np.where(has, all_s[lead] - s - length, np.inf)
        if cfg.on_ramp:
            end = ramp_end_gap(world, np.ones((batch, cars), bool))[:, n]
            gap = np.where(lane == cfg.lanes_count, np.minimum(gap, end), gap)
            # In the ramp lane the lane's end is a standing obstacle when it is nearer.
            end_first = (lane == cfg.lanes_count) & (~has | (all_s[lead] - s - length > end))
            lead_v = np.where(end_first, 0.0, all_v[lead])
        else:
            lead_v = all_v[lead]
        closing = np.where(np.isfinite(gap), speed - np.where(has, lead_v, 0.0), 0.0)
        accel = _idm(c, speed, desired, gap, closing)
        if cfg.on_ramp and watch_ramp:
            # Beside the ramp, a car on it may cut in at any moment: before moving into
            # the lane next to the ramp, count the ramp's cars as in that lane too.
            ramp = np.full(batch, cfg.lanes_count)
            ramp_leader, _ = neighbours(entries, b, ramp, s)
            watch = (lane == cfg.lanes_count - 1) & (ramp_leader >= 0)
            watch &= s >= world.ramp_join_s - RAMP_WATCH_M
            rl = np.maximum(ramp_leader, 0)
            ramp_gap = np.where(watch, all_s[rl] - s - length, np.inf)
            ramp_accel = _idm(c, speed, desired, ramp_gap, np.where(watch, speed - all_v[rl], 0.0))
            accel = np.minimum(accel, ramp_accel)
        return accel, leader, follower

    current = world.ego_lane_index
    reset = world.sim_steps == 0
    target_lane[reset] = current[reset]
    centre = world.lane_centre_d(b, np.clip(target_lane, 0, world.max_lane), s)
    settled = np.abs(d - centre) < 0.8  # pure pursuit sits a little inside bends
    accel_now = accel_in(target_lane)[0]
    accel = np.minimum(accel_now, accel_in(current)[0])

    # Staying in lane ends in a collision when IDM asks for less than the car can hold.
    mandatory = speed + np.minimum(accel_now, 0.0) * max(horizon_s, 1.0) < slowest_mps
    mandatory &= slowest_mps > 0.0  # a car that can brake to a stop never must change
    braking_limit = np.where(
        mandatory, c.emergency_braking_fraction * cfg.max_brake_mps2, c.safe_braking_mps2
    )
    best_gain = np.full(batch, -np.inf)
    lane_step = np.zeros(batch, dtype=np.int64)
    for step in (-1, 1):
        lane = target_lane + step
        exists = (lane >= 0) & (lane <= cfg.lanes_count - 1)
        if cfg.on_ramp:
            beside = world.ramp_beside(b, s)
            exists |= (lane == cfg.lanes_count) & beside
            exists &= (target_lane < cfg.lanes_count) | beside
        lane = np.clip(lane, 0, world.max_lane)
        mine, leader, follower = accel_in(lane, watch_ramp=True)
        has_f, has_l = follower >= 0, leader >= 0
        fol = np.maximum(follower, 0)
        lead = np.maximum(leader, 0)
        gap_back = np.where(has_f, s - all_s[fol] - length, np.inf)
        gap_front = np.where(has_l, all_s[lead] - s - length, np.inf)
        need_back = c.lane_margin_m + np.maximum(all_v[fol] - speed, 0.0)
        need_front = c.lane_margin_m + np.maximum(speed - all_v[lead], 0.0)
        fol_desired = world.veh_desired_mps.reshape(-1)[fol]
        fol_after = idm(world, all_v[fol], fol_desired, gap_back, all_v[fol] - speed)
        safe = (gap_back > need_back) & (gap_front > need_front)
        # Kinematics, for a mandatory change: IDM brakes hard for any short gap, even
        # one that is not closing (it wants its time headway back), which is no danger.
        closing_back = np.maximum(all_v[fol] - speed, 0.0)
        room_back = np.maximum(gap_back - c.lane_margin_m, 1e-3)
        stop_ok = np.square(closing_back) / (2.0 * room_back) <= braking_limit
        safe &= ~has_f | np.where(mandatory, stop_ok, fol_after >= -braking_limit)
        # A car two lanes over and beside the ego car may move into the same lane at the
        # same moment (its driver cannot see a change that has not begun): wait for it.
        beyond = lane + step
        beyond_exists = (beyond >= 0) & (beyond <= world.max_lane)
        near_leader, near_follower = neighbours(entries, b, np.clip(beyond, 0, world.max_lane), s)
        beside = np.zeros(batch, dtype=bool)
        for other in (near_leader, near_follower):
            there = (other >= 0) & (other != me)
            apart = np.abs(all_s[np.maximum(other, 0)] - s) - length
            beside |= there & (apart < c.lane_margin_m)
        safe &= mandatory | ~(beyond_exists & beside)
        gain = mine - accel_now + c.politeness * np.where(has_f, np.minimum(fol_after, 0.0), 0.0)
        # A mandatory change needs only to be better than staying.
        threshold = np.where(mandatory, 0.0, c.gain_threshold_mps2 - c.keep_right_bias_mps2 * step)
        ok = exists & safe & settled & (gain - threshold > best_gain) & (gain > threshold)
        best_gain = np.where(ok, gain - threshold, best_gain)
        lane_step = np.where(ok, step, lane_step)
    target_lane += lane_step

    look = np.maximum(12.0, 1.0 * speed)
    ahead = s + look
    point, _ = world.road_to_world(b, ahead, world.lane_centre_d(b, target_lane, ahead))
    steer = ego.pure_pursuit(world, point)
    throttle = ego.throttle_for(world, accel)
    return np.stack([steer, throttle], axis=-1), lane_step, accel


def highway_actions(
    world: HighwayState, target_lane: np.ndarray, config: HighwayExpertConfig
) -> np.ndarray:
    """The expert's actions in the world's action type: (B, 2) float32 or (B,) int64."""
    cfg = world.config
    slowest_mps, horizon_s = 0.0, 0.0
    if cfg.action_type == "meta":  # the world keeps the target lane of meta actions
        target_lane[:] = world.ego_target_lane
        slowest_mps, horizon_s = min(cfg.target_speeds_mps), 1.0 / cfg.policy_frequency_hz
    controls, lane_step, accel = highway_controls(
        world, target_lane, config, slowest_mps, horizon_s
    )
    if cfg.action_type == "continuous":
        return controls.astype(np.float32)
    if cfg.action_type == "discrete":
        distance = np.square(controls[:, None, :] - DISCRETE_ACTIONS[None]).sum(-1)
        return np.argmin(distance, axis=1).astype(np.int64)
    # Meta: change lane when MOBIL says so, else step towards the target speed IDM is
    # heading for by the next decision.
    speeds = np.asarray(cfg.target_speeds_mps)
    wanted = world.car.speed_mps + np.minimum(accel, 0.0) * horizon_s + np.maximum(accel, 0.0)
    index = np.clip(np.searchsorted(speeds, wanted + 0.5, side="right") - 1, 0, len(speeds) - 1)
    current = world.ego_speed_index
    speed_action = np.where(
        index > current, ego.FASTER, np.where(index < current, ego.SLOWER, ego.IDLE)
    )
    lane_action = np.where(lane_step < 0, ego.LANE_LEFT, ego.LANE_RIGHT)
    return np.where(lane_step != 0, lane_action, speed_action).astype(np.int64)
