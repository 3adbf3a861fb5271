"""Packing each world's town into the batch's padded arrays (spawning: ``spawn.py``).

Towns differ in size, so the batch holds them in arrays padded to the largest seen so
far (grown on demand; padding is never read by the step). Everything here runs at reset,
once per world, so Python loops are fine.
"""

from __future__ import annotations

import numpy as np

from roadgym.envs.town.generator import CONTROL_LIGHT, TownMap
from roadgym.envs.town.routing import Route
from roadgym.envs.town.spawn import (  # spawning used to live here; importers still find it
    SpawnError,
    boxes_overlap,
    spawn_pedestrians,
    spawn_vehicles,
)
from roadgym.envs.town.state import TownState

__all__ = [
    "SpawnError",
    "boxes_overlap",
    "fit",
    "pack_control",
    "pack_lanes",
    "pack_route",
    "pack_sidewalks",
    "spawn_pedestrians",
    "spawn_vehicles",
]


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


def pack_control(world: TownState, i: int, town: TownMap, light_bars: tuple) -> None:
    """Approaches, light cycles (in steps) and the raster pixels of each light's stop line
    (``light_bars``: ``raster.light_bar_table``'s pixels and counts)."""
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
    table, count = light_bars
    width = max(table.shape[1], 1)
    cars = world.world_cars(np.array([i]))
    pixels = fit(world, "light_pixels", (qa, width), np.int64, world.scratch_pixel, world.num_cars)
    valid = np.arange(table.shape[1])[None, :] < count[:, None]  # (Q, P)
    for car in cars.tolist():
        pixels[car] = world.scratch_pixel
        base = car * world.raster_side_px**2
        pixels[car, :q, : table.shape[1]] = np.where(valid, base + table, world.scratch_pixel)


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
