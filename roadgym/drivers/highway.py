"""The privileged expert of Highway-v0 and Merge-v0: IDM and MOBIL for the ego car.

It reads the simulator: the cars ahead and beside the ego car in road coordinates.
Speed follows the Intelligent Driver Model against the leader in its lane (and in the
lane it moves to); lanes change by MOBIL with a wide safety margin, a keep-right bias
and, on the ramp, the lane's end as a standing obstacle. Continuous and discrete
actions steer by pure pursuit towards the chosen lane; meta actions ask for the lane
and step the target speed towards the one nearest the desired speed while a play-out of
the speed controller says the gap ahead allows it (:func:`holds_target`).
Everything is an array over the batch: one ``predict`` drives every world.
"""

from __future__ import annotations

import dataclasses
import math
from typing import NamedTuple

import numpy as np

from roadgym.envs.core.spaces import DISCRETE_ACTIONS
from roadgym.envs.highway import ego
from roadgym.envs.highway.config import HighwayConfig
from roadgym.envs.highway.state import HighwayState
from roadgym.envs.highway.traffic import idm, neighbours, ramp_end_gap, sort_entries

__all__ = [
    "HighwayDecision",
    "HighwayExpertConfig",
    "highway_actions",
    "highway_controls",
    "holds_target",
]

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
    meta_headway_s: float = 1.0
    """Meta actions: a target speed is kept while the gap to the car ahead stays above
    ``min_gap_m`` plus this many seconds of the car's speed, stepping down one target a
    decision from the next one on (:func:`holds_target`)."""
    meta_lookahead_s: float = 6.0
    """Meta actions: the least time the play-out of :func:`holds_target` covers (s)."""
    meta_cut_in_headway_s: float = 0.5
    """Meta actions: the time gap kept to a car two lanes over, ahead, that may move into
    the lane the car moves into at the same moment (s)."""
    meta_raise_headway_s: float = 1.5
    """Meta actions: the time gap the next target up must keep to be asked for (s)."""
    meta_raise_hold_s: float = 2.0
    """Meta actions: how long beyond the next decision the next target up must be
    holdable before stepping down (s); with ``meta_raise_headway_s`` the hysteresis."""


def _idm(c: HighwayExpertConfig, speed, desired, gap, closing) -> np.ndarray:
    s_star = c.min_gap_m + np.maximum(
        0.0,
        speed * c.time_headway_s
        + speed * closing / (2.0 * np.sqrt(c.accel_mps2 * c.comfort_brake_mps2)),
    )
    free = 1.0 - (speed / np.maximum(desired, 0.1)) ** 4
    return c.accel_mps2 * (free - (s_star / np.maximum(gap, 0.1)) ** 2)


class HighwayDecision(NamedTuple):
    """What :func:`highway_controls` decided, per world (B, ...)."""

    controls: np.ndarray
    """[steer, throttle] (B, 2)."""
    lane_step: np.ndarray
    """The lane change it asks for (B,): -1 left, 0 none, +1 right."""
    accel: np.ndarray
    """Its IDM acceleration (B,) (m/s^2)."""
    mandatory: np.ndarray
    """Whether staying in lane means a collision (B,) (meta actions only)."""
    gap_m: np.ndarray
    """Bumper gap (B, 4) to what is ahead in the lane it was driving to, the lane it is in,
    the lane it now drives to and, when it changes lane, the lane beyond that (whose
    leader may move into the new lane at the same moment); inf: nothing."""
    lead_speed_mps: np.ndarray
    """Speed (B, 4) of what is ahead there (0 where nothing is)."""


def highway_controls(
    world: HighwayState,
    target_lane: np.ndarray,
    config: HighwayExpertConfig,
) -> HighwayDecision:
    """The expert's decision for every controlled car of every world (B * A, see
    :class:`HighwayState`; one per world for A = 1). Other controlled cars are obstacles
    as NPCs are.

    ``target_lane`` (B * A,) is the lane each is driving to (updated in place).

    With meta actions the car cannot go below the lowest target speed, and it brakes only
    by one target a decision. Where even SLOWER at every decision from now on would not
    keep ``meta_headway_s`` to what is ahead (:func:`holds_target`; a queue slower than
    the lowest target), staying means a collision, and the lane change is mandatory: any
    lane that is better than the one it is in, with the gaps free, and whose new follower
    can brake for it (``emergency_braking_fraction``), will do.
    """
    cfg = world.config
    meta = cfg.action_type == "meta"
    beside_s = max(1.0 / cfg.policy_frequency_hz, 1.0) if meta else 0.0
    c = config
    batch = world.num_cars  # every controlled car of every world
    b = world.agent_world  # the world of each
    cars = world.veh_s.shape[1]
    me = b * cars + world.agent_slot  # its own flat veh entry
    s, d = world.own(world.veh_s), world.own(world.veh_d)
    speed = world.car.speed_mps
    desired = np.full(batch, min(c.cruise_mps, cfg.top_speed_mps))
    entries = sort_entries(world)
    all_s, all_v = world.veh_s.reshape(-1), world.veh_speed.reshape(-1)
    length = cfg.car_length_m

    def obstacle_in(lane: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Leader and follower in ``lane``, and the bumper gap (inf: none) and speed of what
        is ahead there: the leader, or on the ramp its end where that is nearer."""
        leader, follower = neighbours(entries, b, lane, s)
        # The car's own entry sits at exactly ``s``: skip it on either side.
        leader = np.where(leader == me, -1, leader)
        follower = np.where(follower == me, -1, follower)
        has = leader >= 0
        lead = np.maximum(leader, 0)
        gap = np.where(has, all_s[lead] - s - length, np.inf)
        if cfg.on_ramp:
            end = world.own(ramp_end_gap(world, np.ones(world.veh_s.shape, bool)))
            gap = np.where(lane == cfg.lanes_count, np.minimum(gap, end), gap)
            # In the ramp lane the lane's end is a standing obstacle when it is nearer.
            end_first = (lane == cfg.lanes_count) & (~has | (all_s[lead] - s - length > end))
            lead_v = np.where(end_first, 0.0, all_v[lead])
        else:
            lead_v = all_v[lead]
        return leader, follower, gap, np.where(has | np.isfinite(gap), lead_v, 0.0)

    def accel_in(
        lane: np.ndarray, watch_ramp: bool = False
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Own IDM acceleration in ``lane``, the leader and follower there, and
        :func:`obstacle_in`'s gap and speed ahead."""
        leader, follower, gap, lead_v = obstacle_in(lane)
        closing = np.where(np.isfinite(gap), speed - lead_v, 0.0)
        accel = _idm(c, speed, desired, gap, closing)
        if cfg.on_ramp and watch_ramp:
            # Beside the ramp, a car on it may cut in at any moment: before moving into
            # the lane next to the ramp, count the ramp's cars as in that lane too.
            ramp = np.full(batch, cfg.lanes_count)
            ramp_leader, _ = neighbours(entries, b, ramp, s)
            watch = (lane == cfg.lanes_count - 1) & (ramp_leader >= 0)
            watch &= s >= world.ramp_join_s[b] - RAMP_WATCH_M
            rl = np.maximum(ramp_leader, 0)
            ramp_gap = np.where(watch, all_s[rl] - s - length, np.inf)
            ramp_accel = _idm(c, speed, desired, ramp_gap, np.where(watch, speed - all_v[rl], 0.0))
            accel = np.minimum(accel, ramp_accel)
        return accel, leader, follower, gap, lead_v

    current = world.ego_lane_index
    reset = world.sim_steps[b] == 0
    target_lane[reset] = current[reset]
    centre = world.lane_centre_d(b, np.clip(target_lane, 0, world.max_lane), s)
    settled = np.abs(d - centre) < 0.8  # pure pursuit sits a little inside bends
    accel_now, _, _, gap_target, lead_v_target = accel_in(target_lane)
    accel_current, _, _, gap_current, lead_v_current = accel_in(current)
    accel = np.minimum(accel_now, accel_current)

    if meta:  # staying ends in a collision when braking as fast as meta actions can fails
        down = np.maximum(world.ego_speed_index - 1, 0)
        gap_ahead, lead_ahead = gap_target[:, None], lead_v_target[:, None]
        mandatory = ~holds_target(cfg, c, speed, down, 0.0, c.meta_headway_s, gap_ahead, lead_ahead)
    else:  # a car that can brake to a stop never must change
        mandatory = np.zeros(batch, dtype=bool)
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
        mine, leader, follower, _, _ = accel_in(lane, watch_ramp=True)
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
        # With meta actions the car holds its target speed until the next decision, and
        # others see it in the new lane only as it crosses the line (about a second), so
        # "beside" spans what the speed difference closes in the longer of the two.
        beyond = lane + step
        beyond_exists = (beyond >= 0) & (beyond <= world.max_lane)
        near_leader, near_follower = neighbours(entries, b, np.clip(beyond, 0, world.max_lane), s)
        beside = np.zeros(batch, dtype=bool)
        for other, sign in ((near_leader, 1.0), (near_follower, -1.0)):
            there = (other >= 0) & (other != me)
            apart = np.abs(all_s[np.maximum(other, 0)] - s) - length
            closing_beyond = np.maximum(sign * (speed - all_v[np.maximum(other, 0)]), 0.0)
            beside |= there & (apart < c.lane_margin_m + closing_beyond * beside_s)
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
    _, _, gap_new, lead_v_new = obstacle_in(target_lane)
    beyond = target_lane + lane_step
    beyond_leader, _ = neighbours(entries, b, np.clip(beyond, 0, world.max_lane), s)
    has_beyond = (lane_step != 0) & (beyond >= 0) & (beyond <= world.max_lane)
    has_beyond &= (beyond_leader >= 0) & (beyond_leader != me)
    beyond_lead = np.maximum(beyond_leader, 0)
    gap_beyond = np.where(has_beyond, all_s[beyond_lead] - s - length, np.inf)
    lead_v_beyond = np.where(has_beyond, all_v[beyond_lead], 0.0)
    return HighwayDecision(
        np.stack([steer, throttle], axis=-1),
        lane_step,
        accel,
        mandatory,
        np.stack([gap_target, gap_current, gap_new, gap_beyond], axis=-1),
        np.stack([lead_v_target, lead_v_current, lead_v_new, lead_v_beyond], axis=-1),
    )


def highway_actions(
    world: HighwayState, target_lane: np.ndarray, config: HighwayExpertConfig
) -> np.ndarray:
    """The expert's actions in the world's action type: (B, 2) float32 or (B,) int64."""
    cfg = world.config
    if cfg.action_type == "meta":  # the world keeps the target lane of meta actions
        target_lane[:] = world.ego_target_lane
    decision = highway_controls(world, target_lane, config)
    controls = decision.controls
    if cfg.action_type == "continuous":
        return controls.astype(np.float32)
    if cfg.action_type == "discrete":
        distance = np.square(controls[:, None, :] - DISCRETE_ACTIONS[None]).sum(-1)
        return np.argmin(distance, axis=1).astype(np.int64)
    return _meta_actions(world, config, decision)


def _meta_actions(
    world: HighwayState, config: HighwayExpertConfig, decision: HighwayDecision
) -> np.ndarray:
    """Meta actions (B,): change lane when MOBIL says so, else step the target speed.

    The speed wanted is the target speed nearest the desired one; FASTER when the next
    target up is safe to hold for ``meta_raise_hold_s`` with ``meta_raise_headway_s``,
    IDLE while the current one is safe with ``meta_headway_s``, else SLOWER. The gap
    between the two tests is the hysteresis that keeps the car from stepping up and down
    behind a car whose speed lies between two targets. A lane change waits for SLOWER
    unless it is mandatory, and for a new lane where the current target is not safe.
    """
    cfg, c = world.config, config
    speeds = np.asarray(cfg.target_speeds_mps)
    top = len(speeds) - 1
    desired = min(c.cruise_mps, cfg.top_speed_mps)
    wanted = int(np.argmin(np.abs(speeds - desired)))  # ties: the lower target
    current = world.ego_speed_index
    speed = world.car.speed_mps
    gap, lead_v = decision.gap_m, decision.lead_speed_mps
    here_gap, here_v = gap[:, :2], lead_v[:, :2]  # the lane driven to and the one it is in
    raise_ok = (current < wanted) & holds_target(
        cfg,
        c,
        speed,
        np.minimum(current + 1, top),
        c.meta_raise_hold_s,
        c.meta_raise_headway_s,
        here_gap,
        here_v,
    )
    stay_ok = holds_target(cfg, c, speed, current, 0.0, c.meta_headway_s, here_gap, here_v)
    speed_action = np.where(
        raise_ok,
        ego.FASTER,
        np.where((current > wanted) | ~stay_ok, ego.SLOWER, ego.IDLE),
    )
    speed_action = np.where((speed_action == ego.SLOWER) & (current == 0), ego.IDLE, speed_action)
    # A lane change holds the target speed for a decision: it must be safe in the new lane.
    new_ok = holds_target(
        cfg, c, speed, current, 0.0, c.meta_headway_s, gap[:, 1:3], lead_v[:, 1:3]
    )
    # The leader two lanes over may move into the new lane as the car does: it must be
    # able to brake behind it, keeping ``meta_cut_in_headway_s``.
    new_ok &= holds_target(
        cfg, c, speed, current, 0.0, c.meta_cut_in_headway_s, gap[:, 3:], lead_v[:, 3:]
    )
    change = (decision.lane_step != 0) & (
        decision.mandatory | ((speed_action != ego.SLOWER) & new_ok)
    )
    lane_action = np.where(decision.lane_step < 0, ego.LANE_LEFT, ego.LANE_RIGHT)
    return np.where(change, lane_action, speed_action).astype(np.int64)


def holds_target(
    cfg: HighwayConfig,
    config: HighwayExpertConfig,
    speed_mps: np.ndarray,
    index: np.ndarray,
    hold_s: float,
    headway_s: float,
    gap_m: np.ndarray,
    lead_speed_mps: np.ndarray,
) -> np.ndarray:
    """Whether asking for target speed ``index`` (B,) now is safe (B,), with meta actions.

    Plays the world's meta-action speed controller (``cfg``: target speeds, policy and
    simulation rates, the car's limits) from ``speed_mps`` (B,) on the plan "ask for
    ``index`` for this decision and ``hold_s`` more, then SLOWER at every decision down
    to the lowest target" (the hardest braking meta actions allow: one step a decision),
    for at least ``config.meta_lookahead_s``, against leaders that keep their speed,
    ``lead_speed_mps`` (B, L) with bumper gaps ``gap_m`` (B, L) in the L lanes that
    count (inf: none). Safe when every gap stays above ``config.min_gap_m`` plus
    ``headway_s`` of the car's own speed throughout.
    """
    speeds = np.asarray(cfg.target_speeds_mps)
    dt, substeps = cfg.dt_s, cfg.substeps
    frequency = cfg.policy_frequency_hz
    hold = round(hold_s * frequency)
    v = speed_mps.astype(np.float64)
    gap = gap_m.astype(np.float64)
    safe = np.ones(len(v), dtype=bool)
    # Down to the lowest target and one decision there, but never less than the look-ahead.
    decisions = max(hold + len(speeds) + 1, math.ceil(config.meta_lookahead_s * frequency))
    for step in range(decisions):
        target = speeds[np.maximum(index - max(step - hold, 0), 0)]
        for _ in range(substeps):
            accel = ego.SPEED_GAIN_PER_S * (target - v)
            accel = np.minimum(np.maximum(accel, -cfg.max_brake_mps2), cfg.max_accel_mps2)
            v_next = np.minimum(np.maximum(v + accel * dt, 0.0), cfg.top_speed_mps)
            gap = gap + (lead_speed_mps - 0.5 * (v + v_next)[:, None]) * dt
            v = v_next
            safe &= (gap >= config.min_gap_m + headway_s * v[:, None]).all(axis=1)
    return safe
