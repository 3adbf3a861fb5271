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
from collections.abc import Callable

import numpy as np

from roadgym.envs.core import kernels
from roadgym.envs.core.lane_graph import LaneGraph
from roadgym.envs.town.config import TownConfig
from roadgym.envs.town.lanes import (
    BERNSTEIN,
    LaneTable,
    curve_segments,
    max_curvature,
    pad_rows,
    resample_curves,
    resample_segments,
    turn_curves,
)
from roadgym.envs.town.layout import (
    CONTROL_LIGHT,
    CONTROL_NONE,
    CONTROL_STOP,
    DIRECTIONS,
    TURN_LEFT,
    TURN_RIGHT,
    TURN_STRAIGHT,
    GridArms,
    Turns,
    approaches,
    junction_turns,
    street_lanes,
)
from roadgym.envs.town.sidewalks import SidewalkNetwork, build_sidewalks

__all__ = [  # the grid's constants live in layout.py; importers read them here
    "CONTROL_LIGHT",
    "CONTROL_NONE",
    "CONTROL_STOP",
    "DIRECTIONS",
    "TURN_LEFT",
    "TURN_RIGHT",
    "TURN_STRAIGHT",
    "TownGenerationError",
    "TownMap",
    "generate_town",
    "max_town_extent_m",
]

LANE_SPACING_M = 1.0  # road lanes are resampled at about this spacing
CONNECTOR_SPACING_M = 0.5  # turns are sampled finer: they bend sharply
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
    street_start: np.ndarray  # (S, 2) street centre lines, junction centre to centre (m)
    street_end: np.ndarray  # (S, 2)
    street_half_width_m: np.ndarray  # (S,)
    marking_xy: np.ndarray  # (M, 2, 2) lane markings as line pieces
    marking_dashed: np.ndarray  # (M,) dashed (between same-way lanes), else solid
    sidewalks: SidewalkNetwork
    sidewalk_width_m: float
    extent_m: np.ndarray  # (4,) xmin, ymin, xmax, ymax of everything drawn

    @property
    def num_approaches(self) -> int:
        return len(self.approach_junction)

    @property
    def streets(self) -> list[tuple[np.ndarray, np.ndarray, float]]:
        """Every street as ``(start (2,), end (2,), half width m)``."""
        return [
            (a, b, float(h))
            for a, b, h in zip(
                self.street_start, self.street_end, self.street_half_width_m, strict=True
            )
        ]

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
    # The same as bit sets while streets are removed: bit j * n + i of present[d].
    present = _arm_bits(arms)
    degree = arms.sum(axis=2).reshape(-1).tolist()  # [j * n + i]
    edges = _grid_edges(n)
    target = int(round(config.street_removal_fraction * len(edges)))
    removed = 0
    connected = _arms_connectivity_check(n)
    for k in rng.permutation(len(edges)).tolist():
        if removed >= target:
            break
        here, there, d = edges[k]
        if degree[here] <= 2 or degree[there] <= 2:
            continue  # removing it would leave a dead end
        before = list(present)
        present[d] &= ~(1 << here)
        present[d + 2] &= ~(1 << there)
        if connected(present, n):
            removed += 1
            degree[here] -= 1
            degree[there] -= 1
        else:
            present = before
    arms = _arms_of_bits(present, n)
    town = _build(rng, config, xs, ys, lanes_col, lanes_row, arms)
    if kernels.use_numba():
        from roadgym.envs.town.kernels.lane_search import strongly_connected

        return town if strongly_connected(*town.lanes.successor_table()) else None
    return town if _lanes_strongly_connected(town.lanes.successors) else None


@functools.cache
def _grid_edges(n: int) -> list[tuple[int, int, int]]:
    """The street segments of an n x n grid as (junction, next junction, arm) with junctions
    flat (j * n + i): first the east-going rows, then the north-going columns."""
    edges = [(j * n + i, j * n + i + 1, 0) for j in range(n) for i in range(n - 1)]
    return edges + [(j * n + i, (j + 1) * n + i, 1) for j in range(n - 1) for i in range(n)]


def _arm_bits(arms: np.ndarray) -> list[int]:
    """``arms`` (n, n, 4) as four bit sets, one per direction d: bit j * n + i is arm d of
    junction (i, j)."""
    weights = [1 << p for p in range(arms.shape[0] * arms.shape[1])]
    flat = arms.reshape(-1, 4).T.tolist()  # (4, n * n)
    return [sum(w for w, a in zip(weights, row, strict=True) if a) for row in flat]


def _arms_of_bits(present: list[int], n: int) -> np.ndarray:
    """:func:`_arm_bits` undone: the (n, n, 4) bool array."""
    size = (n * n + 7) // 8
    rows = [np.frombuffer(bits.to_bytes(size, "little"), np.uint8) for bits in present]
    flat = np.unpackbits(np.stack(rows), axis=1, bitorder="little")[:, : n * n]  # (4, n * n)
    return flat.T.reshape(n, n, 4).astype(bool)


def _arms_connectivity_check(n: int) -> Callable[[list[int], int], bool]:
    """:func:`_arms_strongly_connected`, by a numba kernel when the grid's bit sets fit
    in 64-bit integers with room for a shift (n <= 7)."""
    if n > 7 or not kernels.use_numba():
        return _arms_strongly_connected
    from roadgym.envs.town.kernels.lane_search import arms_strongly_connected

    return lambda present, size: arms_strongly_connected(*present, size)


def _arms_strongly_connected(present: list[int], n: int) -> bool:
    """Can every directed street be reached from every other without U-turns?

    ``present[d]``: the junctions with a street leaving in direction d, as a bit set (bit
    j * n + i). A breadth-first search over all four directions at once: the streets
    reached so far, moved one junction along their direction (a shift of the bit set),
    are the junctions reached, and every street leaving those (no U-turn) is reached
    next. A street exists only towards a neighbour in the grid, so a shift never wraps
    into another row unnoticed: the bits are masked with ``present``.
    """
    total = sum(bits.bit_count() for bits in present)
    first = next(d for d in range(4) if present[d])
    start = [0, 0, 0, 0]
    start[first] = present[first] & -present[first]  # its lowest junction
    return (
        _reached(present, n, start, forward=True) == total
        and _reached(present, n, start, forward=False) == total
    )


def _reached(present: list[int], n: int, start: list[int], forward: bool) -> int:
    """How many streets are reached from ``start`` (bit sets per direction, as
    ``present``), following streets (``forward``) or going back along them."""
    e, no, w, s = start  # the streets reached last, leaving east, north, west, south
    # the streets not reached yet
    u0, u1, u2, u3 = (bits & ~first for bits, first in zip(present, start, strict=True))
    while e | no | w | s:
        if forward:  # the junctions reached, by the direction of arrival
            e, no, w, s = e << 1, no << n, w >> 1, s >> n
            e, no, w, s = (e | no | s) & u0, (e | no | w) & u1, (no | w | s) & u2, (e | w | s) & u3
        else:  # the streets whose end leads on to a street reached (no U-turn)
            e, no, w, s = (
                ((e | no | s) >> 1) & u0,
                ((e | no | w) >> n) & u1,
                ((no | w | s) << 1) & u2,
                ((e | w | s) << n) & u3,
            )
        u0, u1, u2, u3 = u0 ^ e, u1 ^ no, u2 ^ w, u3 ^ s
    unreached = u0.bit_count() + u1.bit_count() + u2.bit_count() + u3.bit_count()
    return sum(bits.bit_count() for bits in present) - unreached


def _reaches_all(adjacency: list[list[int]]) -> bool:
    seen = bytearray(len(adjacency))
    seen[0] = 1
    stack = [0]
    reached = 1
    while stack:
        for nxt in adjacency[stack.pop()]:
            if not seen[nxt]:
                seen[nxt] = 1
                reached += 1
                stack.append(nxt)
    return reached == len(adjacency)


def _lanes_strongly_connected(successors: list[list[int]]) -> bool:
    backward: list[list[int]] = [[] for _ in successors]
    for lane, following in enumerate(successors):
        for succ in following:
            backward[succ].append(lane)
    return _reaches_all(successors) and _reaches_all(backward)


def _successor_lists(num_road: int, turns: Turns) -> list[list[int]]:
    """Each street lane's connectors (ascending ids), then each connector's street lane."""
    order = np.argsort(turns.source, kind="stable")  # connector ids ascend within a lane
    flat = (order + num_road).tolist()
    ends = np.cumsum(np.bincount(turns.source, minlength=num_road)).tolist()
    lists = [flat[lo:hi] for lo, hi in zip([0, *ends[:-1]], ends, strict=True)]
    return lists + [[target] for target in turns.target.tolist()]


def _lane_table(config, road_xy, road_count, turns: Turns) -> LaneTable:
    """Resample the connectors and join them after the street lanes (lane order kept)."""
    num_road = len(road_count)
    num_connectors = len(turns.source)
    if num_connectors and kernels.use_numba():
        return _lane_table_kernels(config, road_xy, road_count, turns)
    limits = np.full(num_road + num_connectors, float(config.speed_limit_mps))
    pieces = [(road_xy, road_count)]
    if num_connectors:
        start, end = road_xy[turns.source, -1], road_xy[turns.target, 0]
        straight = turns.turn == TURN_STRAIGHT
        blocks = []
        if straight.any():
            ids = np.flatnonzero(straight)
            xy, count = resample_segments(start[ids], end[ids], CONNECTOR_SPACING_M)
            blocks.append((ids, xy, count))
        if not straight.all():
            ids = np.flatnonzero(~straight)
            curves = turn_curves(
                start[ids], turns.heading_in[ids], end[ids], turns.heading_out[ids]
            )
            segments = curve_segments(curves)
            kappa = max_curvature(curves, segments)
            limits[ids + num_road] = np.minimum(
                config.speed_limit_mps,
                np.sqrt(config.turn_lateral_accel_mps2 / np.maximum(kappa, 1e-6)),
            )
            xy, count = resample_curves(curves, CONNECTOR_SPACING_M, segments)
            blocks.append((ids, xy, count))
        width = max(xy.shape[1] for _, xy, _ in blocks)
        xy = np.zeros((num_connectors, width, 2))
        count = np.zeros(num_connectors, dtype=np.int64)
        for ids, block, block_count in blocks:
            xy[ids] = pad_rows(block, width)
            count[ids] = block_count
        pieces.append((xy, count))
    successors = _successor_lists(num_road, turns)
    return LaneTable.from_pieces(pieces, limits, successors, float(config.lane_width_m))


def _lane_table_kernels(config, road_xy, road_count, turns: Turns) -> LaneTable:
    """:func:`_lane_table` by the numba kernels of
    :mod:`roadgym.envs.town.kernels.lane_table`: the same table, bit for bit."""
    from roadgym.envs.town.kernels import lane_table as kernel

    straight = turns.turn == TURN_STRAIGHT
    straight_ids, curve_ids = np.flatnonzero(straight), np.flatnonzero(~straight)
    start, end, curves, dx, dy = kernel.connector_curves(
        road_xy,
        turns.source,
        turns.target,
        turns.heading_in,
        turns.heading_out,
        curve_ids,
        BERNSTEIN,
    )
    direction = end[straight_ids] - start[straight_ids]
    xy, count, limits, seg_x, seg_y, heading, step, general = kernel.resample_lanes(
        road_xy,
        road_count,
        start,
        end,
        straight_ids,
        np.hypot(direction[:, 0], direction[:, 1]),
        curve_ids,
        curves,
        np.hypot(dx, dy),
        np.arctan2(dy, dx),
        CONNECTOR_SPACING_M,
        float(config.speed_limit_mps),
        float(config.turn_lateral_accel_mps2),
    )
    # LaneTable.from_pieces's headings and arc lengths of the segments not along an axis.
    np.arctan2(seg_y, seg_x, out=heading[:, :-1], where=general)
    np.hypot(seg_x, seg_y, out=step, where=general)
    cum_s, length = kernel.arc_lengths(heading, step, count)
    return LaneTable(
        xy=xy,
        num_segments=count,
        heading=heading,
        length_m=length,
        cum_s=cum_s,
        speed_limit_mps=limits,
        successors=_successor_lists(len(road_count), turns),
        width_m=float(config.lane_width_m),
    )


def _build(rng, config, xs, ys, lanes_col, lanes_row, arms) -> TownMap:
    n = config.grid_size
    lw, sw = config.lane_width_m, config.sidewalk_width_m
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

    grid = GridArms.of_grid(config, xs, ys, lanes_col, lanes_row)
    approach = approaches(grid, arms, controlled, jid, lw)
    road = street_lanes(grid, arms, jid, approach.id_of, lw)
    turns = junction_turns(grid, arms, controlled, jid, approach.id_of, road.first_lane)
    road_xy, road_count = resample_segments(road.start, road.end, LANE_SPACING_M)
    num_road, num_connectors = len(road.start), len(turns.source)
    lane_table = _lane_table(config, road_xy, road_count, turns)
    sidewalks = build_sidewalks(config, xs, ys, hw_col, hw_row, arms, controlled, jid)
    outer = 2 * lw + sw + 2.0
    extent = np.array([xs[0] - outer, ys[0] - outer, xs[-1] + outer, ys[-1] + outer])
    half_size = np.stack([hw_col[junction_ij[:, 0]], hw_row[junction_ij[:, 1]]], axis=1)
    ii, jj = junction_ij[:, 0], junction_ij[:, 1]
    none = np.full(num_road, -1, dtype=np.int64)
    return TownMap(
        lanes=lane_table,
        lane_is_connector=np.arange(num_road + num_connectors) >= num_road,
        lane_junction=np.concatenate([road.junction, turns.junction]),
        lane_turn=np.concatenate([np.full(num_road, TURN_STRAIGHT), turns.turn]),
        lane_approach=np.concatenate([road.approach, np.full(num_connectors, -1)]),
        lane_from_approach=np.concatenate([none, turns.from_approach]),
        junction_xy=np.stack([xs[ii], ys[jj]], axis=1),
        junction_half_size_m=half_size.astype(np.float64),
        junction_degree=degree[jj, ii],
        junction_control=control[jj, ii],
        junction_phase_offset=phase_offset[jj, ii],
        approach_junction=approach.junction,
        approach_slot=approach.slot,
        approach_opposite=approach.opposite,
        approach_stop_line=approach.stop_line,
        street_start=road.street_start,
        street_end=road.street_end,
        street_half_width_m=road.street_half_width_m,
        marking_xy=road.marking_xy,
        marking_dashed=road.marking_dashed,
        sidewalks=sidewalks,
        sidewalk_width_m=float(sw),
        extent_m=extent,
    )
