"""numba kernels of a town's lane table: :func:`roadgym.envs.town.generator._lane_table`.

The numpy path (:mod:`roadgym.envs.town.lanes`) builds the table in some 80 array calls
on arrays of a few thousand numbers, so most of its ~1.5 ms is numpy's cost per call.
Here the same arithmetic runs as three loops: the connectors' turn curves, the
resampling of every lane with the turns' speed limits, and the headings' padding and
arc lengths. Only +, -, *, /, sqrt, ceil, fmod-based ``%`` and comparisons run compiled,
each in the numpy code's order (no fastmath, so no fused multiply-add); ``np.hypot`` and
``np.arctan2``, whose results another CPU's numpy may round differently from its libm,
stay numpy calls on whole arrays between the loops. The table is bit for bit the numpy
path's.
"""

from __future__ import annotations

import math

import numpy as np

from roadgym.envs.core.kernels import njit


@njit
def connector_curves(road_xy, source, target, heading_in, heading_out, curve_ids, bernstein):
    """``(start (C, 2), end (C, 2), curves (K, P, 2), dx (K, P - 1), dy (K, P - 1))``:
    every connector's end points (the last padded vertex of its source lane, the first of
    its target), the cubic turn curve of connectors ``curve_ids`` (as
    :func:`roadgym.envs.town.lanes.turn_curves`) and its segments."""
    num = len(source)
    last = road_xy.shape[1] - 1
    start = np.empty((num, 2))
    end = np.empty((num, 2))
    for c in range(num):
        for k in range(2):
            start[c, k] = road_xy[source[c], last, k]
            end[c, k] = road_xy[target[c], 0, k]
    points = bernstein.shape[1]
    curves = np.empty((len(curve_ids), points, 2))
    dx = np.empty((len(curve_ids), points - 1))
    dy = np.empty((len(curve_ids), points - 1))
    c0 = np.empty(2)
    c1 = np.empty(2)
    for r in range(len(curve_ids)):
        c = curve_ids[r]
        t0 = (end[c, 0] - start[c, 0]) * heading_in[c, 0] + (end[c, 1] - start[c, 1]) * heading_in[
            c, 1
        ]
        corner_x = start[c, 0] + t0 * heading_in[c, 0]
        corner_y = start[c, 1] + t0 * heading_in[c, 1]
        t1 = (end[c, 0] - corner_x) * heading_out[c, 0] + (end[c, 1] - corner_y) * heading_out[c, 1]
        for k in range(2):
            c0[k] = start[c, k] + 0.55 * t0 * heading_in[c, k]
            c1[k] = end[c, k] - 0.55 * t1 * heading_out[c, k]
        for p in range(points):
            for k in range(2):
                curves[r, p, k] = (
                    bernstein[0, p] * start[c, k]
                    + bernstein[1, p] * c0[k]
                    + bernstein[2, p] * c1[k]
                    + bernstein[3, p] * end[c, k]
                )
        for p in range(points - 1):
            dx[r, p] = curves[r, p + 1, 0] - curves[r, p, 0]
            dy[r, p] = curves[r, p + 1, 1] - curves[r, p, 1]
    return start, end, curves, dx, dy


@njit
def _wrap_angle(angle):
    """:func:`roadgym.envs.core.lane_graph.wrap_angle` (float ``%`` as Python's and numpy's:
    fmod, then the divisor added where the signs differ)."""
    return (angle + np.pi) % (2.0 * np.pi) - np.pi


@njit
def resample_lanes(
    road_xy,
    road_count,
    start,
    end,
    straight_ids,
    straight_length,
    curve_ids,
    curves,
    curve_seg_len,
    curve_heading,
    spacing_m,
    speed_limit_mps,
    lateral_accel_mps2,
):
    """``(xy (L, W, 2), num_segments (L,), speed_limit (L,), seg_x (L, W - 1), seg_y,
    heading (L, W), step (L, W - 1), general (L, W - 1))``:
    the street lanes ``road_xy`` then every connector, resampled at ``spacing_m``
    (straight ones as :func:`~roadgym.envs.town.lanes.resample_segments`, turns as
    :func:`~roadgym.envs.town.lanes.resample_curves`), rows padded with the vertex at the
    lane's end; the turns' speed limits from :func:`~roadgym.envs.town.lanes.max_curvature`;
    each row's segment vectors (zero past its end); and the headings and lengths of the
    segments along an axis, the others (``general``) left to ``np.arctan2`` and
    ``np.hypot``."""
    num_road = len(road_count)
    num = num_road + len(start)
    count = np.empty(num, dtype=np.int64)
    count[:num_road] = road_count
    limit = np.full(num, speed_limit_mps)
    for r in range(len(straight_ids)):
        length = straight_length[r]
        count[num_road + straight_ids[r]] = max(np.int64(np.ceil(length / spacing_m)), 2)
    points = curves.shape[1]
    cum = np.zeros((len(curve_ids), points))
    for r in range(len(curve_ids)):
        for p in range(1, points):
            cum[r, p] = cum[r, p - 1] + curve_seg_len[r, p - 1]
        count[num_road + curve_ids[r]] = max(np.int64(np.ceil(cum[r, points - 1] / spacing_m)), 2)
        kappa = 0.0
        for p in range(points - 2):
            turn = _wrap_angle(curve_heading[r, p + 1] - curve_heading[r, p])
            span = 0.5 * (curve_seg_len[r, p + 1] + curve_seg_len[r, p])
            value = abs(turn / max(span, 1e-9))
            if p == 0 or value > kappa:
                kappa = value
        limit[num_road + curve_ids[r]] = min(
            speed_limit_mps, np.sqrt(lateral_accel_mps2 / max(kappa, 1e-6))
        )
    width = road_xy.shape[1]
    for c in range(num_road, num):
        width = max(width, count[c] + 1)
    xy = np.empty((num, width, 2))
    road_last = road_xy.shape[1] - 1
    for r in range(num_road):
        for c in range(width):
            for k in range(2):
                xy[r, c, k] = road_xy[r, min(c, road_last), k]
    for r in range(len(straight_ids)):
        lane = straight_ids[r]
        row = num_road + lane
        length = straight_length[r]
        step = length / count[row]
        for c in range(width):
            s = length if c >= count[row] else c * step
            t = s / max(length, 1e-12)
            for k in range(2):
                xy[row, c, k] = start[lane, k] + t * (end[lane, k] - start[lane, k])
    for r in range(len(curve_ids)):
        row = num_road + curve_ids[r]
        length = cum[r, points - 1]
        step = length / count[row]
        index = 0
        for c in range(count[row] + 1):
            s = length if c >= count[row] else c * step
            # searchsorted(cum, s, "right") - 1, clipped to the segments; s never falls
            while index + 1 < points and cum[r, index + 1] <= s:
                index += 1
            segment = min(max(index, 0), points - 2)
            t = (s - cum[r, segment]) / max(curve_seg_len[r, segment], 1e-12)
            for k in range(2):
                first = curves[r, segment, k]
                xy[row, c, k] = first + t * (curves[r, segment + 1, k] - first)
        for c in range(count[row] + 1, width):
            for k in range(2):
                xy[row, c, k] = xy[row, count[row], k]
    seg_x = np.zeros((num, width - 1))
    seg_y = np.zeros((num, width - 1))
    heading = np.empty((num, width))
    step = np.zeros((num, width - 1))
    general = np.zeros((num, width - 1), dtype=np.bool_)
    for r in range(num):
        for c in range(count[r]):
            dx = xy[r, c + 1, 0] - xy[r, c, 0]
            dy = xy[r, c + 1, 1] - xy[r, c, 1]
            seg_x[r, c], seg_y[r, c] = dx, dy
            # Street lanes and straight crossings run along the grid: one coordinate of
            # their segments is exactly zero, where C99 fixes atan2 (+-0 or +-pi, +-pi/2)
            # and hypot (the other's magnitude) exactly. Other segments: numpy's calls.
            if dy == 0.0 and dx != 0.0:
                heading[r, c] = dy if dx > 0.0 else math.copysign(np.pi, dy)
                step[r, c] = abs(dx)
            elif dx == 0.0 and dy != 0.0:
                heading[r, c] = math.copysign(0.5 * np.pi, dy)
                step[r, c] = abs(dy)
            else:
                general[r, c] = True
    return xy, count, limit, seg_x, seg_y, heading, step, general


@njit
def arc_lengths(heading, step, count):
    """Pad each row of ``heading`` (L, W) past its ``count`` segments with its last
    heading (in place); returns ``(cum_s (L, W), length (L,))``, the running sums of
    ``step`` (L, W - 1) from 0."""
    num, width = heading.shape
    cum_s = np.zeros((num, width))
    length = np.empty(num)
    for r in range(num):
        last = heading[r, count[r] - 1]
        for c in range(count[r], width):
            heading[r, c] = last
        for c in range(width - 1):
            cum_s[r, c + 1] = cum_s[r, c] + step[r, c]
        length[r] = cum_s[r, count[r]]
    return cum_s, length
