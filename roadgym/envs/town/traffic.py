"""Traffic lights and NPC vehicles, stepped for every world and every car at once.

NPC cars ride their lane centrelines (position = the lane point at their arc length) and
control only their speed, with the Intelligent Driver Model against the nearest of: the
car ahead on their lanes (merges included), a pedestrian or the ego car in the corridor
ahead, and a stop line they must stop at (red, a yellow they can stop for, a stop sign
until their turn, a junction whose exit is jammed, or a permissive left turn that
must yield to oncoming traffic). Each car knows three lanes ahead and draws the next at
random from the successors when it enters a new lane.

Light plan: a cycle is the east-west phase, the north-south phase (each green, yellow,
all-red), then the walk phase. Opposing approaches share a green, so a left-turner
waits at its stop line for a gap in oncoming straight and right-turning traffic
(:func:`left_turn_yield`, which the expert reads too).
"""

from __future__ import annotations

import numpy as np

from roadgym.envs.core import kernels
from roadgym.envs.core.counter_random import hash_uniform_int
from roadgym.envs.town.generator import CONTROL_LIGHT, CONTROL_STOP
from roadgym.envs.town.junctions import (  # noqa: F401  (re-exported: the step's names)
    CLEARING_LINE_M,
    LIGHT_GREEN,
    LIGHT_NONE,
    LIGHT_RED,
    LIGHT_YELLOW,
    clearing_left_turn,
    early_yellow,
    left_turn_yield,
    light_states,
    walk_signal,
)
from roadgym.envs.town.state import BIG_STEP, FAR_AWAY_M, TownState, distance_sq, gather_rows

CORRIDOR_AHEAD_M = np.arange(0.0, 24.0, 3.0)  # (K,) path samples ahead of the front bumper
CORRIDOR_RADIUS_M = 2.0  # a pedestrian this close to the path blocks it
EGO_RADIUS_M = 2.3
STOP_LINE_REACHED_M = 2.0  # front bumper this close to a stop line counts as at the line
JAMMED_SPEED_MPS = 3.0


def lane_pose(world: TownState, b: np.ndarray, lane: np.ndarray, s: np.ndarray):
    """Points (..., 2) and headings (...) at arc lengths ``s`` on lanes (broadcast)."""
    # Flat indices into the lane tables: one gather each, cheaper than 2- and 3-index
    # fancy indexing.
    lanes, vertices = world.lane_xy.shape[1:3]
    flat_lane = b * lanes + lane  # (...)
    spacing = world.lane_spacing_m.reshape(-1)[flat_lane]
    u = s / spacing
    last = world.lane_segments.reshape(-1)[flat_lane] - 1
    index = np.minimum(np.maximum(np.floor(u).astype(np.int64), 0), last)
    t = np.minimum(np.maximum(u - index, 0.0), 1.0)[..., None]
    flat_vertex = flat_lane * vertices + index
    # Each (x, y) pair viewed as one complex128: a vertex is one 16-byte gather.
    xy = world.lane_xy.reshape(-1).view(np.complex128)
    p0 = np.take(xy, flat_vertex).view(np.float64).reshape(*flat_vertex.shape, 2)
    p1 = np.take(xy, flat_vertex + 1).view(np.float64).reshape(*flat_vertex.shape, 2)
    return p0 + t * (p1 - p0), np.take(world.lane_heading, flat_vertex)


def idm_accel(world: TownState, v, v0, gap, dv):
    """IDM acceleration for speeds ``v``, desired speeds ``v0``, gaps and closing speeds."""
    cfg = world.config
    a, b = cfg.idm_accel_mps2, cfg.idm_comfort_brake_mps2
    s_star = cfg.idm_min_gap_m + np.maximum(
        0.0, v * cfg.idm_time_headway_s + v * dv / (2.0 * np.sqrt(a * b))
    )
    free = 1.0 - (v / np.maximum(v0, 0.1)) ** 4
    return a * (free - (s_star / np.maximum(gap, 0.1)) ** 2)


def _corridor_gap(world: TownState, lane, s, offset, half: float) -> np.ndarray:
    """Distance (B, N) from each car's front to the first pedestrian or ego car on its path.

    Only (car, actor) pairs within reach of each other are checked against the path
    samples, so the cost follows the few pairs that matter, not B x N x P x K. Each car's
    path is sampled once, however many actors are near it; a pedestrian is one point, a
    controlled car three along its axis.
    """
    batch, n = s.shape
    peds, agents = world.ped_xy.shape[1], world.num_agents
    ego = world.ego_axis_points()  # (C, 3, 2)
    if agents > 1:
        ego = np.where(world.present[:, None, None], ego, FAR_AWAY_M)  # removed: gone
    ego = ego.reshape(batch, agents, 3, 2)
    reach = half + CORRIDOR_AHEAD_M[-1] + EGO_RADIUS_M + 2.0
    if kernels.use_numba():
        from roadgym.envs.town import kernels as town_kernels

        return town_kernels.corridor_gap(
            world.lane_xy,
            world.lane_heading,
            world.lane_spacing_m,
            world.lane_segments,
            world.veh_xy,
            lane,
            s,
            offset,
            world.ped_xy,
            ego,
            half,
            CORRIDOR_AHEAD_M,
            reach**2,
            CORRIDOR_RADIUS_M**2,
            EGO_RADIUS_M**2,
        )
    # Every actor's centre: pedestrians, then the controlled cars' middle points.
    centres = np.concatenate([world.ped_xy, ego[:, :, 1, :]], axis=1)  # (B, P + A, 2)
    near = distance_sq(world.veh_xy[:, :, None, :], centres[:, None, :, :]) < reach**2
    gap = np.full(batch * n, np.inf)
    bb, nn, aa = np.nonzero(near)  # (M,) pairs, car-major
    if len(bb) == 0:
        return gap.reshape(batch, n)
    # The path samples of each car with an actor near it: (U, K) rows, U <= M.
    car_near = near.any(axis=2).reshape(-1)  # (B * N,)
    cars = np.flatnonzero(car_near)  # (U,)
    row_of_car = np.cumsum(car_near) - 1  # flat car -> its row in the (U, ...) arrays
    cars_b = cars // n
    sample_s = s.reshape(-1)[cars, None] + half + CORRIDOR_AHEAD_M  # (U, K)
    bounds = offset.reshape(-1, 3)[cars]  # (U, 3)
    which = (sample_s >= bounds[:, 1:2]).astype(np.int64) + (sample_s >= bounds[:, 2:3])
    path_lane = np.take_along_axis(lane.reshape(-1, 3)[cars], which, -1)  # (U, K)
    path_s = sample_s - np.take_along_axis(bounds, which, -1)
    points, _ = lane_pose(world, cars_b[:, None], path_lane, path_s)  # (U, K, 2)
    pair_car = bb * n + nn  # (M,)
    rows = row_of_car[pair_car]
    px, py = points[rows, :, 0], points[rows, :, 1]  # (M, K)
    centre = centres[bb, aa]  # (M, 2)
    dx, dy = px - centre[:, 0:1], py - centre[:, 1:2]
    dist_sq = dx * dx + dy * dy  # (M, K)
    is_ego = aa >= peds
    if is_ego.any():  # a controlled car's body: the nearest of its three points
        e = np.flatnonzero(is_ego)
        axis = ego[bb[e], aa[e] - peds]  # (E, 3, 2)
        for point in (0, 2):
            dx = px[e] - axis[:, point, 0:1]
            dy = py[e] - axis[:, point, 1:2]
            dist_sq[e] = np.minimum(dist_sq[e], dx * dx + dy * dy)
    radius_sq = np.where(is_ego, EGO_RADIUS_M**2, CORRIDOR_RADIUS_M**2)  # (M,)
    blocked = dist_sq < radius_sq[:, None]  # (M, K)
    hit = blocked.any(-1)
    first = np.where(hit, CORRIDOR_AHEAD_M[np.argmax(blocked, -1)] - 0.5, np.inf)
    np.minimum.at(gap, pair_car, first)
    return gap.reshape(batch, n)


def _leaders(lane, s, length, offset) -> tuple[np.ndarray, np.ndarray]:
    """Each NPC car's leader (B, N) and the leader's position along its path (B, N), inf
    when none (leader 0 then).

    A car j is on car i's path when j's lane is one of i's three lanes (at that lane's
    offset along i's path, the nearest of i's lanes winning), or when j is about to enter
    (its next lane) lane 1 or 2 of i's from a lane that is not i's lane before it: a merge,
    placed at its distance before the lane's start (lane 2's merge winning over lane 1's,
    any lane of i's over a merge). The leader is the nearest such car ahead of i (ties:
    the lower index).
    """
    if kernels.use_numba():
        from roadgym.envs.town import kernels as town_kernels

        return town_kernels.leaders(lane, s, length, offset)
    batch, n = s.shape
    other_lane0 = lane[:, None, :, 0]  # (B, 1, N) lanes of the other cars
    other_lane1 = lane[:, None, :, 1]
    other_s = s[:, None, :]
    to_end = (length[..., 0] - s)[:, None, :]  # (B, 1, N) the others' distance to lane end
    # (B, N_self, N_other): the other's position on my path, written from the weakest
    # relation to the strongest so that the strongest wins.
    along = np.full((batch, n, n), np.inf)
    for k in (1, 2):  # merging into my lane k, not from my lane k - 1
        merging = (other_lane1 == lane[:, :, None, k]) & (other_lane0 != lane[:, :, None, k - 1])
        np.copyto(along, offset[:, :, None, k] - to_end, where=merging)
    for k in (2, 1, 0):  # on my lane k
        np.copyto(along, offset[:, :, None, k] + other_s, where=other_lane0 == lane[:, :, None, k])
    index = np.arange(n)
    ahead = (along > s[:, :, None]) | (
        (along == s[:, :, None]) & (index[None, None, :] < index[None, :, None])
    )
    ahead &= index[None, :, None] != index[None, None, :]
    along = np.where(ahead, along, np.inf)
    leader = np.argmin(along, axis=-1)  # (B, N)
    leader_along = np.take_along_axis(along, leader[..., None], -1)[..., 0]
    return leader, leader_along


def _stop_lines(world: TownState, lights, lane, s, v, length, offset, leader_along, leader_speed):
    """The gap (B, N) to a stop line each car must stop at (inf when none) and its desired
    speed (B, N); updates the cars' stop-sign waits and turns (``veh_waiting_since``,
    ``veh_committed``, ``veh_stop_key``, ``veh_stop_junction``)."""
    cfg = world.config
    batch, n = s.shape
    b = np.arange(batch)[:, None]  # (B, 1)
    index = np.arange(n)
    half = 0.5 * cfg.car_length_m
    # -- the stop line ahead: the end of lane 0, or of lane 1 when lane 0 is a connector
    app0 = world.lane_approach[b, lane[..., 0]]
    app1 = world.lane_approach[b, lane[..., 1]]
    conn0 = world.lane_is_connector[b, lane[..., 0]]
    line_app = np.where(app0 >= 0, app0, np.where(conn0, app1, -1))  # (B, N)
    line_dist = np.where(app0 >= 0, length[..., 0], length[..., 0] + length[..., 1]) - s - half
    has_line = (line_app >= 0) & (line_dist > -0.5)
    safe_app = np.maximum(line_app, 0)
    kind = np.where(has_line, gather_rows(world.approach_kind, safe_app), 0)
    state = gather_rows(lights, safe_app)
    comfortable = v * v / (2.0 * cfg.idm_comfort_brake_mps2)
    # A left-turner waiting at its line may clear on the start of the yellow (junctions.py).
    clearing = clearing_left_turn(world, np.where(app0 >= 0, app0, -1), lane[..., 1], line_dist)
    stop_light = (kind == CONTROL_LIGHT) & (
        (state == LIGHT_RED) | ((state == LIGHT_YELLOW) & (line_dist > comfortable) & ~clearing)
    )
    # Don't block the box: the exit (lane 2 when the line ends lane 0) must have room.
    exit_room = leader_along - offset[..., 2] - cfg.car_length_m
    jammed = (app0 >= 0) & (exit_room < cfg.idm_min_gap_m) & (leader_speed < JAMMED_SPEED_MPS)

    # -- stop signs: stand at the line, then go one at a time in order of arrival
    junction = gather_rows(world.approach_junction, safe_app)  # (B, N)
    at_line = (kind == CONTROL_STOP) & (line_dist < STOP_LINE_REACHED_M) & (v < 0.3)
    waiting = at_line & ~world.veh_committed
    world.veh_waiting_since = np.where(
        waiting,
        np.where(
            world.veh_waiting_since == BIG_STEP, world.step_count[:, None], world.veh_waiting_since
        ),
        np.where(world.veh_committed, world.veh_waiting_since, BIG_STEP),
    )
    eligible = waiting & (world.step_count[:, None] - world.veh_waiting_since >= world.stop_steps)
    key = np.where(eligible, world.veh_waiting_since * world.claim_base + index, BIG_STEP)
    jn = world.junction_cycle.shape[1]
    first_key = np.full(batch * jn, BIG_STEP, dtype=np.int64)
    flat = (b * jn + junction).reshape(-1)
    np.minimum.at(first_key, flat[eligible.reshape(-1)], key[eligible].reshape(-1))
    ego_j, ego_key = world.ego_stop_claim()
    has_claim = ego_j >= 0
    np.minimum.at(
        first_key, (world.agent_world * jn + np.maximum(ego_j, 0))[has_claim], ego_key[has_claim]
    )
    world.veh_stop_key = key
    world.veh_stop_junction = np.where(has_line & (kind == CONTROL_STOP), junction, -1)
    occupancy = world.junction_occupancy(include_ego=True)  # (B, J)
    clear = occupancy.reshape(-1)[flat].reshape(batch, n) == 0
    go = eligible & (key == first_key[flat].reshape(batch, n)) & clear & ~jammed
    world.veh_committed |= go
    stop_sign = (kind == CONTROL_STOP) & ~world.veh_committed
    yield_left, _ = left_turn_yield(world, lights)
    must_stop = has_line & (
        stop_light | stop_sign | (jammed & ~world.veh_committed) | (yield_left & (app0 >= 0))
    )
    line_gap = np.where(must_stop, line_dist + cfg.idm_min_gap_m - 0.5, np.inf)

    # -- the desired speed: the lane's limit, the next lane's anticipated
    limit0 = world.lane_speed_mps[b, lane[..., 0]]
    limit1 = world.lane_speed_mps[b, lane[..., 1]]
    to_next = length[..., 0] - s
    v0 = np.minimum(
        limit0,
        np.sqrt(limit1**2 + 2.0 * cfg.idm_comfort_brake_mps2 * np.maximum(to_next - half, 0.0)),
    )
    return line_gap, v0


def _stop_lines_compiled(world: TownState, lights, leader, leader_along, leader_speed):
    """:func:`_stop_lines` by one numba kernel (``roadgym[fast]``), the same results."""
    from roadgym.envs.town import kernels as town_kernels

    cfg = world.config
    ego_junction, ego_key = world.ego_stop_claim()
    batch, jn = world.junction_cycle.shape
    ego_occupancy = world.car_in_junction().reshape(batch, world.num_agents, jn).sum(axis=1)
    yield_left, _ = left_turn_yield(world, lights)
    world.veh_waiting_since = world.veh_waiting_since.copy()
    key, stop_junction, line_gap, v0 = town_kernels.npc_constraints(
        world.veh_lane,
        world.veh_s,
        world.veh_speed,
        world.lane_length_m,
        world.lane_approach,
        world.lane_is_connector,
        world.lane_junction,
        world.lane_turn,
        world.lane_speed_mps,
        world.approach_kind,
        world.approach_junction,
        lights,
        early_yellow(world),
        yield_left,
        world.step_count,
        world.veh_waiting_since,
        world.veh_committed,
        ego_junction,
        ego_key,
        world.num_agents,
        ego_occupancy,
        leader_along,
        leader_speed,
        cfg.car_length_m,
        cfg.idm_min_gap_m,
        2.0 * cfg.idm_comfort_brake_mps2,
        STOP_LINE_REACHED_M,
        CLEARING_LINE_M,
        JAMMED_SPEED_MPS,
        world.stop_steps,
        world.claim_base,
    )
    world.veh_stop_key, world.veh_stop_junction = key, stop_junction
    return line_gap, v0


def step_vehicles(world: TownState, lights: np.ndarray) -> None:
    """Advance every NPC car of every world by one step."""
    cfg = world.config
    batch, n = world.veh_s.shape
    if n == 0:  # num_vehicles = 0: no NPC car to move
        return
    b = np.arange(batch)[:, None]  # (B, 1)
    lane = world.veh_lane  # (B, N, 3)
    s, v = world.veh_s, world.veh_speed  # (B, N)
    length = world.lane_length_m[b[..., None], lane]  # (B, N, 3)
    offset = np.concatenate([np.zeros((batch, n, 1)), np.cumsum(length[..., :2], axis=-1)], -1)
    half = 0.5 * cfg.car_length_m

    # -- the car ahead: same lane, or a lane ahead, or merging into a lane ahead
    leader, leader_along = _leaders(lane, s, length, offset)
    leader_gap = leader_along - s - cfg.car_length_m
    leader_speed = gather_rows(v, leader)

    # -- pedestrians and the ego car in the corridor ahead
    corridor_gap = _corridor_gap(world, lane, s, offset, half)

    # -- stop lines (lights, stop signs, a jammed exit, a left turn's yield), desired speed
    if kernels.use_numba():
        line_gap, v0 = _stop_lines_compiled(world, lights, leader, leader_along, leader_speed)
    else:
        line_gap, v0 = _stop_lines(
            world, lights, lane, s, v, length, offset, leader_along, leader_speed
        )

    # -- speed: IDM against the tightest constraint
    if kernels.use_numba():
        from roadgym.envs.town import kernels as town_kernels

        s, world.veh_speed = town_kernels.idm_step(
            cfg, s, v, v0, leader_gap, leader_speed, corridor_gap, line_gap
        )
    else:
        accel = np.minimum.reduce(
            [
                idm_accel(world, v, v0, leader_gap, v - leader_speed),
                idm_accel(world, v, v0, corridor_gap, v),
                idm_accel(world, v, v0, line_gap, v),
            ]
        )
        accel = np.minimum(np.maximum(accel, -cfg.max_brake_mps2), cfg.idm_accel_mps2)
        new_v = np.maximum(v + accel * cfg.dt_s, 0.0)
        s = s + 0.5 * (v + new_v) * cfg.dt_s
        world.veh_speed = new_v

    # -- entering the next lane: shift the lane window, draw the lane after it
    moved = s >= length[..., 0]
    if moved.any():
        s = np.where(moved, s - length[..., 0], s)
        bb, nn = np.nonzero(moved)
        nxt = lane[bb, nn, 2]
        world.veh_draws[bb, nn] += np.uint64(1)
        pick = hash_uniform_int(
            world.world_key[bb] ^ (nn.astype(np.uint64) * np.uint64(7919)),
            world.veh_draws[bb, nn],
            world.lane_num_successors[bb, nxt],
        )
        lane[bb, nn] = np.stack([lane[bb, nn, 1], nxt, world.lane_successors[bb, nxt, pick]], -1)
        world.veh_committed[bb, nn] = False
        world.veh_waiting_since[bb, nn] = BIG_STEP
    world.veh_s = s
    if kernels.use_numba():
        from roadgym.envs.town import kernels as town_kernels

        world.veh_xy, world.veh_heading = town_kernels.lane_poses(
            world.lane_xy,
            world.lane_heading,
            world.lane_spacing_m,
            world.lane_segments,
            lane[..., 0],
            s,
        )
    else:
        world.veh_xy, world.veh_heading = lane_pose(world, b, lane[..., 0], s)
