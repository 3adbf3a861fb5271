"""The controlled cars' side of the highway step: where they are on the road, the
meta-action controller, collisions and the reward, batched over all controlled cars of
all worlds (B * A, see :class:`HighwayState`).
"""

from __future__ import annotations

import numpy as np

from roadgym.envs.core.lane_graph import nearest_candidate, wrap_angle
from roadgym.envs.highway.generator import SAMPLE_SPACING_M
from roadgym.envs.highway.state import NO_LANE, HighwayState

# META_ACTION_NAMES order (roadgym.envs.core.spaces), highway-env's.
LANE_LEFT, IDLE, LANE_RIGHT, FASTER, SLOWER = range(5)
SPEED_GAIN_PER_S = 1.0 / 0.6  # highway-env's speed controller gain (KP_A)
LOOKAHEAD_S = 1.0  # pure pursuit looks this many seconds ahead ...
LOOKAHEAD_MIN_M = 12.0  # ... but never less than this


def locate_ego(world: HighwayState, cars: np.ndarray | None = None) -> None:
    """Project the controlled cars ``cars`` (all when None) onto their reference lines
    and write their road entries (indices N.. of the ``veh_*`` arrays)."""
    cfg, car = world.config, world.car
    w = slice(None) if cars is None else cars  # a slice indexes without copies
    k = np.arange(world.num_cars)[w]
    b = world.agent_world[w]
    s, d, segment = _project(world, k, b, car.x_m[w], car.y_m[w])
    world.ego_segment[w] = segment
    heading_error = wrap_angle(car.heading_rad[w] - world.ref_heading[b, segment])
    speed = car.speed_mps[w]
    world.set_own(world.veh_s, s, cars)
    world.set_own(world.veh_d, d, cars)
    world.set_own(world.veh_heading_error, heading_error, cars)
    world.set_own(world.veh_speed, speed * np.cos(heading_error), cars)
    # Others assume it holds its speed.
    world.set_own(world.veh_desired_mps, np.maximum(speed, 1.0), cars)
    # The lanes its corners touch: one, or two while it crosses a line.
    reach = 0.5 * cfg.car_length_m * np.abs(np.sin(heading_error)) + 0.5 * cfg.car_width_m * (
        np.abs(np.cos(heading_error))
    )
    offsets = np.empty((3, len(d)))  # (3, W): left edge, right edge, centre; one lane_of
    offsets[0] = d + reach
    offsets[1] = d - reach
    offsets[2] = d
    left, right, centre = world.lane_of(b, s, offsets)
    if world.num_agents > 1 and not world.present.all():
        # A removed car sits in the lane group nobody sees: no leader, no follower.
        gone = ~world.present[w]
        left = np.where(gone, world.hidden_lane, left)
        right = np.where(gone, world.hidden_lane, right)
    world.set_own(world.veh_lane, left, cars)
    world.set_own(world.veh_from_lane, np.where(right != left, right, NO_LANE), cars)
    world.ego_lane_index[w] = centre


def _project(world: HighwayState, k: np.ndarray, b: np.ndarray, x_m: np.ndarray, y_m):
    """Arc length, lateral offset and segment (C,) of points ``(x_m, y_m)`` of
    controlled cars ``k`` on the reference lines of their worlds ``b``, searched in the
    window around their ``ego_segment``.

    :func:`roadgym.envs.core.lane_graph.project_onto_window`'s arithmetic, on the
    segment starts and directions that :meth:`HighwayState.store_segments` keeps.
    """
    last = world.num_segments - 1
    segments = np.minimum(np.maximum(world.ego_segment[k, None] + world.window, 0), last)
    flat = b[:, None] * world.num_segments + segments  # (W, K) into the (B, M) arrays
    start_x = world.seg_start_x.reshape(-1)[flat]
    start_y = world.seg_start_y.reshape(-1)[flat]
    dir_x = world.seg_dir_x.reshape(-1)[flat]
    dir_y = world.seg_dir_y.reshape(-1)[flat]
    rel_x = x_m[:, None] - start_x  # (W, K)
    rel_y = y_m[:, None] - start_y
    t = (rel_x * dir_x + rel_y * dir_y) / world.seg_length_sq.reshape(-1)[flat]
    t = np.minimum(np.maximum(t, 0.0), 1.0)
    off_x = rel_x - t * dir_x
    off_y = rel_y - t * dir_y
    best = nearest_candidate(off_x * off_x + off_y * off_y)  # (W,): ties by order
    pick = np.arange(len(b)) * segments.shape[1] + best  # flat into (W, K)
    segment = segments.reshape(-1)[pick]
    # The reference line's vertices are SAMPLE_SPACING_M apart exactly.
    s = segment * SAMPLE_SPACING_M + t.reshape(-1)[pick] * SAMPLE_SPACING_M
    d_x, d_y = dir_x.reshape(-1)[pick], dir_y.reshape(-1)[pick]
    r_x, r_y = rel_x.reshape(-1)[pick], rel_y.reshape(-1)[pick]
    lateral = (d_x * r_y - d_y * r_x) / np.sqrt(np.maximum(d_x * d_x + d_y * d_y, 1e-12))
    return s, lateral, segment


def ego_corners_on_road(world: HighwayState, cars: np.ndarray | None = None) -> np.ndarray:
    """Whether all four corners of the controlled cars ``cars`` (all when None) are on
    the road."""
    cfg = world.config
    w = slice(None) if cars is None else cars
    s = world.own(world.veh_s, cars)
    d = world.own(world.veh_d, cars)
    e = world.own(world.veh_heading_error, cars)
    forward = 0.5 * cfg.car_length_m * np.array([1.0, 1.0, -1.0, -1.0])
    left = 0.5 * cfg.car_width_m * np.array([1.0, -1.0, -1.0, 1.0])
    cs = s[:, None] + forward * np.cos(e)[:, None] - left * np.sin(e)[:, None]
    cd = d[:, None] + forward * np.sin(e)[:, None] + left * np.cos(e)[:, None]
    b = world.agent_world[w, None]
    return world.drivable(b, cs, cd).all(axis=1)


def ego_collisions(world: HighwayState, skip: np.ndarray | None = None) -> np.ndarray:
    """Whether each controlled car (B * A,) overlaps an NPC car: oriented boxes in road
    coordinates.

    The road bends by well under a degree over a car length, so its (s, d) frame is
    Cartesian at that scale and the separating axis test runs there. Cars where
    ``skip`` (B * A,) is True are not tested and read False (the step skips those that
    have crashed already: their cars stay overlapped until the reset).
    """
    cfg, n = world.config, world.num_npcs
    own_s, own_d = world.own(world.veh_s), world.own(world.veh_d)
    if world.num_agents == 1:
        npc_s, npc_d = world.veh_s[:, :n], world.veh_d[:, :n]
    else:
        npc_s, npc_d = world.veh_s[world.agent_world, :n], world.veh_d[world.agent_world, :n]
    ds = npc_s - own_s[:, None]
    dd = npc_d - own_d[:, None]
    # Boxes whose circumscribed circles do not meet cannot overlap.
    near = ds * ds + dd * dd < cfg.car_length_m**2 + cfg.car_width_m**2
    if skip is not None:
        near &= ~skip[:, None]
    hit = np.zeros(world.num_cars, dtype=bool)
    bb, vv = np.nonzero(near)
    if len(bb) == 0:
        return hit
    e0 = world.own(world.veh_heading_error)[bb]
    e1 = world.veh_heading_error[world.agent_world[bb], vv]
    overlap = _boxes_overlap(cfg, (ds[bb, vv], dd[bb, vv]), e0, e1)
    np.logical_or.at(hit, bb, overlap)
    return hit


def agent_collisions(world: HighwayState, ended: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Controlled cars (B * A,) that overlap another controlled car, and the number of
    such pairs (B,) per world.

    Removed cars take no part; a pair counts while one of the two has not ``ended``
    (B * A,) yet, so two parked cars do not collide again every step.
    """
    cfg, a = world.config, world.num_agents
    hit = np.zeros(world.num_cars, dtype=bool)
    pairs = np.zeros(world.batch_size, dtype=np.int64)
    if a == 1:
        return hit, pairs
    shape = (world.batch_size, a)
    s = world.own(world.veh_s).reshape(shape)
    d = world.own(world.veh_d).reshape(shape)
    e = world.own(world.veh_heading_error).reshape(shape)
    present = world.present.reshape(shape)
    live = present & ~ended.reshape(shape)
    ds = s[:, None, :] - s[:, :, None]  # (B, A, A): j relative to i
    dd = d[:, None, :] - d[:, :, None]
    upper = np.triu(np.ones((a, a), dtype=bool), k=1)[None]
    near = upper & (ds * ds + dd * dd < cfg.car_length_m**2 + cfg.car_width_m**2)
    near &= present[:, :, None] & present[:, None, :]
    near &= live[:, :, None] | live[:, None, :]
    bb, ii, jj = np.nonzero(near)
    if len(bb) == 0:
        return hit, pairs
    overlap = _boxes_overlap(cfg, (ds[bb, ii, jj], dd[bb, ii, jj]), e[bb, ii], e[bb, jj])
    bb, ii, jj = bb[overlap], ii[overlap], jj[overlap]
    hit[bb * a + ii] = True
    hit[bb * a + jj] = True
    np.add.at(pairs, bb, 1)
    return hit, pairs


def _boxes_overlap(cfg, rel: tuple[np.ndarray, np.ndarray], e0: np.ndarray, e1: np.ndarray):
    """Separating axis test of car boxes (K,) at heading errors ``e0`` and ``e1``, the
    second at ``rel`` = (ds, dd) from the first."""
    half_length, half_width = 0.5 * cfg.car_length_m, 0.5 * cfg.car_width_m
    # Forward (f) and left (l) unit vectors of both boxes, as (x, y) component pairs.
    f0 = (np.cos(e0), np.sin(e0))
    l0 = (-f0[1], f0[0])
    f1 = (np.cos(e1), np.sin(e1))
    l1 = (-f1[1], f1[0])

    def dot(u, v):
        return u[0] * v[0] + u[1] * v[1]

    separated = np.zeros(len(e0), dtype=bool)
    for axis in (f0, l0, f1, l1):  # separating axis test
        r0 = half_length * np.abs(dot(f0, axis)) + half_width * np.abs(dot(l0, axis))
        r1 = half_length * np.abs(dot(f1, axis)) + half_width * np.abs(dot(l1, axis))
        separated |= np.abs(dot(rel, axis)) > r0 + r1
    return ~separated


def apply_meta_actions(world: HighwayState, actions: np.ndarray) -> np.ndarray:
    """Update target lanes and speeds from meta actions (B * A,); which changed lane.

    As highway-env: a lane change moves the target lane by one when that lane exists
    beside the car (the ramp only where it runs beside the road); FASTER / SLOWER step
    through ``target_speeds_mps``.
    """
    cfg = world.config
    b = world.agent_world
    s, d = world.own(world.veh_s), world.own(world.veh_d)
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
    """Steer and throttle (B * A, 2) that take each controlled car to its target lane
    and speed."""
    cfg = world.config
    car = world.car
    b = world.agent_world
    look = np.maximum(LOOKAHEAD_MIN_M, LOOKAHEAD_S * car.speed_mps)
    s_ahead = world.own(world.veh_s) + look
    d_ahead = world.lane_centre_d(b, world.ego_target_lane, s_ahead)
    target, _ = world.road_to_world(b, s_ahead, d_ahead)
    steer = pure_pursuit(world, target)
    speed = np.asarray(cfg.target_speeds_mps)[world.ego_speed_index]
    accel = SPEED_GAIN_PER_S * (speed - car.speed_mps)
    controls = np.empty((world.num_cars, 2))
    controls[:, 0] = steer
    controls[:, 1] = throttle_for(world, accel)
    return controls


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
    return np.minimum(np.maximum(-wheel / cfg.max_steer_rad, -1.0), 1.0)


def throttle_for(world: HighwayState, accel: np.ndarray) -> np.ndarray:
    """Throttle commands (B,) in [-1, 1] for accelerations ``accel`` (m/s^2)."""
    cfg = world.config
    throttle = np.where(accel >= 0, accel / cfg.max_accel_mps2, accel / cfg.max_brake_mps2)
    return np.minimum(np.maximum(throttle, -1.0), 1.0)


def reward(world: HighwayState, lane_changed: np.ndarray) -> np.ndarray:
    """highway-env's reward (B * A,): collision, right lane, high speed, lane change;
    optionally normalised to [0, 1]; zero off the road."""
    cfg = world.config
    lane = world.ego_target_lane if cfg.action_type == "meta" else world.ego_lane_index
    right_lane = np.minimum(lane, cfg.lanes_count - 1) / max(cfg.lanes_count - 1, 1)
    low, high = cfg.reward_speed_range_mps
    forward = world.car.speed_mps * np.cos(world.own(world.veh_heading_error))
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
