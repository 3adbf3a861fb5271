"""Procedural towns: an irregular street grid described as a lane graph.

Junctions sit on a grid with jittered spacing; a seeded share of the street segments is
removed where that leaves no dead end and keeps every lane reachable from every other
(checked on the lane graph itself, so routes and NPC wanderings never get stuck). Every
grid line is a two-way street of 1 or 2 lanes each way, driven on the right. Turns
through a junction are connector lanes of the graph, so the planner, the NPCs and the
labels all read the same structure. Junctions with 3 or more arms get traffic lights or
all-way stop signs; plain bends get neither. At a light, opposing approaches share a
phase (east-west, then north-south), so a left turn there is permissive: it yields to
oncoming traffic (see ``roadgym.envs.town.traffic.left_turn_yield``), and it turns into
the nearest lane of the crossing street, so opposing left turns pass each other.
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np

from roadgym.envs.core.lane_graph import LaneGraph
from roadgym.envs.town.config import TownConfig
from roadgym.envs.town.lanes import (
    LaneTable,
    max_curvature,
    pad_rows,
    resample_curves,
    resample_segments,
    turn_curves,
)
from roadgym.envs.town.sidewalks import CORNER_FRACTION, SidewalkNetwork, build_sidewalks

LANE_SPACING_M = 1.0  # road lanes are resampled at about this spacing
CONNECTOR_SPACING_M = 0.5  # turns are sampled finer: they bend sharply
STOP_LINE_MARGIN_M = 1.0  # between the crosswalk and the stop line
# Arm directions in the order E, N, W, S (counter-clockwise).
DIRECTIONS = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]])
CONTROL_NONE, CONTROL_LIGHT, CONTROL_STOP = 0, 1, 2
TURN_LEFT, TURN_STRAIGHT, TURN_RIGHT = -1, 0, 1
MAX_ATTEMPTS = 50


@dataclasses.dataclass
class TownMap:
    """A generated town: its lane graph plus what the lane graph's lanes are for.

    Arrays indexed by lane (L,), junction (J,) or approach (Q,) (an approach is one
    incoming arm of a controlled junction; its lanes share one light or stop sign).
    """

    lanes: LaneTable  # every lane's centreline, length, speed limit and successors
    lane_is_connector: np.ndarray  # (L,) bool: a turn or crossing inside a junction
    lane_junction: np.ndarray  # (L,) junction a connector crosses / a road lane ends at
    lane_turn: np.ndarray  # (L,) TURN_LEFT / TURN_STRAIGHT / TURN_RIGHT (road lanes: 0)
    lane_approach: np.ndarray  # (L,) approach a road lane ends in, -1 at plain bends
    lane_from_approach: np.ndarray  # (L,) approach a connector starts from, else -1
    junction_xy: np.ndarray  # (J, 2) junction centres (m)
    junction_half_size_m: np.ndarray  # (J, 2) half extent of the junction box in x, y
    junction_degree: np.ndarray  # (J,) number of arms
    junction_control: np.ndarray  # (J,) CONTROL_NONE / CONTROL_LIGHT / CONTROL_STOP
    junction_phase_offset: np.ndarray  # (J,) light cycle offset as a fraction of a cycle
    approach_junction: np.ndarray  # (Q,)
    approach_slot: np.ndarray  # (Q,) its phase: 0 east-west arms, 1 north-south arms
    approach_opposite: np.ndarray  # (Q,) the approach facing it (same phase), else -1
    approach_stop_line: np.ndarray  # (Q, 2, 2) stop line end points, across its lanes
    streets: list[tuple[np.ndarray, np.ndarray, float]]  # (start, end, half width m)
    markings: list[tuple[np.ndarray, bool]]  # (polyline (M, 2), dashed) lane markings
    sidewalks: SidewalkNetwork
    sidewalk_width_m: float
    extent_m: np.ndarray  # (4,) xmin, ymin, xmax, ymax of everything drawn

    @property
    def num_approaches(self) -> int:
        return len(self.approach_junction)

    @property
    def lane_graph(self) -> LaneGraph:
        """The lanes as :class:`Lane` objects (built on first use; the step reads ``lanes``)."""
        return self.lanes.graph


class TownGenerationError(RuntimeError):
    """No valid town was found within the attempt budget."""


def max_town_extent_m(config: TownConfig) -> float:
    """Largest side of a town's bounding box (m); sizes the map raster."""
    outer = 2 * (2 * config.lane_width_m + config.sidewalk_width_m) + 4.0
    return (config.grid_size - 1) * config.block_max_m + outer


def generate_town(rng: np.random.Generator, config: TownConfig) -> TownMap:
    """Draw a town from ``rng``: a pure function of the generator's state and ``config``."""
    for _ in range(MAX_ATTEMPTS):
        town = _attempt(rng, config)
        if town is not None:
            return town
    raise TownGenerationError(
        f"no strongly connected town in {MAX_ATTEMPTS} attempts for grid_size="
        f"{config.grid_size}, street_removal_fraction={config.street_removal_fraction}, "
        f"two_lane_fraction={config.two_lane_fraction}, block_min_m={config.block_min_m}, "
        f"block_max_m={config.block_max_m}; allowed: the documented ranges of these fields "
        "(report the values if they are inside them)"
    )


def _attempt(rng: np.random.Generator, config: TownConfig) -> TownMap | None:
    n = config.grid_size
    xs = np.concatenate(
        [[0.0], np.cumsum(rng.uniform(config.block_min_m, config.block_max_m, n - 1))]
    )
    ys = np.concatenate(
        [[0.0], np.cumsum(rng.uniform(config.block_min_m, config.block_max_m, n - 1))]
    )
    lanes_col = np.where(rng.random(n) < config.two_lane_fraction, 2, 1)  # vertical lines
    lanes_row = np.where(rng.random(n) < config.two_lane_fraction, 2, 1)  # horizontal lines
    if (lanes_col == 2).all() and (lanes_row == 2).all():
        # The lane graph has no lane changes, and at a controlled junction the inner lane
        # turns left and the outer one right: with two lanes everywhere no inner lane would
        # ever reach an outer one (every such town was rejected). One vertical and one
        # horizontal line, drawn at random, keep one lane each way.
        lanes_col[int(rng.integers(n))] = 1
        lanes_row[int(rng.integers(n))] = 1
    # arms[j, i, d]: the street from junction (i, j) in direction d exists.
    arms = np.zeros((n, n, 4), dtype=bool)
    arms[:, :-1, 0] = arms[:, 1:, 2] = True
    arms[:-1, :, 1] = arms[1:, :, 3] = True
    edges = [(i, j, 0) for j in range(n) for i in range(n - 1)]
    edges += [(i, j, 1) for j in range(n - 1) for i in range(n)]
    target = int(round(config.street_removal_fraction * len(edges)))
    removed = 0
    for k in rng.permutation(len(edges)):
        if removed >= target:
            break
        i, j, d = edges[k]
        i2, j2 = i + int(DIRECTIONS[d, 0]), j + int(DIRECTIONS[d, 1])
        if arms[j, i].sum() <= 2 or arms[j2, i2].sum() <= 2:
            continue  # removing it would leave a dead end
        arms[j, i, d] = arms[j2, i2, d + 2] = False
        if _arms_strongly_connected(arms):
            removed += 1
        else:
            arms[j, i, d] = arms[j2, i2, d + 2] = True
    town = _build(rng, config, xs, ys, lanes_col, lanes_row, arms)
    return town if _lanes_strongly_connected(town.lanes.successors) else None


def _arms_strongly_connected(arms: np.ndarray) -> bool:
    """Can every directed street be reached from every other without U-turns?"""
    present = arms.reshape(-1).tolist()  # flat (j, i, d) order: (j * n + i) * 4 + d
    forward, backward = _street_links(arms.shape[0])
    first = present.index(True)
    return _reaches_present(forward, present, first) and _reaches_present(backward, present, first)


@functools.cache
def _street_links(n: int) -> tuple[list[list[int]], list[list[int]]]:
    """For every directed street (flat index) of an n x n grid, the streets that may follow
    it and those it may follow (no U-turns), whether or not they exist in a town."""
    forward: list[list[int]] = [[] for _ in range(n * n * 4)]
    backward: list[list[int]] = [[] for _ in range(n * n * 4)]
    for j in range(n):
        for i in range(n):
            for d in range(4):
                i2, j2 = i + int(DIRECTIONS[d, 0]), j + int(DIRECTIONS[d, 1])
                if not (0 <= i2 < n and 0 <= j2 < n):
                    continue
                for d2 in range(4):
                    if d2 != (d + 2) % 4:
                        here, there = (j * n + i) * 4 + d, (j2 * n + i2) * 4 + d2
                        forward[here].append(there)
                        backward[there].append(here)
    return forward, backward


def _reaches_present(links: list[list[int]], present: list[bool], start: int) -> bool:
    """Whether every present street is reached from ``start`` along present streets."""
    seen = {start}
    stack = [start]
    while stack:
        for nxt in links[stack.pop()]:
            if present[nxt] and nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return len(seen) == sum(present)


def _reaches_all(adjacency: list[list[int]]) -> bool:
    seen = {0}
    stack = [0]
    while stack:
        for nxt in adjacency[stack.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return len(seen) == len(adjacency)


def _lanes_strongly_connected(successors: list[list[int]]) -> bool:
    backward: list[list[int]] = [[] for _ in successors]
    for lane, following in enumerate(successors):
        for succ in following:
            backward[succ].append(lane)
    return _reaches_all(successors) and _reaches_all(backward)


def _lane_table(config, road_xy, road_count, straight, curved, successors) -> LaneTable:
    """Resample the connectors and join them after the street lanes (lane order kept)."""
    num_road = len(road_count)
    num_connectors = len(straight) + len(curved)
    limits = np.full(num_road + num_connectors, float(config.speed_limit_mps))
    pieces = [(road_xy, road_count)]
    if num_connectors:
        blocks = []
        if straight:
            ids = np.array([k for k, _, _ in straight])
            xy, count = resample_segments(
                np.array([p for _, p, _ in straight]),
                np.array([q for _, _, q in straight]),
                CONNECTOR_SPACING_M,
            )
            blocks.append((ids, xy, count))
        if curved:
            ids = np.array([k for k, *_ in curved])
            p0, u0, p1, u1 = (np.array([c[m] for c in curved]) for m in range(1, 5))
            curves = turn_curves(p0, u0, p1, u1)
            kappa = max_curvature(curves)
            limits[ids] = np.minimum(
                config.speed_limit_mps,
                np.sqrt(config.turn_lateral_accel_mps2 / np.maximum(kappa, 1e-6)),
            )
            xy, count = resample_curves(curves, CONNECTOR_SPACING_M)
            blocks.append((ids, xy, count))
        width = max(xy.shape[1] for _, xy, _ in blocks)
        xy = np.zeros((num_connectors, width, 2))
        count = np.zeros(num_connectors, dtype=np.int64)
        for ids, block, block_count in blocks:
            xy[ids - num_road] = pad_rows(block, width)
            count[ids - num_road] = block_count
        pieces.append((xy, count))
    for following in successors:  # neighbours: road lanes of one side are built inner first
        following.sort()
    return LaneTable.from_pieces(pieces, limits, successors, float(config.lane_width_m))


def _build(rng, config, xs, ys, lanes_col, lanes_row, arms) -> TownMap:
    n = config.grid_size
    lw, sw, cw = config.lane_width_m, config.sidewalk_width_m, config.crosswalk_width_m
    hw_col, hw_row = lanes_col * lw, lanes_row * lw  # half widths of vertical / horizontal
    degree = arms.sum(axis=2)  # (n, n)
    exists = degree > 0
    jid = -np.ones((n, n), dtype=np.int64)
    jid[exists] = np.arange(int(exists.sum()))
    junction_ij = np.argwhere(exists)[:, ::-1]  # (J, 2) as (i, j)
    controlled = degree >= 3
    is_light = rng.random((n, n)) < config.traffic_light_fraction
    control = np.where(controlled, np.where(is_light, CONTROL_LIGHT, CONTROL_STOP), CONTROL_NONE)
    phase_offset = rng.random((n, n))

    def lanes_of(i: int, j: int, d: int) -> int:
        return int(lanes_row[j] if d % 2 == 0 else lanes_col[i])

    def setback(i: int, j: int, d: int) -> float:
        """Distance from junction (i, j)'s centre to where its arm d's lanes start/end."""
        # Every junction, controlled or a plain bend, keeps its lanes clear of the crossing
        # street and its crosswalk band, which also gives turns a drivable radius.
        perpendicular = float(hw_col[i] if d % 2 == 0 else hw_row[j])
        return perpendicular + CORNER_FRACTION * sw + 0.5 * cw + STOP_LINE_MARGIN_M

    is_connector: list[bool] = []
    from_approach: list[int] = []
    lane_junction: list[int] = []
    lane_turn: list[int] = []
    lane_approach: list[int] = []
    street_lanes: dict[tuple[int, int, int], list[int]] = {}  # (i, j, d) leaving -> ids
    streets, markings = [], []
    approach_junction, approach_slot, approach_stop_line = [], [], []
    approach_of: dict[tuple[int, int, int], int] = {}  # (i, j, d) arm arriving at (i, j)

    # Lane geometry is collected here and resampled in batches below (see lanes.py).
    road_start: list[np.ndarray] = []
    road_end: list[np.ndarray] = []

    def add_lane(connector, junction, turn, approach, source=-1) -> int:
        lane_id = len(is_connector)
        is_connector.append(connector)
        from_approach.append(source)
        lane_junction.append(junction)
        lane_turn.append(turn)
        lane_approach.append(approach)
        return lane_id

    for j in range(n):
        for i in range(n):
            if not controlled[j, i]:
                continue
            for d in range(4):
                if arms[j, i, d]:
                    approach_of[(i, j, d)] = len(approach_junction)
                    approach_junction.append(int(jid[j, i]))
                    # Opposing arms share a phase: a junction with 3 or more arms has
                    # both axes, so every light cycle has exactly two vehicle phases.
                    approach_slot.append(d % 2)
                    u = DIRECTIONS[d]
                    normal = np.array([-u[1], u[0]])  # left of the outward direction
                    centre = np.array([xs[i], ys[j]]) + setback(i, j, d) * u
                    # Arriving traffic drives along -u; its right-hand side is +normal.
                    far = centre + normal * lanes_of(i, j, d) * lw
                    approach_stop_line.append(np.stack([centre, far]))

    # Road lanes: both directions of every street segment.
    for j in range(n):
        for i in range(n):
            for d in (0, 1):
                if not arms[j, i, d]:
                    continue
                i2, j2 = i + int(DIRECTIONS[d, 0]), j + int(DIRECTIONS[d, 1])
                a, b = np.array([xs[i], ys[j]]), np.array([xs[i2], ys[j2]])
                k = lanes_of(i, j, d)
                streets.append((a, b, float(k * lw)))
                for (ia, ja, da), (ib, jb, db), p, q in (
                    ((i, j, d), (i2, j2, d + 2), a, b),
                    ((i2, j2, d + 2), (i, j, d), b, a),
                ):
                    u = (q - p) / np.linalg.norm(q - p)
                    normal = np.array([-u[1], u[0]])
                    start = p + setback(ia, ja, da) * u
                    end = q - setback(ib, jb, db) * u
                    ids = []
                    for lane_k in range(k):
                        off = -(lane_k + 0.5) * lw * normal
                        ids.append(
                            add_lane(
                                False,
                                int(jid[jb, ib]),
                                TURN_STRAIGHT,
                                approach_of.get((ib, jb, db), -1),
                            )
                        )
                        road_start.append(start + off)
                        road_end.append(end + off)
                    street_lanes[(ia, ja, da)] = ids
                    if k == 2:
                        markings.append((np.stack([start - lw * normal, end - lw * normal]), True))
                markings.append(
                    (
                        np.stack(
                            [
                                a + setback(i, j, d) * DIRECTIONS[d],
                                b - setback(i2, j2, d + 2) * DIRECTIONS[d],
                            ]
                        ),
                        False,
                    )
                )

    road_xy, road_count = resample_segments(
        np.array(road_start), np.array(road_end), LANE_SPACING_M
    )
    num_road = len(road_start)
    successors: list[list[int]] = [[] for _ in range(num_road)]
    straight: list[tuple[int, np.ndarray, np.ndarray]] = []  # (lane, p0, p1)
    curved: list[tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []

    # Connectors: every movement through every junction except U-turns.
    for j in range(n):
        for i in range(n):
            for d_in in range(4):  # arriving from arm d_in, i.e. travelling along -DIRECTIONS[d_in]
                if not arms[j, i, d_in]:
                    continue
                i0, j0 = i + int(DIRECTIONS[d_in, 0]), j + int(DIRECTIONS[d_in, 1])
                incoming = street_lanes[(i0, j0, (d_in + 2) % 4)]
                for d_out in range(4):
                    if d_out == d_in or not arms[j, i, d_out]:
                        continue
                    outgoing = street_lanes[(i, j, d_out)]
                    u0, u1 = -DIRECTIONS[d_in], DIRECTIONS[d_out]
                    cross = u0[0] * u1[1] - u0[1] * u1[0]
                    turn = (
                        TURN_STRAIGHT
                        if abs(cross) < 0.5
                        else (TURN_LEFT if cross > 0 else TURN_RIGHT)
                    )
                    pairs = _lane_pairs(len(incoming), len(outgoing), turn, controlled[j, i])
                    for a_k, b_k in pairs:
                        src, dst = incoming[a_k], outgoing[b_k]
                        p0, p1 = road_xy[src, -1], road_xy[dst, 0]
                        cid = add_lane(
                            True, int(jid[j, i]), turn, -1, approach_of.get((i, j, d_in), -1)
                        )
                        if abs(cross) < 1e-9:  # straight on
                            straight.append((cid, p0, p1))
                        else:
                            curved.append((cid, p0, u0, p1, u1))
                        successors[src].append(cid)
                        successors.append([dst])

    lane_table = _lane_table(config, road_xy, road_count, straight, curved, successors)
    sidewalks = build_sidewalks(config, xs, ys, hw_col, hw_row, arms, controlled, jid)
    outer = 2 * lw + sw + 2.0
    extent = np.array([xs[0] - outer, ys[0] - outer, xs[-1] + outer, ys[-1] + outer])
    half_size = np.stack([hw_col[junction_ij[:, 0]], hw_row[junction_ij[:, 1]]], axis=1)
    ii, jj = junction_ij[:, 0], junction_ij[:, 1]
    return TownMap(
        lanes=lane_table,
        lane_is_connector=np.array(is_connector),
        lane_junction=np.array(lane_junction, dtype=np.int64),
        lane_turn=np.array(lane_turn, dtype=np.int64),
        lane_approach=np.array(lane_approach, dtype=np.int64),
        lane_from_approach=np.array(from_approach, dtype=np.int64),
        junction_xy=np.stack([xs[ii], ys[jj]], axis=1),
        junction_half_size_m=half_size.astype(np.float64),
        junction_degree=degree[jj, ii],
        junction_control=control[jj, ii],
        junction_phase_offset=phase_offset[jj, ii],
        approach_junction=np.array(approach_junction, dtype=np.int64).reshape(-1),
        approach_slot=np.array(approach_slot, dtype=np.int64).reshape(-1),
        approach_opposite=np.array(
            [approach_of.get((ii_, jj_, (d + 2) % 4), -1) for ii_, jj_, d in approach_of],
            dtype=np.int64,
        ).reshape(-1),
        approach_stop_line=np.array(approach_stop_line).reshape(-1, 2, 2),
        streets=streets,
        markings=markings,
        sidewalks=sidewalks,
        sidewalk_width_m=float(sw),
        extent_m=extent,
    )


def u_of(d: int) -> np.ndarray:
    return DIRECTIONS[d]


def _lane_pairs(k_in: int, k_out: int, turn: int, controlled: bool) -> list[tuple[int, int]]:
    """Which incoming lane feeds which outgoing lane for one movement.

    Straight on keeps the lane (a grid line keeps its lane count). At a junction the
    inner lane turns left into the nearest (inner) outgoing lane, so that two opposing
    left turns on a shared green pass each other; the outer lane turns right into every
    outgoing lane. At a plain bend every lane carries on into the matching lane (merging
    when fewer).
    """
    if not controlled or turn == TURN_STRAIGHT:
        if k_out >= k_in:  # the outermost lane also feeds any extra outgoing lane
            return [(min(k, k_in - 1), k) for k in range(k_out)]
        return [(k, min(k, k_out - 1)) for k in range(k_in)]
    if turn == TURN_LEFT:
        return [(0, 0)]
    return [(k_in - 1, k) for k in range(k_out)]
