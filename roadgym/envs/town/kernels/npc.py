"""numba kernels of the NPC step: lane poses, the leader table, the corridor check and
the stop lines (stop-sign queue, light, turn and desired speed).

Twins of the numpy code in :mod:`roadgym.envs.town.traffic`, with the same comparisons
and IEEE operations in the same order: see :mod:`roadgym.envs.town.kernels`.
"""

from __future__ import annotations

import math

import numpy as np

from roadgym.envs.core.kernels import njit
from roadgym.envs.town.generator import CONTROL_LIGHT, CONTROL_STOP, TURN_LEFT
from roadgym.envs.town.state import BIG_STEP

# junctions.py's light states, repeated: junctions imports these kernels, not the reverse.
LIGHT_RED, LIGHT_YELLOW = 1, 2

_jit = njit


@_jit
def _point_on_lane(lane_xy, lane_heading, spacing, segments, b, lane, s):
    """(x, y, heading) at arc length ``s`` on lane ``lane`` of world ``b``."""
    u = s / spacing[b, lane]
    last = segments[b, lane] - 1
    index = min(max(np.int64(math.floor(u)), 0), last)
    t = min(max(u - index, 0.0), 1.0)
    x0, y0 = lane_xy[b, lane, index, 0], lane_xy[b, lane, index, 1]
    x = x0 + t * (lane_xy[b, lane, index + 1, 0] - x0)
    y = y0 + t * (lane_xy[b, lane, index + 1, 1] - y0)
    return x, y, lane_heading[b, lane, index]


@_jit
def lane_poses(lane_xy, lane_heading, spacing, segments, lane, s):
    """Points (B, N, 2) and headings (B, N) at arc lengths ``s`` (B, N) on ``lane`` (B, N)."""
    batch, n = s.shape
    xy = np.empty((batch, n, 2))
    heading = np.empty((batch, n))
    for b in range(batch):
        for i in range(n):
            x, y, h = _point_on_lane(
                lane_xy, lane_heading, spacing, segments, b, lane[b, i], s[b, i]
            )
            xy[b, i, 0] = x
            xy[b, i, 1] = y
            heading[b, i] = h
    return xy, heading


@_jit
def leaders(lane, s, length, offset):
    """Each car's leader (B, N) and its position along the car's path (B, N), inf when
    none: :func:`roadgym.envs.town.traffic._leaders`, one (car, other) pair at a time."""
    batch, n = s.shape
    leader = np.zeros((batch, n), dtype=np.int64)
    leader_along = np.full((batch, n), np.inf)
    for b in range(batch):
        for i in range(n):
            best, best_j = np.inf, 0
            for j in range(n):
                if j == i:
                    continue
                along = np.inf
                # weakest relation first: merging into lane 1, into lane 2, on lane 2, 1, 0
                for k in (1, 2):
                    if lane[b, j, 1] == lane[b, i, k] and lane[b, j, 0] != lane[b, i, k - 1]:
                        along = offset[b, i, k] - (length[b, j, 0] - s[b, j])
                for k in (2, 1, 0):
                    if lane[b, j, 0] == lane[b, i, k]:
                        along = offset[b, i, k] + s[b, j]
                if along > s[b, i] or (along == s[b, i] and j < i):
                    if along < best:  # argmin: the first of equal minima
                        best, best_j = along, j
            leader[b, i] = best_j
            leader_along[b, i] = best
    return leader, leader_along


@_jit
def corridor_gap(
    lane_xy,
    lane_heading,
    spacing,
    segments,
    veh_xy,
    lane,
    s,
    offset,
    ped_xy,
    ego,
    half,
    ahead_m,
    reach_sq,
    ped_radius_sq,
    ego_radius_sq,
):
    """Distance (B, N) from each car's front to the first pedestrian or controlled car on
    its path, inf when none: :func:`roadgym.envs.town.traffic._corridor_gap`.

    ``ego`` (B, A, 3, 2) holds each controlled car's three axis points (far away when it
    left the world); a pedestrian is its centre, a controlled car its middle point for
    the reach test and the nearest of its three points on the path.
    """
    batch, n = s.shape
    peds, agents = ped_xy.shape[1], ego.shape[1]
    samples = ahead_m.shape[0]
    gap = np.full((batch, n), np.inf)
    px = np.empty(samples)
    py = np.empty(samples)
    for b in range(batch):
        for i in range(n):
            sampled = False
            for a in range(peds + agents):
                if a < peds:
                    cx, cy = ped_xy[b, a, 0], ped_xy[b, a, 1]
                else:
                    cx, cy = ego[b, a - peds, 1, 0], ego[b, a - peds, 1, 1]
                dx, dy = veh_xy[b, i, 0] - cx, veh_xy[b, i, 1] - cy
                if not dx * dx + dy * dy < reach_sq:
                    continue
                if not sampled:  # the car's path, once, at the first actor near it
                    for k in range(samples):
                        sample_s = s[b, i] + half + ahead_m[k]
                        which = (1 if sample_s >= offset[b, i, 1] else 0) + (
                            1 if sample_s >= offset[b, i, 2] else 0
                        )
                        path_s = sample_s - offset[b, i, which]
                        x, y, _ = _point_on_lane(
                            lane_xy, lane_heading, spacing, segments, b, lane[b, i, which], path_s
                        )
                        px[k] = x
                        py[k] = y
                    sampled = True
                for k in range(samples):
                    dx, dy = px[k] - cx, py[k] - cy
                    dist_sq = dx * dx + dy * dy
                    if a < peds:
                        blocked = dist_sq < ped_radius_sq
                    else:
                        for point in (0, 2):
                            dx = px[k] - ego[b, a - peds, point, 0]
                            dy = py[k] - ego[b, a - peds, point, 1]
                            dist_sq = min(dist_sq, dx * dx + dy * dy)
                        blocked = dist_sq < ego_radius_sq
                    if blocked:
                        gap[b, i] = min(gap[b, i], ahead_m[k] - 0.5)
                        break
    return gap


@_jit
def npc_constraints(
    lane,
    s,
    v,
    lane_length,
    lane_approach,
    lane_is_connector,
    lane_junction,
    lane_turn,
    lane_speed,
    approach_kind,
    approach_junction,
    lights,
    early_yellow,
    yield_left,
    step_count,
    waiting_since,
    committed,
    ego_junction,
    ego_key,
    agents,
    ego_occupancy,
    leader_along,
    leader_speed,
    car_length,
    min_gap,
    twice_brake,
    line_reached_m,
    clearing_line_m,
    jammed_speed,
    stop_steps,
    claim_base,
):
    """The stop line, stop-sign and desired-speed part of ``traffic.step_vehicles``.

    Updates ``waiting_since`` and ``committed`` (B, N) in place and returns the stop keys
    and stop junctions (B, N) the step stores, and per car (B, N): the gap to a stop line
    it must stop at (inf when none) and the desired speed ``v0``, each as the numpy step
    computes it. ``ego_junction`` and ``ego_key`` (B * agents,) are the controlled cars'
    stop-sign claims (junction -1: none), ``ego_occupancy`` (B, J) the controlled cars
    inside each junction.
    """
    batch, n = s.shape
    half = 0.5 * car_length
    jn = ego_occupancy.shape[1]
    line_gap = np.empty((batch, n))
    v0 = np.empty((batch, n))
    key = np.empty((batch, n), dtype=np.int64)
    stop_junction = np.empty((batch, n), dtype=np.int64)
    line_dist = np.empty(n)
    has_line = np.empty(n, dtype=np.bool_)
    kind = np.empty(n, dtype=np.int64)
    junction = np.empty(n, dtype=np.int64)
    stop_light = np.empty(n, dtype=np.bool_)
    jammed = np.empty(n, dtype=np.bool_)
    eligible = np.empty(n, dtype=np.bool_)
    first_key = np.empty(jn, dtype=np.int64)
    occupancy = np.empty(jn, dtype=np.int64)
    for b in range(batch):
        now = step_count[b]
        for i in range(n):
            l0, l1 = lane[b, i, 0], lane[b, i, 1]
            length0, length1 = lane_length[b, l0], lane_length[b, l1]
            offset2 = length0 + length1
            # the stop line ahead: the end of lane 0, or of lane 1 when lane 0 is a connector
            app0 = lane_approach[b, l0]
            if app0 >= 0:
                line_app = app0
                line_dist[i] = length0 - s[b, i] - half
            else:
                line_app = lane_approach[b, l1] if lane_is_connector[b, l0] else -1
                line_dist[i] = offset2 - s[b, i] - half
            has_line[i] = line_app >= 0 and line_dist[i] > -0.5
            safe_app = max(line_app, 0)
            kind[i] = approach_kind[b, safe_app] if has_line[i] else 0
            state = lights[b, safe_app]
            comfortable = v[b, i] * v[b, i] / twice_brake
            clearing = (
                early_yellow[b, max(app0, 0)]
                and lane_turn[b, l1] == TURN_LEFT
                and app0 >= 0
                and line_dist[i] < clearing_line_m
            )
            stop_light[i] = kind[i] == CONTROL_LIGHT and (
                state == LIGHT_RED
                or (state == LIGHT_YELLOW and line_dist[i] > comfortable and not clearing)
            )
            exit_room = leader_along[b, i] - offset2 - car_length
            jammed[i] = app0 >= 0 and exit_room < min_gap and leader_speed[b, i] < jammed_speed
            junction[i] = approach_junction[b, safe_app]
            # stop signs: stand at the line, then go one at a time in order of arrival
            at_line = kind[i] == CONTROL_STOP and line_dist[i] < line_reached_m and v[b, i] < 0.3
            waiting = at_line and not committed[b, i]
            if waiting:
                if waiting_since[b, i] == BIG_STEP:
                    waiting_since[b, i] = now
            elif not committed[b, i]:
                waiting_since[b, i] = BIG_STEP
            eligible[i] = waiting and now - waiting_since[b, i] >= stop_steps
            key[b, i] = waiting_since[b, i] * claim_base + i if eligible[i] else BIG_STEP
            stop_junction[b, i] = junction[i] if has_line[i] and kind[i] == CONTROL_STOP else -1
            # desired speed: the lane's limit, the next lane's anticipated
            limit1 = lane_speed[b, l1]
            v0[b, i] = min(
                lane_speed[b, l0],
                np.sqrt(limit1 * limit1 + twice_brake * max(length0 - s[b, i] - half, 0.0)),
            )
        first_key[:] = BIG_STEP
        for i in range(n):
            if eligible[i]:
                first_key[junction[i]] = min(first_key[junction[i]], key[b, i])
        for c in range(b * agents, (b + 1) * agents):
            if ego_junction[c] >= 0:
                first_key[ego_junction[c]] = min(first_key[ego_junction[c]], ego_key[c])
        # cars inside each junction or cleared to enter it (the controlled cars' given)
        occupancy[:] = ego_occupancy[b]
        for i in range(n):
            l0 = lane[b, i, 0]
            if lane_is_connector[b, l0]:
                occupancy[lane_junction[b, l0]] += 1
            elif committed[b, i] and stop_junction[b, i] >= 0:
                occupancy[stop_junction[b, i]] += 1
        for i in range(n):
            go = (
                eligible[i]
                and key[b, i] == first_key[junction[i]]
                and occupancy[junction[i]] == 0
                and not jammed[i]
            )
            if go:
                committed[b, i] = True
        for i in range(n):
            stop_sign = kind[i] == CONTROL_STOP and not committed[b, i]
            must_stop = has_line[i] and (
                stop_light[i]
                or stop_sign
                or (jammed[i] and not committed[b, i])
                or (yield_left[b, i] and lane_approach[b, lane[b, i, 0]] >= 0)
            )
            line_gap[b, i] = line_dist[i] + min_gap - 0.5 if must_stop else np.inf
    return key, stop_junction, line_gap, v0
