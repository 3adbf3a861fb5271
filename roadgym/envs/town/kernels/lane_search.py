"""numba kernels of the searches a reset runs on a town's lane graph.

:func:`shortest_lanes` is :func:`roadgym.envs.town.routing._shortest_lanes` (A*), with
the same heap (numba's ``heapq`` is CPython's algorithm) of the same ``(estimate, cost,
lane)`` tuples, successors visited in the same order and the same float sums, so it pops
the same lanes in the same order and returns the same route, ties included.
:func:`strongly_connected` answers what
:func:`roadgym.envs.town.generator._lanes_strongly_connected` answers (a yes or no that
does not depend on the order of the search). Both read the successors as
:meth:`roadgym.envs.town.lanes.LaneTable.successor_table` pads them.
"""

from __future__ import annotations

import heapq

import numpy as np

from roadgym.envs.core.kernels import njit


@njit
def shortest_lanes(heuristic, lengths, successors, num_successors, start_lane, goal_lane):
    """The lanes (K,) from ``start_lane`` to ``goal_lane`` of the shortest route, or an
    empty array when there is none. ``heuristic`` (L,): each lane start's straight-line
    distance to the goal lane's start; ``lengths`` (L,): the lanes' lengths."""
    best = np.full(len(lengths), np.inf)
    best[start_lane] = 0.0
    parent = np.full(len(lengths), -1, dtype=np.int64)
    frontier = [(heuristic[start_lane], 0.0, np.int64(start_lane))]
    while len(frontier) > 0:
        _, cost, lane = heapq.heappop(frontier)
        if lane == goal_lane:
            size, node = 1, lane
            while parent[node] >= 0:
                node = parent[node]
                size += 1
            path = np.empty(size, dtype=np.int64)
            node = lane
            for k in range(size - 1, -1, -1):
                path[k] = node
                node = parent[node]
            return path
        if cost > best[lane]:
            continue
        new_cost = cost + lengths[lane]
        for k in range(num_successors[lane]):
            succ = successors[lane, k]
            if new_cost < best[succ]:
                best[succ] = new_cost
                parent[succ] = lane
                heapq.heappush(frontier, (new_cost + heuristic[succ], new_cost, succ))
    return np.empty(0, dtype=np.int64)


@njit
def _reaches_all(first, order, count):
    """Whether a depth-first search from lane 0 over the adjacency in CSR form (``order``
    from ``first[k]`` to ``first[k + 1]``) reaches all ``count`` lanes."""
    seen = np.zeros(count, dtype=np.bool_)
    stack = np.empty(count, dtype=np.int64)
    seen[0] = True
    stack[0] = 0
    top, reached = 1, 1
    while top > 0:
        top -= 1
        lane = stack[top]
        for k in range(first[lane], first[lane + 1]):
            nxt = order[k]
            if not seen[nxt]:
                seen[nxt] = True
                reached += 1
                stack[top] = nxt
                top += 1
    return reached == count


@njit
def strongly_connected(successors, num_successors):
    """Whether every lane reaches every other through ``successors`` (L, S) (rows padded;
    ``num_successors`` (L,) of each are real)."""
    count = len(num_successors)
    forward_first = np.zeros(count + 1, dtype=np.int64)
    backward_first = np.zeros(count + 1, dtype=np.int64)
    for lane in range(count):
        forward_first[lane + 1] = forward_first[lane] + num_successors[lane]
        for k in range(num_successors[lane]):
            backward_first[successors[lane, k] + 1] += 1
    for lane in range(count):
        backward_first[lane + 1] += backward_first[lane]
    forward = np.empty(forward_first[count], dtype=np.int64)
    backward = np.empty(forward_first[count], dtype=np.int64)
    fill = backward_first[:count].copy()
    for lane in range(count):
        for k in range(num_successors[lane]):
            succ = successors[lane, k]
            forward[forward_first[lane] + k] = succ
            backward[fill[succ]] = lane
            fill[succ] += 1
    return _reaches_all(forward_first, forward, count) and _reaches_all(
        backward_first, backward, count
    )


@njit
def _popcount(bits):
    count = 0
    while bits:
        bits &= bits - 1
        count += 1
    return count


@njit
def _streets_reached(p0, p1, p2, p3, n, e, no, w, s, forward):
    """:func:`roadgym.envs.town.generator._reached` on 64-bit integers (n * n + n < 63
    bits, so no shift overflows)."""
    u0, u1, u2, u3 = p0 & ~e, p1 & ~no, p2 & ~w, p3 & ~s
    while e | no | w | s:
        if forward:
            e, no, w, s = e << 1, no << n, w >> 1, s >> n
            e, no, w, s = (e | no | s) & u0, (e | no | w) & u1, (no | w | s) & u2, (e | w | s) & u3
        else:
            e, no, w, s = (
                ((e | no | s) >> 1) & u0,
                ((e | no | w) >> n) & u1,
                ((no | w | s) << 1) & u2,
                ((e | w | s) << n) & u3,
            )
        u0, u1, u2, u3 = u0 ^ e, u1 ^ no, u2 ^ w, u3 ^ s
    return _popcount(u0) + _popcount(u1) + _popcount(u2) + _popcount(u3)


@njit
def arms_strongly_connected(p0, p1, p2, p3, n):
    """:func:`roadgym.envs.town.generator._arms_strongly_connected` for grids of
    ``n`` <= 7 (the four bit sets as int64)."""
    start = [np.int64(0)] * 4
    present = (p0, p1, p2, p3)
    for d in range(4):
        if present[d]:
            start[d] = present[d] & -present[d]  # its lowest junction
            break
    e, no, w, s = start[0], start[1], start[2], start[3]
    return (
        _streets_reached(p0, p1, p2, p3, n, e, no, w, s, True) == 0
        and _streets_reached(p0, p1, p2, p3, n, e, no, w, s, False) == 0
    )
