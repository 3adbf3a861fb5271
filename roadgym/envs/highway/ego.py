"""The ego car's side of the highway step: where it is on the road, the meta-action
controller, collisions and the reward, batched over worlds.
"""

from __future__ import annotations

import numpy as np

from roadgym.envs.core.lane_graph import project_onto_window, wrap_angle
from roadgym.envs.highway.state import NO_LANE, HighwayState

# META_ACTION_NAMES order (roadgym.envs.core.spaces), highway-env's.
LANE_LEFT, IDLE, LANE_RIGHT, FASTER, SLOWER = range(5)
SPEED_GAIN_PER_S = 1.0 / 0.6  # highway-env's speed controller gain (KP_A)
LOOKAHEAD_S = 1.0  # pure pursuit looks this many seconds ahead ...
LOOKAHEAD_MIN_M = 12.0  # ... but never less than this


def locate_ego(world: HighwayState, worlds: np.ndarray | None = None) -> None:
    """Project the ego cars of ``worlds`` (all when None) onto their reference lines and
    write their road entries (index N of the ``veh_*`` arrays)."""
    cfg, car, n = world.config, world.car, world.num_npcs
    w = slice(None) if worlds is None else worlds  # a slice indexes without copies
    b = np.arange(world.batch_size)[w]
    centre = np.stack([car.x_m[w], car.y_m[w]], axis=-1)[:, None, :]  # (W, 1, 2)
    segments = np.clip(
        world.ego_segment[w, None] + world.window[None, :], 0, world.num_segments - 1
    )
    s, lateral, segment = project_onto_window(world.ref_xy[w], world.ref_cum_s[w], centre, segments)
    s, d, segment = s[:, 0], lateral[:, 0], segment[:, 0]
    world.ego_segment[w] = segment
    heading_error = wrap_angle(car.heading_rad[w] - world.ref_heading[b, segment])
    speed = car.speed_mps[w]
    world.veh_s[w, n] = s
    world.veh_d[w, n] = d
    world.veh_heading_error[w, n] = heading_error
    world.veh_speed[w, n] = speed * np.cos(heading_error)
    world.veh_desired_mps[w, n] = np.maximum(speed, 1.0)  # others assume it holds speed
    # The lanes its corners touch: one, or two while it crosses a line.
    reach = 0.5 * cfg.car_length_m * np.abs(np.sin(heading_error)) + 0.5 * cfg.car_width_m * (
        np.abs(np.cos(heading_error))
    )
    left = world.lane_of(b, s, d + reach)
    right = world.lane_of(b, s, d - reach)
    world.veh_lane[w, n] = left
    world.veh_from_lane[w, n] = np.where(right != left, right, NO_LANE)
    world.ego_lane_index[w] = world.lane_of(b, s, d)


def ego_corners_on_road(world: HighwayState, worlds: np.ndarray | None = None) -> np.ndarray:
    """Whether all four corners of the ego cars of ``worlds`` (all when None) are on the road."""
    cfg, n = world.config, world.num_npcs
    w = slice(None) if worlds is None else worlds
    s, d, e = world.veh_s[w, n], world.veh_d[w, n], world.veh_heading_error[w, n]
    forward = 0.5 * cfg.car_length_m * np.array([1.0, 1.0, -1.0, -1.0])
    left = 0.5 * cfg.car_width_m * np.array([1.0, -1.0, -1.0, 1.0])
    cs = s[:, None] + forward * np.cos(e)[:, None] - left * np.sin(e)[:, None]
    cd = d[:, None] + forward * np.sin(e)[:, None] + left * np.cos(e)[:, None]
    b = np.arange(world.batch_size)[w, None]
    return world.drivable(b, cs, cd).all(axis=1)


def ego_collisions(world: HighwayState) -> np.ndarray:
    """Whether each ego car (B,) overlaps an NPC car: oriented boxes in road coordinates.

    The road bends by well under a degree over a car length, so its (s, d) frame is
    Cartesian at that scale and the separating axis test runs there.
    """
    cfg, n = world.config, world.num_npcs
    ds = world.veh_s[:, :n] - world.veh_s[:, n : n + 1]
    dd = world.veh_d[:, :n] - world.veh_d[:, n : n + 1]
    # Boxes whose circumscribed circles do not meet cannot overlap.
    near = ds * ds + dd * dd < cfg.car_length_m**2 + cfg.car_width_m**2
    hit = np.zeros(world.batch_size, dtype=bool)
    bb, vv = np.nonzero(near)
    if len(bb) == 0:
        return hit
    half = np.array([0.5 * cfg.car_length_m, 0.5 * cfg.car_width_m])
    e0 = world.veh_heading_error[bb, n]
    e1 = world.veh_heading_error[bb, vv]
    f0 = np.stack([np.cos(e0), np.sin(e0)], -1)
    l0 = np.stack([-f0[:, 1], f0[:, 0]], -1)
    f1 = np.stack([np.cos(e1), np.sin(e1)], -1)
    l1 = np.stack([-f1[:, 1], f1[:, 0]], -1)
    rel = np.stack([ds[bb, vv], dd[bb, vv]], -1)
    separated = np.zeros(len(bb), dtype=bool)
    for axis in (f0, l0, f1, l1):  # separating axis test
        r0 = half[0] * np.abs((f0 * axis).sum(-1)) + half[1] * np.abs((l0 * axis).sum(-1))
        r1 = half[0] * np.abs((f1 * axis).sum(-1)) + half[1] * np.abs((l1 * axis).sum(-1))
        separated |= np.abs((rel * axis).sum(-1)) > r0 + r1
    np.logical_or.at(hit, bb, ~separated)
    return hit


def apply_meta_actions(world: HighwayState, actions: np.ndarray) -> np.ndarray:
    """Update target lanes and speeds from meta actions (B,); which changed lane (B,).

    As highway-env: a lane change moves the target lane by one when that lane exists
    beside the car (the ramp only where it runs beside the road); FASTER / SLOWER step
    through ``target_speeds_mps``.
    """
    cfg, n = world.config, world.num_npcs
    b = np.arange(world.batch_size)
    s, d = world.veh_s[:, n], world.veh_d[:, n]
    step = np.where(actions == LANE_LEFT, -1, np.where(actions == LANE_RIGHT, 1, 0))
    target = world.ego_target_lane + step
    exists = (target >= 0) & (target <= cfg.lanes_count - 1)
    if cfg.on_ramp:
        exists |= (target == cfg.lanes_count) & world.ramp_beside(b, s)
        # Leaving the ramp for the road needs the road beside it too.
        exists &= (world.ego_target_lane < cfg.lanes_count) | world.ramp_beside(b, s)
    centre = world.lane_centre_d(b, np.clip(target, 0, world.max_lane), s)
    reachable = exists & (np.abs(centre - d) <= 2.0 * cfg.lane_width_m) & (step != 0)
    world.ego_target_lane = np.where(reachable, target, world.ego_target_lane)
    top = len(cfg.target_speeds_mps) - 1
    faster = (actions == FASTER).astype(np.int64) - (actions == SLOWER)
    world.ego_speed_index = np.clip(world.ego_speed_index + faster, 0, top)
    return reachable


def meta_controls(world: HighwayState) -> np.ndarray:
    """Steer and throttle (B, 2) that take each ego car to its target lane and speed."""
    cfg, n = world.config, world.num_npcs
    car = world.car
    b = np.arange(world.batch_size)
    look = np.maximum(LOOKAHEAD_MIN_M, LOOKAHEAD_S * car.speed_mps)
    s_ahead = world.veh_s[:, n] + look
    d_ahead = world.lane_centre_d(b, world.ego_target_lane, s_ahead)
    target, _ = world.road_to_world(b, s_ahead, d_ahead)
    steer = pure_pursuit(world, target)
    speed = np.asarray(cfg.target_speeds_mps)[world.ego_speed_index]
    accel = SPEED_GAIN_PER_S * (speed - car.speed_mps)
    return np.stack([steer, throttle_for(world, accel)], axis=-1)


def pure_pursuit(world: HighwayState, target: np.ndarray) -> np.ndarray:
    """Steer commands (B,) in [-1, 1] (+ right) towards world points ``target`` (B, 2)."""
    cfg, car = world.config, world.car
    back = 0.5 * cfg.wheelbase_m  # pure pursuit's geometry holds at the rear axle
    rear_x = car.x_m - back * np.cos(car.heading_rad)
    rear_y = car.y_m - back * np.sin(car.heading_rad)
    rel_x, rel_y = target[:, 0] - rear_x, target[:, 1] - rear_y
    alpha = wrap_angle(np.arctan2(rel_y, rel_x) - car.heading_rad)
    reach = np.maximum(np.hypot(rel_x, rel_y), 1.0)
    wheel = np.arctan(2.0 * cfg.wheelbase_m * np.sin(alpha) / reach)
    return np.clip(-wheel / cfg.max_steer_rad, -1.0, 1.0)


def throttle_for(world: HighwayState, accel: np.ndarray) -> np.ndarray:
    """Throttle commands (B,) in [-1, 1] for accelerations ``accel`` (m/s^2)."""
    cfg = world.config
    return np.clip(
        np.where(accel >= 0, accel / cfg.max_accel_mps2, accel / cfg.max_brake_mps2), -1.0, 1.0
    )


def reward(world: HighwayState, lane_changed: np.ndarray) -> np.ndarray:
    """highway-env's reward (B,): collision, right lane, high speed, lane change; optionally
    normalised to [0, 1]; zero off the road."""
    cfg, n = world.config, world.num_npcs
    lane = world.ego_target_lane if cfg.action_type == "meta" else world.ego_lane_index
    right_lane = np.minimum(lane, cfg.lanes_count - 1) / max(cfg.lanes_count - 1, 1)
    low, high = cfg.reward_speed_range_mps
    forward = world.car.speed_mps * np.cos(world.veh_heading_error[:, n])
    high_speed = np.clip((forward - low) / (high - low), 0.0, 1.0)
    total = (
        cfg.collision_reward * world.crashed
        + cfg.right_lane_reward * right_lane
        + cfg.high_speed_reward * high_speed
        + cfg.lane_change_reward * lane_changed
    )
    if cfg.normalize_reward:
        best = cfg.high_speed_reward + cfg.right_lane_reward
        total = (total - cfg.collision_reward) / (best - cfg.collision_reward)
    return np.where(world.off_road, 0.0, total)
