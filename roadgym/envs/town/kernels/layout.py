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
