"""numba kernel of the controlled cars' projection onto their routes (``roadgym[fast]``;
its decorator imports numba).

:func:`roadgym.envs.core.lane_graph.project_onto_window` and the window arithmetic around
it cost some 25 small numpy calls a step, whatever the batch size. This kernel does the
same arithmetic car by car, in the same order and with IEEE-exact operations only (+, -,
*, /, sqrt, comparisons), so arc length, lateral offset and segment are identical.
"""

from __future__ import annotations

import numpy as np

from roadgym.envs.core.kernels import njit
from roadgym.envs.core.lane_graph import TIE_MARGIN_M2


@njit
def locate_on_routes(
    route_xy, cum_s, route_heading, num_segments, window, x_m, y_m, cars, segment, s_m, lateral_m
):
    """Project each car of ``cars`` onto its route's segments near ``segment[car]``.

    Writes ``segment``, ``s_m`` and ``lateral_m`` in place for those cars and returns the
    route heading (rad) of each one's new segment, (len(cars),).
    """
    k_count = len(window)
    t_of = np.empty(k_count)
    dist_of = np.empty(k_count)
    seg_of = np.empty(k_count, dtype=np.int64)
    heading = np.empty(len(cars))
    for i in range(len(cars)):
        car = cars[i]
        px, py = x_m[car], y_m[car]
        last = num_segments[car] - 1
        nearest = np.inf
        for k in range(k_count):
            seg = min(max(segment[car] + window[k], 0), last)
            start_x, start_y = route_xy[car, seg, 0], route_xy[car, seg, 1]
            dir_x = route_xy[car, seg + 1, 0] - start_x
            dir_y = route_xy[car, seg + 1, 1] - start_y
            length_sq = dir_x * dir_x + dir_y * dir_y
            if length_sq < 1e-12:
                length_sq = 1e-12
            rel_x, rel_y = px - start_x, py - start_y
            t = (rel_x * dir_x + rel_y * dir_y) / length_sq
            t = min(max(t, 0.0), 1.0)
            off_x, off_y = rel_x - t * dir_x, rel_y - t * dir_y
            dist = off_x * off_x + off_y * off_y
            t_of[k], dist_of[k], seg_of[k] = t, dist, seg
            nearest = min(nearest, dist)
        best = 0
        while dist_of[best] > nearest + TIE_MARGIN_M2:
            best += 1
        seg, t = seg_of[best], t_of[best]
        start_x, start_y = route_xy[car, seg, 0], route_xy[car, seg, 1]
        d_x = route_xy[car, seg + 1, 0] - start_x
        d_y = route_xy[car, seg + 1, 1] - start_y
        r_x, r_y = px - start_x, py - start_y
        norm_sq = d_x * d_x + d_y * d_y
        if norm_sq < 1e-12:
            norm_sq = 1e-12
        s_m[car] = cum_s[car, seg] + t * (cum_s[car, seg + 1] - cum_s[car, seg])
        lateral_m[car] = (d_x * r_y - d_y * r_x) / np.sqrt(norm_sq)
        segment[car] = seg
        heading[i] = route_heading[car, seg]
    return heading
