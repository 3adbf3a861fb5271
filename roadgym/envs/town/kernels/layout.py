"""numba kernel of a town's junction movements: :func:`roadgym.envs.town.layout.junction_turns`.

The numpy code builds a (n, n, 4, 4, 2, 2) table of candidate movements and keeps those
that pass its tests, in ``np.nonzero`` order; this loop visits the same candidates in the
same (C) order and applies the same tests, so it lists the same connectors in the same
order (integers and table lookups only).
"""

from __future__ import annotations

import numpy as np

from roadgym.envs.core.kernels import njit


@njit
def _keeps(lanes, controlled, turn_of, turn_left, turn_straight, j, i, d_in, d_out, out_k, in_k):
    """Whether incoming lane ``in_k`` of arm ``d_in`` feeds outgoing lane ``out_k`` of
    arm ``d_out`` at junction (i, j) (``junction_turns``'s ``pairs``)."""
    k_in, k_out = lanes[j, i, d_in], lanes[j, i, d_out]
    turn = turn_of[d_in, d_out]
    if not controlled[j, i] or turn == turn_straight:
        if k_out >= k_in:
            return out_k < k_out and in_k == min(out_k, k_in - 1)
        return in_k < k_in and out_k == min(in_k, k_out - 1)
    if turn == turn_left:
        return in_k == 0 and out_k == 0
    return in_k == k_in - 1 and out_k < k_out


@njit
def junction_turns(
    lanes,
    arms,
    controlled,
    jid,
    approach_id,
    first_lane,
    turn_of,
    step_i,
    step_j,
    directions,
    turn_left,
    turn_straight,
):
    """``(source, target, junction, turn, from_approach, heading_in, heading_out)`` of
    every connector, as :func:`roadgym.envs.town.layout.junction_turns` returns them."""
    n = arms.shape[0]
    count = 0
    for pass_ in range(2):
        if pass_ == 1:
            source = np.empty(count, dtype=np.int64)
            target = np.empty(count, dtype=np.int64)
            junction = np.empty(count, dtype=jid.dtype)
            turn = np.empty(count, dtype=turn_of.dtype)
            from_approach = np.empty(count, dtype=approach_id.dtype)
            heading_in = np.empty((count, 2))
            heading_out = np.empty((count, 2))
        c = 0
        for j in range(n):
            for i in range(n):
                for d_in in range(4):
                    if not arms[j, i, d_in]:
                        continue
                    for d_out in range(4):
                        if d_out == d_in or not arms[j, i, d_out]:
                            continue
                        for out_k in range(2):
                            for in_k in range(2):
                                if not _keeps(
                                    lanes, controlled, turn_of, turn_left, turn_straight,
                                    j, i, d_in, d_out, out_k, in_k,
                                ):  # fmt: skip
                                    continue
                                if pass_ == 1:
                                    i0, j0 = i + step_i[d_in], j + step_j[d_in]
                                    source[c] = first_lane[j0, i0, (d_in + 2) % 4] + in_k
                                    target[c] = first_lane[j, i, d_out] + out_k
                                    junction[c] = jid[j, i]
                                    turn[c] = turn_of[d_in, d_out]
                                    from_approach[c] = approach_id[j, i, d_in]
                                    for k in range(2):
                                        heading_in[c, k] = -directions[d_in, k]
                                        heading_out[c, k] = directions[d_out, k]
                                c += 1
        count = c
    return source, target, junction, turn, from_approach, heading_in, heading_out


@njit
def street_lanes(
    centre_xy, lanes, setback_m, arms, jid, approach_id, lane_width_m, step_i, step_j, directions
):
    """``(start, end, junction, approach, first_lane, street_start, street_end,
    street_half_width_m, marking_xy, marking_dashed)``, as
    :func:`roadgym.envs.town.layout.street_lanes` returns them: streets in ``np.nonzero``
    order, each street's two directions, each direction's lanes inner first."""
    n = arms.shape[0]
    lw = lane_width_m
    num_streets = num_lanes = num_markings = 0
    for j in range(n):
        for i in range(n):
            for d in range(2):
                if arms[j, i, d]:
                    num_streets += 1
                    num_lanes += 2 * lanes[j, i, d]
                    num_markings += 3 if lanes[j, i, d] == 2 else 1
    start = np.empty((num_lanes, 2))
    end = np.empty((num_lanes, 2))
    junction = np.empty(num_lanes, dtype=jid.dtype)
    approach = np.empty(num_lanes, dtype=approach_id.dtype)
    first_lane = np.full(arms.shape, -1, dtype=np.int64)
    street_start = np.empty((num_streets, 2))
    street_end = np.empty((num_streets, 2))
    half_width = np.empty(num_streets)
    marking_xy = np.empty((num_markings, 2, 2))
    marking_dashed = np.empty(num_markings, dtype=np.bool_)
    u = np.empty(2)
    normal = np.empty(2)
    lane_start = np.empty(2)
    lane_end = np.empty(2)
    s = lane = m = 0
    for j in range(n):
        for i in range(n):
            for d in range(2):
                if not arms[j, i, d]:
                    continue
                i2, j2 = i + step_i[d], j + step_j[d]
                k = lanes[j, i, d]
                street_start[s, 0], street_start[s, 1] = centre_xy[j, i, 0], centre_xy[j, i, 1]
                street_end[s, 0], street_end[s, 1] = centre_xy[j2, i2, 0], centre_xy[j2, i2, 1]
                half_width[s] = k * lw
                for way in range(2):  # a -> b along arm d, then back along arm d + 2
                    if way == 0:
                        ia, ja, da, ib, jb, db = i, j, d, i2, j2, d + 2
                    else:
                        ia, ja, da, ib, jb, db = i2, j2, d + 2, i, j, d
                    dx = centre_xy[jb, ib, 0] - centre_xy[ja, ia, 0]
                    dy = centre_xy[jb, ib, 1] - centre_xy[ja, ia, 1]
                    norm = np.sqrt(dx * dx + dy * dy)
                    u[0], u[1] = dx / norm, dy / norm
                    normal[0], normal[1] = -u[1], u[0]
                    for q in range(2):
                        lane_start[q] = centre_xy[ja, ia, q] + setback_m[ja, ia, da] * u[q]
                        lane_end[q] = centre_xy[jb, ib, q] - setback_m[jb, ib, db] * u[q]
                    first_lane[ja, ia, da] = lane
                    for lane_k in range(k):
                        across = -(lane_k + 0.5) * lw
                        for q in range(2):
                            offset = across * normal[q]
                            start[lane, q] = lane_start[q] + offset
                            end[lane, q] = lane_end[q] + offset
                        junction[lane] = jid[jb, ib]
                        approach[lane] = approach_id[jb, ib, db]
                        lane += 1
                    if k == 2:  # the dashed line between this way's two lanes
                        for q in range(2):
                            marking_xy[m + way, 0, q] = lane_start[q] - lw * normal[q]
                            marking_xy[m + way, 1, q] = lane_end[q] - lw * normal[q]
                        marking_dashed[m + way] = True
                if k == 2:
                    m += 2
                for q in range(2):  # the solid centre line
                    marking_xy[m, 0, q] = centre_xy[j, i, q] + setback_m[j, i, d] * directions[d, q]
                    marking_xy[m, 1, q] = (
                        centre_xy[j2, i2, q] - setback_m[j2, i2, d + 2] * directions[d, q]
                    )
                marking_dashed[m] = False
                m += 1
                s += 1
    return (
        start,
        end,
        junction,
        approach,
        first_lane,
        street_start,
        street_end,
        half_width,
        marking_xy,
        marking_dashed,
    )
