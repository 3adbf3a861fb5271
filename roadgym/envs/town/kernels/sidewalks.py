"""numba kernel of a town's pedestrian graph: :func:`roadgym.envs.town.sidewalks.build_sidewalks`.

The numpy code lists junctions, arms and block sides with ``np.nonzero`` (C order) and
slots each node's edges in edge order; these loops visit them in the same order, with the
same float operations (a sum, a product, a half), so the graph is the numpy one bit for
bit. A node with more than ``max_degree`` edges is reported (``ok`` False), for the
caller's error.
"""

from __future__ import annotations

import numpy as np

from roadgym.envs.core.kernels import njit


@njit
def sidewalk_graph(
    xs,
    ys,
    hw_col,
    hw_row,
    arms,
    controlled,
    jid,
    corner_back_m,
    half_crosswalk_m,
    corner_signs,
    corner_directions,
    side_corners,
    max_degree,
    edge_sidewalk,
    edge_crosswalk,
    edge_jaywalk,
):
    """``(ok, node_xy, neighbours, edge_kind, edge_junction, crosswalk_centre,
    crosswalk_along, crosswalk_half_length_m, crosswalk_half_width_m)``;
    ``corner_back_m``: ``CORNER_FRACTION * sidewalk_width_m``."""
    n = len(xs)
    corner_id = np.full((n, n, 4), -1, dtype=np.int64)
    count = 0  # junctions, grid order
    crossings = 0
    sides = 0
    for j in range(n):
        for i in range(n):
            if arms[j, i, 0] or arms[j, i, 1] or arms[j, i, 2] or arms[j, i, 3]:
                for c in range(4):
                    corner_id[j, i, c] = 4 * count + c
                    if arms[j, i, c] and controlled[j, i]:
                        crossings += 1
                count += 1
            sides += int(arms[j, i, 0]) + int(arms[j, i, 1])
    node_xy = np.empty((4 * count + 2 * sides, 2))
    crosswalk_centre = np.empty((crossings, 2))
    crosswalk_along = np.empty((crossings, 2))
    crosswalk_half_width = np.empty(crossings)
    # Edges: round each junction (walked arms), then 5 along each block side.
    edge_a = np.empty(4 * count + 5 * sides, dtype=np.int64)
    edge_b = np.empty_like(edge_a)
    edge_kind = np.empty_like(edge_a)
    edge_junction = np.empty_like(edge_a)
    half = np.empty(2)
    e, k = 0, 0
    for j in range(n):
        for i in range(n):
            if corner_id[j, i, 0] < 0:
                continue
            first = corner_id[j, i, 0]
            half[0] = hw_col[i] + corner_back_m
            half[1] = hw_row[j] + corner_back_m
            for c in range(4):
                node_xy[first + c, 0] = xs[i] + corner_signs[c, 0] * half[0]
                node_xy[first + c, 1] = ys[j] + corner_signs[c, 1] * half[1]
            for d in range(4):
                crossed = arms[j, i, d] and controlled[j, i]
                if not arms[j, i, d] or crossed:  # walked round
                    edge_a[e] = first + (d + 3) % 4
                    edge_b[e] = first + d
                    edge_kind[e] = edge_crosswalk if crossed else edge_sidewalk
                    edge_junction[e] = jid[j, i] if crossed else -1
                    e += 1
                if crossed:
                    along = half[0] if d % 2 == 1 else half[1]
                    crosswalk_centre[k, 0] = xs[i] + along * corner_directions[d, 0]
                    crosswalk_centre[k, 1] = ys[j] + along * corner_directions[d, 1]
                    crosswalk_along[k, 0] = corner_directions[d, 0]
                    crosswalk_along[k, 1] = corner_directions[d, 1]
                    crosswalk_half_width[k] = hw_row[j] if d % 2 == 0 else hw_col[i]
                    k += 1
    s = 0
    mid = 4 * count
    for j in range(n):
        for i in range(n):
            for d in range(2):
                if not arms[j, i, d]:
                    continue
                j2, i2 = j + d, i + 1 - d
                for w in range(2):
                    here = corner_id[j, i, side_corners[d, w, 0]]
                    there = corner_id[j2, i2, side_corners[d, w, 1]]
                    for q in range(2):
                        node_xy[mid + 2 * s + w, q] = 0.5 * (node_xy[here, q] + node_xy[there, q])
                    m = mid + 2 * s + w
                    edge_a[e], edge_b[e] = here, m
                    edge_a[e + 1], edge_b[e + 1] = m, there
                    edge_kind[e] = edge_kind[e + 1] = edge_sidewalk
                    edge_junction[e] = edge_junction[e + 1] = -1
                    e += 2
                edge_a[e], edge_b[e] = mid + 2 * s, mid + 2 * s + 1
                edge_kind[e], edge_junction[e] = edge_jaywalk, -1
                e += 1
                s += 1
    nodes = len(node_xy)
    neighbours = np.full((nodes, max_degree), -1, dtype=np.int64)
    kind = np.zeros((nodes, max_degree), dtype=np.int64)
    junction = np.full((nodes, max_degree), -1, dtype=np.int64)
    used = np.zeros(nodes, dtype=np.int64)
    ok = True
    for x in range(e):  # each edge a -> b, then b -> a, slotted in that order
        for source, target in ((edge_a[x], edge_b[x]), (edge_b[x], edge_a[x])):
            slot = used[source]
            used[source] += 1
            if slot >= max_degree:
                ok = False
                continue
            neighbours[source, slot] = target
            kind[source, slot] = edge_kind[x]
            junction[source, slot] = edge_junction[x]
    half_length = np.full(crossings, half_crosswalk_m)
    return (
        ok,
        node_xy,
        neighbours,
        kind,
        junction,
        crosswalk_centre,
        crosswalk_along,
        half_length,
        crosswalk_half_width,
    )
