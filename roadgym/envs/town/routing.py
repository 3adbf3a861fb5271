"""Route planning: A* over the lane graph, and the route as one polyline with events.

The route is what the ego car must follow: the lanes from a start point to a goal point,
turns included, joined into one polyline so the batched step projects the car onto it
exactly as Track-v0 projects onto its centreline. Stop lines, turns and junction
crossings along it are listed as arc-length events for rewards, the state vector and
labels.
"""

from __future__ import annotations

import dataclasses
import heapq
import math
import warnings
from collections.abc import Callable

import numpy as np

from roadgym.envs.core import kernels
from roadgym.envs.core.lane_graph import LaneGraph, Polyline
from roadgym.envs.town.generator import TownMap

ROUTE_SPACING_M = 0.5


# How far outside the configured range the nearest route may be without a warning.
ROUTE_LENGTH_TOLERANCE_M = 10.0
ROUTE_LENGTH_TOLERANCE_FRACTION = 0.05


class RouteLengthWarning(UserWarning):
    """No route in the configured length range was found; a nearer-range one is used."""


def plan_route(graph: LaneGraph, start_lane: int, goal_lane: int) -> list[int] | None:
    """The shortest lane sequence from ``start_lane`` to ``goal_lane`` (A*), or None.

    Cost is the length of every lane left behind; the heuristic, the straight-line
    distance between lane starts, never overestimates it, so the route is shortest.
    """
    starts = np.array([lane.centreline.vertices[0] for lane in graph.lanes])  # (L, 2)
    lengths = [lane.centreline.length for lane in graph.lanes]
    successors = [lane.successors for lane in graph.lanes]
    return _shortest_lanes(starts, lengths, successors, start_lane, goal_lane)


def _shortest_lanes(
    starts: np.ndarray, lengths, successors: list[list[int]], start_lane: int, goal_lane: int
) -> list[int] | None:
    """A* over lanes given their start points (L, 2), lengths (L,) and successors."""
    heuristic = np.hypot(*(starts - starts[goal_lane]).T).tolist()  # (L,)
    # Flat lists by lane id, not dicts: the same search, a few lookups cheaper.
    best = [math.inf] * len(heuristic)
    best[start_lane] = 0.0
    parent = [-1] * len(heuristic)  # -1: none (the start lane is never improved on)
    frontier = [(float(heuristic[start_lane]), 0.0, start_lane)]
    pop, push = heapq.heappop, heapq.heappush
    while frontier:
        _, cost, lane = pop(frontier)
        if lane == goal_lane:
            path = [lane]
            while parent[path[-1]] >= 0:
                path.append(parent[path[-1]])
            return path[::-1]
        if cost > best[lane]:
            continue
        new_cost = cost + lengths[lane]
        for succ in successors[lane]:
            if new_cost < best[succ]:
                best[succ] = new_cost
                parent[succ] = lane
                push(frontier, (new_cost + heuristic[succ], new_cost, succ))
    return None


def _kernel_search(table) -> Callable:
    """:func:`_shortest_lanes` for ``table``'s lanes by the numba kernel (same routes)."""
    from roadgym.envs.town.kernels.lane_search import shortest_lanes

    successors, number = table.successor_table()
    starts, lengths = table.xy[:, 0], table.length_m

    def search(_starts, _lengths, _successors, start_lane: int, goal_lane: int):
        heuristic = np.hypot(*(starts - starts[goal_lane]).T)  # (L,) as _shortest_lanes
        path = shortest_lanes(heuristic, lengths, successors, number, start_lane, goal_lane)
        return path.tolist() if len(path) else None

    return search


@dataclasses.dataclass
class Route:
    """A planned route: lane sequence, polyline and the events along it (arc lengths m)."""

    lanes: list[int]
    line: Polyline
    segment_lane: np.ndarray  # (M,) lane id of every polyline segment
    stop_s: np.ndarray  # (E,) arc length of each stop line crossed
    stop_approach: np.ndarray  # (E,) its approach id
    connector_start_s: np.ndarray  # (C,) where each junction crossing starts
    connector_end_s: np.ndarray  # (C,)
    connector_turn: np.ndarray  # (C,) TURN_LEFT / TURN_STRAIGHT / TURN_RIGHT
    connector_junction: np.ndarray  # (C,)
    connector_lane: np.ndarray  # (C,) lane id of each junction crossing

    @property
    def length_m(self) -> float:
        return self.line.length


def route_along(town: TownMap, lanes: list[int], start_s: float, goal_s: float) -> Route:
    """Join ``lanes`` from ``start_s`` on the first to ``goal_s`` on the last."""
    table = town.lanes
    ids = np.asarray(lanes, dtype=np.int64)  # (K,)
    count = len(ids)
    lo = np.zeros(count)
    lo[0] = start_s
    hi = table.length_m[ids].copy()
    hi[-1] = goal_s
    # Each lane's piece: its point at lo, its vertices strictly between lo and hi, its
    # point at hi; every piece after the first starts where the previous one ended.
    cum, xy = table.cum_s[ids], table.xy[ids]  # (K, W), (K, W, 2)
    column = np.arange(cum.shape[1])[None, :]
    inner = (
        (column >= 1)
        & (column < table.num_segments[ids][:, None])
        & (cum > lo[:, None])
        & (cum < hi[:, None])
    )
    ends = np.concatenate([lo, hi])
    end_points = table.points_at(np.concatenate([ids, ids]), ends).reshape(2, count, 1, 2)
    points = np.concatenate([end_points[0], xy, end_points[1]], axis=1)  # (K, W + 2, 2)
    keep = np.concatenate([np.arange(count)[:, None] == 0, inner, np.ones((count, 1), bool)], 1)
    vertices = points[keep]
    vertex_lane = np.broadcast_to(ids[:, None], keep.shape)[keep]
    seg_lanes = vertex_lane[1:]  # a segment belongs to the lane of its end vertex
    # Events along the route, at arc lengths summed lane by lane.
    length = hi - lo
    before = np.concatenate([[0.0], np.cumsum(length)[:-1]])
    connector = town.lane_is_connector[ids]
    approach = town.lane_approach[ids]
    stop = ~connector & (approach >= 0) & (np.arange(count) < count - 1)
    # Drop repeated points (a lane starting exactly at start_s), keeping segment lanes aligned.
    step = np.hypot(*np.diff(vertices, axis=0).T)
    keep = np.concatenate([[True], step > 1e-6])
    seg = seg_lanes[keep[1:]]
    raw = Polyline(vertices[keep])  # headings and curvature are never computed for it
    # Even spacing lets the batched step find the point at any arc length by division.
    count = max(int(np.ceil(raw.length / ROUTE_SPACING_M)), 2)
    line = Polyline(raw.point_at(np.linspace(0.0, raw.length, count + 1)))
    middle = (np.arange(count) + 0.5) * raw.length / count
    return Route(
        lanes=list(lanes),
        line=line,
        segment_lane=seg[raw.segment_at(middle)],
        stop_s=before[stop] + length[stop],
        stop_approach=approach[stop],
        connector_start_s=before[connector],
        connector_end_s=before[connector] + length[connector],
        connector_turn=town.lane_turn[ids][connector],
        connector_junction=town.lane_junction[ids][connector],
        connector_lane=ids[connector],
    )


def sample_route(
    rng: np.random.Generator, town: TownMap, min_length_m: float, max_length_m: float
) -> Route:
    """A route between random points of road lanes, as near the length range as found.

    When none of the 40 candidates lies in ``[min_length_m, max_length_m]`` (the town is
    too small or too large for the range), the nearest is used, and when it misses the
    range by more than 10 m (or 5% of ``max_length_m``) a :class:`RouteLengthWarning`
    names the config fields to change.
    """
    table = town.lanes
    road = np.flatnonzero(~town.lane_is_connector)
    lengths = table.length_m
    starts = table.xy[:, 0]
    lane_lengths = lengths.tolist()
    search = _shortest_lanes
    if kernels.use_numba():
        search = _kernel_search(table)
    best: tuple[float, list[int], float, float] | None = None
    for _ in range(40):
        # road[rng.integers(n)] draws as rng.choice(road) does, at a sixth of the cost.
        start = int(road[rng.integers(len(road))])
        goal = int(road[rng.integers(len(road))])
        start_s = float(rng.uniform(0.2, 0.5) * lengths[start])
        goal_s = float(rng.uniform(0.4, 0.8) * lengths[goal])
        lanes = (
            search(starts, lane_lengths, table.successors, start, goal) if start != goal else None
        )
        if lanes is None:
            continue
        length = float(lengths[lanes[:-1]].sum() - start_s + goal_s)
        miss = max(min_length_m - length, length - max_length_m, 0.0)
        if best is None or miss < best[0]:
            best = (miss, lanes, start_s, goal_s)
        if miss == 0.0:
            break
    if best is None:
        raise RuntimeError("no route found in this town")
    miss, lanes, start_s, goal_s = best
    # A near miss (a default town now and then: 2 m in 1 of 1500) is no reason to warn;
    # a range the town cannot hold is.
    if miss > max(ROUTE_LENGTH_TOLERANCE_M, ROUTE_LENGTH_TOLERANCE_FRACTION * max_length_m):
        # One wording per range, so Python shows it once rather than at every reset.
        warnings.warn(
            f"TownConfig.route_length_min_m/route_length_max_m = [{min_length_m}, "
            f"{max_length_m}] m: no route in that range found in this town; using the "
            "nearest length found. Allowed: a range the town can hold (change grid_size, "
            "block_min_m/block_max_m or the route lengths)",
            RouteLengthWarning,
            stacklevel=2,
        )
    return route_along(town, lanes, start_s, goal_s)
