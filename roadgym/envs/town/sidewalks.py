"""The pedestrian network of a town: sidewalk corners, crosswalks and jaywalking spots.

Pedestrians walk a graph whose nodes are the four sidewalk corners of every junction and
the midpoints of every block side; its edges are sidewalks, crosswalks (across each arm
of a controlled junction, bound to that junction's walk signal) and jaywalk crossings
(mid-block, between facing midpoints). Every node has at most four edges, so the graph
is a fixed-width table that the batched step can gather from.
"""

from __future__ import annotations

import dataclasses

import numpy as np

EDGE_SIDEWALK, EDGE_CROSSWALK, EDGE_JAYWALK = 0, 1, 2
MAX_DEGREE = 4
# Corners (and so crosswalks) sit this share of a sidewalk's width back from the kerb:
# people waiting to cross stand clear of cars turning close to the kerb.
CORNER_FRACTION = 0.7
# Corner c of a junction sits at (sx, sy) * (half widths + half a sidewalk): NE, NW, SW, SE.
CORNER_SIGNS = np.array([[1.0, 1.0], [-1.0, 1.0], [-1.0, -1.0], [1.0, -1.0]])


@dataclasses.dataclass
class SidewalkNetwork:
    """The pedestrian graph (N nodes) and the crosswalk rectangles to draw."""

    node_xy: np.ndarray  # (N, 2)
    neighbours: np.ndarray  # (N, MAX_DEGREE) node ids, -1 where absent
    edge_kind: np.ndarray  # (N, MAX_DEGREE) EDGE_SIDEWALK / EDGE_CROSSWALK / EDGE_JAYWALK
    edge_junction: np.ndarray  # (N, MAX_DEGREE) junction of a crosswalk, else -1
    # Crosswalks as (centre (2,), along-the-road unit vector (2,), half length, half width).
    crosswalks: list[tuple[np.ndarray, np.ndarray, float, float]]

    def __len__(self) -> int:
        return len(self.node_xy)


def build_sidewalks(config, xs, ys, hw_col, hw_row, arms, controlled, jid) -> SidewalkNetwork:
    """The pedestrian graph of a street grid (see ``generator._build`` for the arguments)."""
    n = len(xs)
    sw, cw = config.sidewalk_width_m, config.crosswalk_width_m
    nodes: list[np.ndarray] = []
    edges: list[tuple[int, int, int, int]] = []  # (a, b, kind, junction)
    corner_id = -np.ones((n, n, 4), dtype=np.int64)
    crosswalks = []
    for j in range(n):
        for i in range(n):
            if not arms[j, i].any():
                continue
            half = np.array([hw_col[i], hw_row[j]]) + CORNER_FRACTION * sw
            for c in range(4):
                corner_id[j, i, c] = len(nodes)
                nodes.append(np.array([xs[i], ys[j]]) + CORNER_SIGNS[c] * half)
            for d in range(4):
                a, b = corner_id[j, i, (d + 3) % 4], corner_id[j, i, d]
                if not arms[j, i, d]:
                    edges.append((a, b, EDGE_SIDEWALK, -1))  # walk round the missing arm
                elif controlled[j, i]:
                    edges.append((a, b, EDGE_CROSSWALK, int(jid[j, i])))
                    u = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]])[d]
                    along = float(half[0] if d % 2 == 1 else half[1])
                    arm_half_width = float(hw_row[j] if d % 2 == 0 else hw_col[i])
                    centre = np.array([xs[i], ys[j]]) + along * u
                    crosswalks.append((centre, u, 0.5 * cw, arm_half_width))
    for j in range(n):
        for i in range(n):
            # Block sides along the street east (d = 0) and north (d = 1) of junction (i, j).
            for d, pairs in ((0, ((0, 1), (3, 2))), (1, ((0, 3), (1, 2)))):
                if not arms[j, i, d]:
                    continue
                i2, j2 = (i + 1, j) if d == 0 else (i, j + 1)
                mids = []
                for c_here, c_there in pairs:
                    a, b = corner_id[j, i, c_here], corner_id[j2, i2, c_there]
                    mid = len(nodes)
                    nodes.append(0.5 * (nodes[a] + nodes[b]))
                    edges += [(a, mid, EDGE_SIDEWALK, -1), (mid, b, EDGE_SIDEWALK, -1)]
                    mids.append(mid)
                edges.append((mids[0], mids[1], EDGE_JAYWALK, -1))
    count = len(nodes)
    neighbours = -np.ones((count, MAX_DEGREE), dtype=np.int64)
    kind = np.zeros((count, MAX_DEGREE), dtype=np.int64)
    junction = -np.ones((count, MAX_DEGREE), dtype=np.int64)
    fill = np.zeros(count, dtype=np.int64)
    for a, b, k, jn in edges:
        for p, q in ((a, b), (b, a)):
            slot = fill[p]
            if slot >= MAX_DEGREE:
                raise RuntimeError(f"sidewalk node {p} has more than {MAX_DEGREE} edges")
            neighbours[p, slot], kind[p, slot], junction[p, slot] = q, k, jn
            fill[p] += 1
    return SidewalkNetwork(np.array(nodes), neighbours, kind, junction, crosswalks)
