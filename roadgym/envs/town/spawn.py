"""Spawning a world's NPC cars and pedestrians at reset.

Every draw comes from the world's generator in a fixed order, so the actors are a pure
function of the seed. A car's tries are drawn one at a time (a rejected try decides
whether another is drawn), so each try is checked with a few float operations on Python
numbers that repeat the array code's arithmetic exactly (``LaneTable.point_at`` on a
straight street lane), and the box overlap test runs only for cars close enough to touch.
"""

from __future__ import annotations

import bisect

import numpy as np

from roadgym.envs.core import kernels
from roadgym.envs.core.config import ConfigError
from roadgym.envs.town.generator import TownMap
from roadgym.envs.town.sidewalks import EDGE_SIDEWALK
from roadgym.envs.town.state import BIG_STEP, TownState

# Cars further apart than this (centre to centre, m) beyond the sum of their half
# diagonals cannot overlap; the margin keeps rounding far from deciding it.
NEAR_MARGIN_M = 1.0
# A spawn must be this far (m) from every controlled car.
EGO_CLEARANCE_M = 15.0


class SpawnError(ConfigError):
    """The town has no room for the configured actors (a config problem: too many cars)."""


# Random draws per NPC car before a systematic search of the town for a free spot.
SPAWN_TRIES = 100
# Spacing of the systematic search along each lane (m).
SPAWN_SCAN_STEP_M = 1.0


def boxes_overlap(
    xy_a: np.ndarray, heading_a: np.ndarray, xy_b: np.ndarray, heading_b: np.ndarray, cfg
) -> np.ndarray:
    """(A, B) whether car footprints ``a`` (A, 2)/(A,) and ``b`` overlap (separating axes).

    Footprints are the cars' own boxes, not grown: spawns that the same-lane clearance
    already kept apart stay where they were, so default towns are unchanged.
    """
    half_length, half_width = 0.5 * cfg.car_length_m, 0.5 * cfg.car_width_m
    cos_a, sin_a = np.cos(heading_a)[:, None], np.sin(heading_a)[:, None]  # (A, 1)
    cos_b, sin_b = np.cos(heading_b)[None, :], np.sin(heading_b)[None, :]  # (1, B)
    dx = xy_b[None, :, 0] - xy_a[:, None, 0]  # (A, B)
    dy = xy_b[None, :, 1] - xy_a[:, None, 1]
    separated = np.zeros(dx.shape, dtype=bool)
    # Separating axes: each box's forward and left unit vectors.
    for ux, uy in ((cos_a, sin_a), (-sin_a, cos_a), (cos_b, sin_b), (-sin_b, cos_b)):
        # Each box's half extent projected on the axis, against the centres' distance.
        r_a = half_length * np.abs(cos_a * ux + sin_a * uy) + half_width * np.abs(
            cos_a * uy - sin_a * ux
        )
        r_b = half_length * np.abs(cos_b * ux + sin_b * uy) + half_width * np.abs(
            cos_b * uy - sin_b * ux
        )
        separated |= np.abs(dx * ux + dy * uy) > r_a + r_b
    return ~separated


def _free_spots(table, road, placed, placed_xy, placed_heading, ego_xy, cfg):
    """Every spot (lane, s, xy, heading) on a 1 m grid along the road lanes that is free."""
    clearance = cfg.car_length_m + 4.0
    lanes, arcs, points, headings = [], [], [], []
    for lane in road.tolist():
        length = table.length_m[lane]
        s = np.arange(0.0, max(length - 0.5 * cfg.car_length_m - 2.0, 0.1), SPAWN_SCAN_STEP_M)
        lanes.append(np.full(len(s), lane))
        arcs.append(s)
        points.append(table.point_at(lane, s))
        headings.append(table.heading_at(lane, s))
    lane_ids, arc_s = np.concatenate(lanes), np.concatenate(arcs)
    xy, heading = np.concatenate(points), np.concatenate(headings)
    free = np.all(np.hypot(*(xy[:, None, :] - ego_xy[None]).transpose(2, 0, 1)) >= 15.0, axis=1)
    for other, s2 in placed:
        free &= ~((lane_ids == other) & (np.abs(arc_s - s2) < clearance))
    if len(placed_xy):
        free &= ~boxes_overlap(xy, heading, placed_xy, placed_heading, cfg).any(1)
    keep = np.flatnonzero(free)
    return lane_ids[keep], arc_s[keep], xy[keep], heading[keep]


class _StreetLanePoints:
    """``LaneTable.point_at`` and ``heading_at`` at one arc length, on Python floats.

    The same operations in the same order as the array code (clip, search the arc
    lengths, interpolate on the segment), so every point equals the array code's.
    """

    def __init__(self, table) -> None:
        self.table = table
        self.rows: dict[int, tuple] = {}  # lane -> its arc lengths, segments and length

    def _row(self, lane: int) -> tuple:
        row = self.rows.get(lane)
        if row is None:
            m = int(self.table.num_segments[lane])
            row = self.rows[lane] = (
                self.table.cum_s[lane, : m + 1].tolist(),
                m,
                float(self.table.length_m[lane]),
            )
        return row

    def at(self, lane: int, s: float) -> tuple[float, float, float]:
        """``(x, y, heading)`` at arc length ``s`` of ``lane``."""
        cum, m, length = self._row(lane)
        s = min(max(s, 0.0), length)
        index = min(max(bisect.bisect_right(cum, s) - 1, 0), m - 1)
        # Only the segment's two vertices as Python floats: most draws land on a lane
        # not seen yet, and converting its whole row cost more than the rest.
        x0, y0, x1, y1 = self.table.xy[lane, index : index + 2].ravel().tolist()
        dx, dy = x1 - x0, y1 - y0
        t = (s - cum[index]) / max(float(np.hypot(dx, dy)), 1e-12)
        return x0 + t * dx, y0 + t * dy, float(self.table.heading[lane, index])


def _near_any(x: float, y: float, points: list[tuple[float, float]], distance_m: float) -> bool:
    """Whether (x, y) is closer than ``distance_m`` to any of ``points`` (np.hypot's test)."""
    for px, py in points:
        dx, dy = x - px, y - py
        # hypot >= max(|dx|, |dy|): the cheap test only ever skips points that are far.
        if abs(dx) < distance_m and abs(dy) < distance_m and np.hypot(dx, dy) < distance_m:
            return True
    return False


def spawn_vehicles(world: TownState, i: int, town: TownMap, rng: np.random.Generator) -> None:
    """Put the NPC vehicles at rest on random road lanes, apart from each other and the ego.

    A car that finds no free spot in ``SPAWN_TRIES`` random draws takes a random one of
    the free spots left; when there is none, :class:`SpawnError` (a ``ConfigError``) says
    the town is too small for ``num_vehicles``.
    """
    cfg = world.config
    table = town.lanes
    road = np.flatnonzero(~town.lane_is_connector)
    cars = world.world_cars(np.array([i]))
    ego_xy = np.stack([world.car.x_m[cars], world.car.y_m[cars]], -1)  # (A, 2)
    if kernels.use_numba():
        lanes, arcs = _place_by_kernel(world.config, table, road, ego_xy, rng)
    else:
        lanes, arcs = _place(world.config, table, road, ego_xy, rng)
    num = cfg.num_vehicles
    if num:
        world.veh_lane[i, :num] = lanes
        world.veh_s[i, :num] = arcs
    world.veh_speed[i] = 0.0
    world.veh_waiting_since[i] = BIG_STEP
    world.veh_committed[i] = False
    world.veh_draws[i] = 0


def _no_room(cfg, car: int) -> SpawnError:
    return SpawnError(
        f"TownConfig.num_vehicles = {cfg.num_vehicles} do not fit in this town: "
        f"vehicle {car + 1} has no free spot left (grid_size = {cfg.grid_size}, "
        f"block_min_m = {cfg.block_min_m}, block_max_m = {cfg.block_max_m}); "
        "allowed: fewer num_vehicles or a larger town"
    )


def _place_by_kernel(cfg, table, road, ego_xy, rng) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_place` by the numba kernel :func:`roadgym.envs.town.kernels.spawn.
    place_vehicles` (the same draws, the same cars), with the box tests and the
    systematic search in Python."""
    from roadgym.envs.town.kernels.spawn import (
        CHECK_BOXES,
        NO_TRY_LEFT,
        draw_route_ahead,
        place_vehicles,
    )

    num = cfg.num_vehicles
    successors, number = table.successor_table()
    lanes, arcs = np.zeros((num, 3), dtype=np.int64), np.zeros(num)
    placed_xy, placed_heading = np.zeros((num, 2)), np.zeros(num)
    touch_m = float(np.hypot(cfg.car_length_m, cfg.car_width_m)) + NEAR_MARGIN_M
    car, tries = 0, 0
    while True:
        car, tries, why = place_vehicles(
            rng, car, tries, num, SPAWN_TRIES, road, table.cum_s, table.num_segments,
            table.length_m, table.xy, table.heading, successors, number, ego_xy,
            EGO_CLEARANCE_M, 0.5 * cfg.car_length_m, cfg.car_length_m + 4.0, touch_m,
            lanes, arcs, placed_xy, placed_heading,
        )  # fmt: skip
        if why == CHECK_BOXES:
            here = placed_xy[car]
            near = np.flatnonzero(
                (np.abs(here[0] - placed_xy[:car, 0]) < touch_m)
                & (np.abs(here[1] - placed_xy[:car, 1]) < touch_m)
            )
            hit = boxes_overlap(
                placed_xy[car : car + 1],
                placed_heading[car : car + 1],
                placed_xy[near],
                placed_heading[near],
                cfg,
            )
            if hit.any():
                continue  # the car's next try
        elif why == NO_TRY_LEFT:
            placed = list(zip(lanes[:car, 0].tolist(), arcs[:car].tolist(), strict=True))
            spots = _free_spots(
                table, road, placed, placed_xy[:car], placed_heading[:car], ego_xy, cfg
            )
            if len(spots[0]) == 0:
                raise _no_room(cfg, car)
            pick = int(rng.integers(len(spots[0])))
            lanes[car, 0], arcs[car] = spots[0][pick], spots[1][pick]
            placed_xy[car], placed_heading[car] = spots[2][pick], spots[3][pick]
        else:
            return lanes, arcs
        draw_route_ahead(rng, car, successors, number, lanes)
        car, tries = car + 1, 0


def _place(cfg, table, road, ego_xy, rng) -> tuple[list, list]:
    """Each NPC car's ``(lane, next lane, the one after)`` and arc length: random tries
    until one is clear of the controlled cars and the cars placed before."""
    road_list, num_road = road.tolist(), len(road)
    lengths = table.length_m.tolist()
    points = _StreetLanePoints(table)
    egos = [(float(x), float(y)) for x, y in ego_xy]
    num = cfg.num_vehicles
    placed: list[tuple[int, float]] = []
    placed_xy = np.zeros((num, 2))
    placed_heading = np.zeros(num)
    placed_points: list[tuple[float, float]] = []
    clearance = cfg.car_length_m + 4.0
    # Closer than this (centre to centre) two cars may touch; further, they cannot.
    touch_m = float(np.hypot(cfg.car_length_m, cfg.car_width_m)) + NEAR_MARGIN_M
    lanes, arcs = [], []
    for k in range(num):
        for _ in range(SPAWN_TRIES):
            lane = road_list[rng.integers(num_road)]  # as rng.choice(road), faster
            length = lengths[lane]
            s = float(rng.uniform(0.0, max(length - 0.5 * cfg.car_length_m - 2.0, 0.1)))
            x, y, heading = points.at(lane, s)
            if _near_any(x, y, egos, EGO_CLEARANCE_M):  # clear of every controlled car
                continue
            if any(lane == other and abs(s - s2) < clearance for other, s2 in placed):
                continue
            # Cars on different lanes can still overlap where lanes meet or cross.
            near = [
                q
                for q, (px, py) in enumerate(placed_points)
                if abs(x - px) < touch_m and abs(y - py) < touch_m
            ]
            if (
                near
                and boxes_overlap(
                    np.array([[x, y]]),
                    np.array([heading]),
                    placed_xy[near],
                    placed_heading[near],
                    cfg,
                ).any()
            ):
                continue
            break
        else:
            spots = _free_spots(table, road, placed, placed_xy[:k], placed_heading[:k], ego_xy, cfg)
            if len(spots[0]) == 0:
                raise _no_room(cfg, k)
            pick = int(rng.integers(len(spots[0])))
            lane, s = int(spots[0][pick]), float(spots[1][pick])
            (x, y), heading = spots[2][pick].tolist(), float(spots[3][pick])
        placed.append((lane, s))
        placed_points.append((x, y))
        placed_xy[k], placed_heading[k] = (x, y), heading
        nxt = table.successors[lane]
        first = nxt[rng.integers(len(nxt))]
        nxt2 = table.successors[first]
        lanes.append((lane, first, nxt2[rng.integers(len(nxt2))]))
        arcs.append(s)
    return lanes, arcs


def spawn_pedestrians(world: TownState, i: int, town: TownMap, rng: np.random.Generator) -> None:
    """Put pedestrians on random sidewalk edges, a share of them jaywalkers."""
    cfg = world.config
    net = town.sidewalks
    starts, slots = np.nonzero((net.neighbours >= 0) & (net.edge_kind == EDGE_SIDEWALK))
    ends = net.neighbours[starts, slots]
    delta = net.node_xy[ends] - net.node_xy[starts]
    edge_length = np.hypot(delta[:, 0], delta[:, 1]).tolist()  # (E,) as np.hypot per edge
    num, num_edges = cfg.num_pedestrians, len(starts)
    picks, progress = [], []
    for _ in range(num):
        pick = int(rng.integers(num_edges))
        picks.append(pick)
        progress.append(float(rng.uniform(0.0, edge_length[pick])))
    if num:
        world.ped_from[i, :num] = starts[picks]
        world.ped_to[i, :num] = ends[picks]
        world.ped_edge_length_m[i, :num] = np.array(edge_length)[picks]
        world.ped_progress_m[i, :num] = progress
    world.ped_kind[i] = EDGE_SIDEWALK
    world.ped_junction[i] = -1
    world.ped_waiting[i] = False
    world.ped_jaywalker[i] = rng.random(cfg.num_pedestrians) < cfg.jaywalker_fraction
    world.ped_speed_mps[i] = cfg.pedestrian_speed_mps * rng.uniform(0.8, 1.2, cfg.num_pedestrians)
    world.ped_draws[i] = 0
