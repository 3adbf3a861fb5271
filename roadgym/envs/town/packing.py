"""Packing each world's town into the batch's padded arrays, and spawning its actors.

Towns differ in size, so the batch holds them in arrays padded to the largest seen so
far (grown on demand; padding is never read by the step). Everything here runs at reset,
once per world, so Python loops are fine.
"""

from __future__ import annotations

import numpy as np

from roadgym.envs.core.config import ConfigError
from roadgym.envs.town.generator import CONTROL_LIGHT, TownMap
from roadgym.envs.town.routing import Route
from roadgym.envs.town.sidewalks import EDGE_SIDEWALK
from roadgym.envs.town.state import BIG_STEP, TownState


def fit(
    world: TownState, name: str, shape: tuple[int, ...], dtype, fill, rows: int | None = None
) -> np.ndarray:
    """Attribute ``name`` as a (B, *shape') array with shape' >= ``shape``, grown if
    needed; ``rows`` other than B: one row per controlled car (route arrays)."""
    current = getattr(world, name, None)
    if current is not None and all(n <= c for n, c in zip(shape, current.shape[1:], strict=True)):
        return current
    grown = (
        shape
        if current is None
        else tuple(max(n, c) for n, c in zip(shape, current.shape[1:], strict=True))
    )
    fresh = np.full((rows or world.batch_size, *grown), fill, dtype=dtype)
    if current is not None:
        fresh[(slice(None), *(slice(0, c) for c in current.shape[1:]))] = current
    setattr(world, name, fresh)
    return fresh


def pack_lanes(world: TownState, i: int, town: TownMap) -> None:
    """Lane polylines (uniformly resampled), lengths, successors and roles of world ``i``."""
    table = town.lanes
    count, width = table.xy.shape[:2]
    successors, number = table.successor_table()
    xy = fit(world, "lane_xy", (count, width, 2), np.float64, 0.0)
    heading = fit(world, "lane_heading", (count, width), np.float64, 0.0)
    # Rows past this town's width repeat each lane's last vertex and heading.
    xy[i, :count, :width] = table.xy
    xy[i, :count, width:] = table.xy[:, -1:]
    heading[i, :count, :width] = table.heading
    heading[i, :count, width:] = table.heading[:, -1:]
    fit(world, "lane_length_m", (count,), np.float64, 1.0)[i, :count] = table.length_m
    spacing = table.length_m / table.num_segments
    fit(world, "lane_spacing_m", (count,), np.float64, 1.0)[i, :count] = spacing
    fit(world, "lane_segments", (count,), np.int64, 1)[i, :count] = table.num_segments
    fit(world, "lane_speed_mps", (count,), np.float64, 1.0)[i, :count] = table.speed_limit_mps
    succ = fit(world, "lane_successors", successors.shape, np.int64, 0)
    succ[i, :count, : successors.shape[1]] = successors
    fit(world, "lane_num_successors", (count,), np.int64, 1)[i, :count] = number
    fit(world, "lane_is_connector", (count,), bool, False)[i, :count] = town.lane_is_connector
    fit(world, "lane_junction", (count,), np.int64, 0)[i, :count] = town.lane_junction
    fit(world, "lane_approach", (count,), np.int64, -1)[i, :count] = town.lane_approach
    fit(world, "lane_turn", (count,), np.int64, 0)[i, :count] = town.lane_turn
    fit(world, "lane_from_approach", (count,), np.int64, -1)[i, :count] = town.lane_from_approach


def pack_control(world: TownState, i: int, town: TownMap, light_pixels: list[np.ndarray]) -> None:
    """Approaches, light cycles (in steps) and the raster pixels of each light's stop line."""
    q, j = town.num_approaches, len(town.junction_xy)
    # Phases per junction: its approaches' distinct slots (opposing approaches share one).
    n_phase = np.zeros(j, dtype=np.int64)
    np.maximum.at(n_phase, town.approach_junction, town.approach_slot + 1)
    phase = world.phase_steps
    cycle = n_phase * phase + world.walk_steps  # (J,)
    offset = np.floor(town.junction_phase_offset * cycle).astype(np.int64)
    control = town.junction_control
    fit(world, "junction_cycle", (j,), np.int64, 1)[i, :j] = np.maximum(cycle, 1)
    fit(world, "junction_offset", (j,), np.int64, 0)[i, :j] = offset
    fit(world, "junction_walk_start", (j,), np.int64, 0)[i, :j] = n_phase * phase
    fit(world, "junction_is_light", (j,), bool, False)[i, :j] = control == CONTROL_LIGHT
    fit(world, "junction_is_major", (j,), bool, False)[i, :j] = town.junction_degree >= 3
    fit(world, "junction_xy", (j, 2), np.float64, 0.0)[i, :j] = town.junction_xy
    qa = max(q, 1)
    aj = fit(world, "approach_junction", (qa,), np.int64, 0)
    aj[i, :q] = town.approach_junction
    fit(world, "approach_slot", (qa,), np.int64, 0)[i, :q] = town.approach_slot
    fit(world, "approach_opposite", (qa,), np.int64, -1)[i, :q] = town.approach_opposite
    fit(world, "approach_kind", (qa,), np.int64, 0)[i, :q] = control[town.approach_junction]
    fit(world, "approach_cycle", (qa,), np.int64, 1)[i, :q] = cycle[town.approach_junction]
    fit(world, "approach_offset", (qa,), np.int64, 0)[i, :q] = offset[town.approach_junction]
    # Light bars: flat indices into the stacked rasters (one per controlled car: each
    # car's raster shows them); padding hits the scratch pixel.
    width = max([len(p) for p in light_pixels] + [1])
    cars = world.world_cars(np.array([i]))
    pixels = fit(world, "light_pixels", (qa, width), np.int64, world.scratch_pixel, world.num_cars)
    for car in cars.tolist():
        pixels[car] = world.scratch_pixel
        base = car * world.raster_side_px**2
        for k, p in enumerate(light_pixels):
            pixels[car, k, : len(p)] = base + p


def pack_route(world: TownState, i: int, route: Route) -> None:
    """The route of controlled car ``i``: polyline and events (padded with +inf)."""
    line = route.line
    m = line.num_segments
    c = world.num_cars

    def car_fit(name: str, shape: tuple[int, ...], dtype, fill) -> np.ndarray:
        return fit(world, name, shape, dtype, fill, c)

    car_fit("route_xy", (m + 1, 2), np.float64, 0.0)[i, : m + 1] = line.vertices
    car_fit("route_cum_s", (m + 1,), np.float64, 0.0)[i, : m + 1] = line.cum_s
    car_fit("route_heading", (m,), np.float64, 0.0)[i, :m] = line.segment_headings
    car_fit("route_curvature", (m + 1,), np.float64, 0.0)[i, : m + 1] = line.vertex_curvature
    car_fit("route_segment_lane", (m,), np.int64, 0)[i, :m] = route.segment_lane
    world.route_segments[i] = m
    world.route_length_m[i] = line.length
    e = max(len(route.stop_s), 1)
    stop_s = car_fit("route_stop_s", (e,), np.float64, np.inf)
    stop_s[i] = np.inf
    stop_s[i, : len(route.stop_s)] = route.stop_s
    stop_app = car_fit("route_stop_approach", (e,), np.int64, 0)
    stop_app[i] = 0
    stop_app[i, : len(route.stop_s)] = route.stop_approach
    done = car_fit("route_stop_done", (e,), bool, False)
    done[i] = False
    k = max(len(route.connector_start_s), 1)
    for name, values, fill in (
        ("route_connector_start_s", route.connector_start_s, np.inf),
        ("route_connector_end_s", route.connector_end_s, np.inf),
        ("route_connector_turn", route.connector_turn, 0),
        ("route_connector_junction", route.connector_junction, 0),
        ("route_connector_lane", route.connector_lane, 0),
    ):
        array = car_fit(name, (k,), np.asarray(values).dtype if len(values) else type(fill), fill)
        array[i] = fill
        array[i, : len(values)] = values


def pack_sidewalks(world: TownState, i: int, town: TownMap) -> None:
    """The pedestrian graph of world ``i``."""
    net = town.sidewalks
    n = len(net)
    fit(world, "walk_xy", (n, 2), np.float64, 0.0)[i, :n] = net.node_xy
    fit(world, "walk_neighbours", (n, 4), np.int64, -1)[i, :n] = net.neighbours
    fit(world, "walk_kind", (n, 4), np.int64, 0)[i, :n] = net.edge_kind
    fit(world, "walk_junction", (n, 4), np.int64, -1)[i, :n] = net.edge_junction


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
    placed: list[tuple[int, float]] = []
    placed_xy = np.zeros((cfg.num_vehicles, 2))
    placed_heading = np.zeros(cfg.num_vehicles)
    clearance = cfg.car_length_m + 4.0
    for k in range(cfg.num_vehicles):
        for _ in range(SPAWN_TRIES):
            lane = int(road[rng.integers(len(road))])  # as rng.choice(road), faster
            length = float(table.length_m[lane])
            s = float(rng.uniform(0.0, max(length - 0.5 * cfg.car_length_m - 2.0, 0.1)))
            xy = table.point_at(lane, s)
            if np.hypot(*(xy - ego_xy).T).min() < 15.0:  # clear of every controlled car
                continue
            if any(lane == other and abs(s - s2) < clearance for other, s2 in placed):
                continue
            # Cars on different lanes can still overlap where lanes meet or cross.
            heading = float(table.heading_at(lane, s))
            if boxes_overlap(
                xy[None], np.array([heading]), placed_xy[:k], placed_heading[:k], cfg
            ).any():
                continue
            break
        else:
            spots = _free_spots(table, road, placed, placed_xy[:k], placed_heading[:k], ego_xy, cfg)
            if len(spots[0]) == 0:
                raise SpawnError(
                    f"TownConfig.num_vehicles = {cfg.num_vehicles} do not fit in this town: "
                    f"vehicle {k + 1} has no free spot left (grid_size = {cfg.grid_size}, "
                    f"block_min_m = {cfg.block_min_m}, block_max_m = {cfg.block_max_m}); "
                    "allowed: fewer num_vehicles or a larger town"
                )
            pick = int(rng.integers(len(spots[0])))
            lane, s = int(spots[0][pick]), float(spots[1][pick])
            xy, heading = spots[2][pick], float(spots[3][pick])
        placed.append((lane, s))
        placed_xy[k], placed_heading[k] = xy, heading
        nxt = table.successors[lane]
        first = int(nxt[rng.integers(len(nxt))])
        nxt2 = table.successors[first]
        world.veh_lane[i, k] = (lane, first, int(nxt2[rng.integers(len(nxt2))]))
        world.veh_s[i, k] = s
    world.veh_speed[i] = 0.0
    world.veh_waiting_since[i] = BIG_STEP
    world.veh_committed[i] = False
    world.veh_draws[i] = 0


def spawn_pedestrians(world: TownState, i: int, town: TownMap, rng: np.random.Generator) -> None:
    """Put pedestrians on random sidewalk edges, a share of them jaywalkers."""
    cfg = world.config
    net = town.sidewalks
    starts, slots = np.nonzero((net.neighbours >= 0) & (net.edge_kind == EDGE_SIDEWALK))
    for k in range(cfg.num_pedestrians):
        pick = int(rng.integers(len(starts)))
        a, slot = int(starts[pick]), int(slots[pick])
        b = int(net.neighbours[a, slot])
        world.ped_from[i, k], world.ped_to[i, k] = a, b
        world.ped_edge_length_m[i, k] = float(np.hypot(*(net.node_xy[b] - net.node_xy[a])))
        world.ped_progress_m[i, k] = float(rng.uniform(0.0, world.ped_edge_length_m[i, k]))
    world.ped_kind[i] = EDGE_SIDEWALK
    world.ped_junction[i] = -1
    world.ped_waiting[i] = False
    world.ped_jaywalker[i] = rng.random(cfg.num_pedestrians) < cfg.jaywalker_fraction
    world.ped_speed_mps[i] = cfg.pedestrian_speed_mps * rng.uniform(0.8, 1.2, cfg.num_pedestrians)
    world.ped_draws[i] = 0
