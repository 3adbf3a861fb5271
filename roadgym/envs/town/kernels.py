"""numba kernels of the NPC step: the leader table, the corridor check and lane poses.

Imported only when :func:`roadgym.envs.core.kernels.use_numba` says so (this module
imports numba). Each kernel is a loop over worlds and cars that computes what its numpy
twin in :mod:`roadgym.envs.town.traffic` computes, with the same comparisons and the
same IEEE operations in the same order (no fastmath, so no fused multiply-add): the
results are identical, not merely close. The numpy code stays the reference.
"""

from __future__ import annotations

import math

import numba
import numpy as np

_jit = numba.njit(cache=True, nogil=True, error_model="numpy")


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
def first_hit(points, actors, radius_sq, ahead_m):
    """For each car (C,), the first path sample ``points`` (C, K, 2) within the radius of
    one of ``actors`` (C, V, 2): its distance ``ahead_m[k]`` (inf when none) and the
    lowest such actor (0 when none), as ``ego.scene_ahead``'s numpy ``first_hit``."""
    cars, samples = points.shape[0], points.shape[1]
    count = actors.shape[1]
    distance = np.full(cars, np.inf)
    actor = np.zeros(cars, dtype=np.int64)
    for c in range(cars):
        found = False
        for k in range(samples):
            for a in range(count):
                dx = points[c, k, 0] - actors[c, a, 0]
                dy = points[c, k, 1] - actors[c, a, 1]
                if dx * dx + dy * dy < radius_sq:
                    distance[c], actor[c], found = ahead_m[k], a, True
                    break
            if found:
                break
    return distance, actor
