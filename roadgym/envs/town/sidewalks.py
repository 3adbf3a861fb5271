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

from roadgym.envs.core import kernels

EDGE_SIDEWALK, EDGE_CROSSWALK, EDGE_JAYWALK = 0, 1, 2
MAX_DEGREE = 4
# Corners (and so crosswalks) sit this share of a sidewalk's width back from the kerb:
# people waiting to cross stand clear of cars turning close to the kerb.
CORNER_FRACTION = 0.7
# Corner c of a junction sits at (sx, sy) * (half widths + half a sidewalk): NE, NW, SW, SE.
CORNER_SIGNS = np.array([[1.0, 1.0], [-1.0, 1.0], [-1.0, -1.0], [1.0, -1.0]])
CORNER_DIRECTIONS = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]])  # arm d: E N W S


@dataclasses.dataclass
class SidewalkNetwork:
    """The pedestrian graph (N nodes) and the crosswalk rectangles to draw (K crosswalks)."""

    node_xy: np.ndarray  # (N, 2)
    neighbours: np.ndarray  # (N, MAX_DEGREE) node ids, -1 where absent
    edge_kind: np.ndarray  # (N, MAX_DEGREE) EDGE_SIDEWALK / EDGE_CROSSWALK / EDGE_JAYWALK
    edge_junction: np.ndarray  # (N, MAX_DEGREE) junction of a crosswalk, else -1
    crosswalk_centre: np.ndarray  # (K, 2) (m)
    crosswalk_along: np.ndarray  # (K, 2) unit vector along the road it crosses
    crosswalk_half_length_m: np.ndarray  # (K,) along the road
    crosswalk_half_width_m: np.ndarray  # (K,) across the road

    def __len__(self) -> int:
        return len(self.node_xy)

    @property
    def crosswalks(self) -> list[tuple[np.ndarray, np.ndarray, float, float]]:
        """Crosswalks as ``(centre (2,), along-the-road unit vector (2,), half length,
        half width)``."""
        return [
            (centre, along, float(half_length), float(half_width))
            for centre, along, half_length, half_width in zip(
                self.crosswalk_centre,
                self.crosswalk_along,
                self.crosswalk_half_length_m,
                self.crosswalk_half_width_m,
                strict=True,
            )
        ]


# Block sides along the street east (d = 0) and north (d = 1) of a junction: the corner
# here and the corner at the next junction that each of its two sidewalks joins.
SIDE_CORNERS = np.array([[[0, 1], [3, 2]], [[0, 3], [1, 2]]])  # [d, sidewalk, here / there]


def build_sidewalks(config, xs, ys, hw_col, hw_row, arms, controlled, jid) -> SidewalkNetwork:
    """The pedestrian graph of a street grid (see ``generator._build`` for the arguments).

    Nodes: the four corners of every junction (grid order), then two midpoints per block
    side. Edges, in order: round each junction (a sidewalk past a missing arm, a crosswalk
    across an arm of a controlled junction), then along each block side (corner, midpoint,
    corner, on both sides of the street) and the jaywalk between the two midpoints.
    """
    sw, cw = config.sidewalk_width_m, config.crosswalk_width_m
    if kernels.use_numba():
        from roadgym.envs.town.kernels.sidewalks import sidewalk_graph

        ok, *graph = sidewalk_graph(
            xs, ys, hw_col, hw_row, arms, controlled, jid, CORNER_FRACTION * sw, 0.5 * cw,
            CORNER_SIGNS, CORNER_DIRECTIONS, SIDE_CORNERS, MAX_DEGREE, EDGE_SIDEWALK,
            EDGE_CROSSWALK, EDGE_JAYWALK,
        )  # fmt: skip
        if ok:  # else the numpy code below raises its error
            return SidewalkNetwork(*graph)
    n = len(xs)
    j, i = np.nonzero(arms.any(axis=2))  # existing junctions, grid order
    count = len(j)
    corner_id = -np.ones((n, n, 4), dtype=np.int64)
    corner_id[j, i] = np.arange(4 * count).reshape(count, 4)
    half = np.stack([hw_col[i], hw_row[j]], axis=-1) + CORNER_FRACTION * sw  # (J, 2)
    centre = np.stack([xs[i], ys[j]], axis=-1)  # (J, 2)
    corners = (centre[:, None, :] + CORNER_SIGNS[None] * half[:, None, :]).reshape(-1, 2)
    # Round each junction: arm d lies between corners (d + 3) % 4 and d.
    arm = arms[j, i]  # (J, 4)
    crossed = arm & controlled[j, i][:, None]
    round_a = corner_id[j, i][:, [3, 0, 1, 2]]
    round_b = corner_id[j, i]
    round_kind = np.where(crossed, EDGE_CROSSWALK, EDGE_SIDEWALK)
    round_junction = np.where(crossed, jid[j, i][:, None], -1)
    walked = ~arm | crossed
    # Crosswalks (K,): across every arm of a controlled junction.
    cj, cd = np.nonzero(crossed)
    along = np.where(cd % 2 == 1, half[cj, 0], half[cj, 1])
    crosswalk_centre = centre[cj] + along[:, None] * CORNER_DIRECTIONS[cd]
    arm_half_width = np.where(cd % 2 == 0, hw_row[j[cj]], hw_col[i[cj]])
    # Block sides: two midpoints each, joined by a jaywalk.
    sj, si, sd = np.nonzero(arms[:, :, :2])
    sj2, si2 = sj + sd, si + 1 - sd
    here = corner_id[sj, si][np.arange(len(sd))[:, None], SIDE_CORNERS[sd, :, 0]]  # (S, 2)
    there = corner_id[sj2, si2][np.arange(len(sd))[:, None], SIDE_CORNERS[sd, :, 1]]
    mids = 4 * count + np.arange(2 * len(sd)).reshape(-1, 2)  # (S, 2)
    mid_xy = (0.5 * (corners[here] + corners[there])).reshape(-1, 2)
    side_a = np.stack([here[:, 0], mids[:, 0], here[:, 1], mids[:, 1], mids[:, 0]], axis=1)
    side_b = np.stack([mids[:, 0], there[:, 0], mids[:, 1], there[:, 1], mids[:, 1]], axis=1)
    side_kind = np.broadcast_to(
        np.array([EDGE_SIDEWALK] * 4 + [EDGE_JAYWALK]), side_a.shape
    ).reshape(-1)
    edge_a = np.concatenate([round_a[walked], side_a.reshape(-1)])
    edge_b = np.concatenate([round_b[walked], side_b.reshape(-1)])
    edge_kind = np.concatenate([round_kind[walked], side_kind])
    edge_junction = np.concatenate([round_junction[walked], np.full(side_kind.shape, -1)])
    node_xy = np.concatenate([corners, mid_xy])
    neighbours, kind, junction = _edge_table(len(node_xy), edge_a, edge_b, edge_kind, edge_junction)
    return SidewalkNetwork(
        node_xy=node_xy,
        neighbours=neighbours,
        edge_kind=kind,
        edge_junction=junction,
        crosswalk_centre=crosswalk_centre,
        crosswalk_along=CORNER_DIRECTIONS[cd],
        crosswalk_half_length_m=np.full(len(cd), 0.5 * cw),
        crosswalk_half_width_m=arm_half_width.astype(np.float64),
    )


def _edge_table(count, edge_a, edge_b, edge_kind, edge_junction) -> tuple:
    """Fixed-width tables (count, MAX_DEGREE) of each node's edges, in edge order (each
    edge a -> b then b -> a): neighbours (-1 where absent), kinds and junctions."""
    source = np.stack([edge_a, edge_b], axis=1).reshape(-1)
    target = np.stack([edge_b, edge_a], axis=1).reshape(-1)
    order = np.argsort(source, kind="stable")
    number = np.bincount(source, minlength=count)
    slot = np.empty(len(source), dtype=np.int64)
    slot[order] = np.arange(len(source)) - np.repeat(np.cumsum(number) - number, number)
    if len(slot) and slot.max() >= MAX_DEGREE:
        node = int(source[np.argmax(slot)])
        raise RuntimeError(f"sidewalk node {node} has more than {MAX_DEGREE} edges")
    neighbours = -np.ones((count, MAX_DEGREE), dtype=np.int64)
    kind = np.zeros((count, MAX_DEGREE), dtype=np.int64)
    junction = -np.ones((count, MAX_DEGREE), dtype=np.int64)
    neighbours[source, slot] = target
    kind[source, slot] = np.repeat(edge_kind, 2)
    junction[source, slot] = np.repeat(edge_junction, 2)
    return neighbours, kind, junction
