"""numba kernel of the perception labels: :func:`roadgym.envs.town.ego.labels`.

The route samples ahead of the front bumper, the first vehicle and pedestrian on them,
the next stop line and its light, and the road layout in view, car by car: one call
instead of the ~60 numpy calls of ``scene_ahead`` + ``labels`` (what a single env pays
every step). The numpy code's arithmetic in its order, so the labels are identical.
"""

from __future__ import annotations

import math

import numpy as np

from roadgym.envs.core.kernels import njit


@njit
def route_labels(
    route_xy,
    route_segments,
    route_length_m,
    route_stop_s,
    route_stop_approach,
    connector_start_s,
    connector_end_s,
    connector_turn,
    connector_junction,
    approach_kind,
    light_state,
    junction_is_major,
    car_world,
    s_m,
    vehicles_xy,
    pedestrians_xy,
    ahead_m,
    half_m,
    view_m,
    view_ahead_m,
    vehicle_radius_sq,
    pedestrian_radius_sq,
    control_light,
    light_none,
):
    """``(light_state, object_ahead, object_distance_m, road_layout)`` (C,) each.

    ``ahead_m`` (K,) are the route samples ahead of the front bumper within the view
    (``SCENE_AHEAD_M <= view_m``); ``half_m`` is half a car's length, ``view_m`` the
    view ahead of the front bumper and ``view_ahead_m`` of the car's centre.
    """
    cars, samples = s_m.shape[0], ahead_m.shape[0]
    events, connectors = route_stop_s.shape[1], connector_start_s.shape[1]
    light = np.empty(cars, dtype=np.int64)
    object_class = np.empty(cars, dtype=np.int64)
    object_distance = np.empty(cars)
    layout = np.empty(cars, dtype=np.int64)
    px = np.empty(samples)
    py = np.empty(samples)
    for c in range(cars):
        w = car_world[c]
        # ego.route_points at s = s_m + half + ahead_m
        m = route_segments[c]
        length = route_length_m[c]
        spacing = length / m
        dx = route_xy[c, m, 0] - route_xy[c, m - 1, 0]
        dy = route_xy[c, m, 1] - route_xy[c, m - 1, 1]
        norm = max(math.sqrt(dx * dx + dy * dy), 1e-9)
        dx, dy = dx / norm, dy / norm
        for k in range(samples):
            s = s_m[c] + half_m + ahead_m[k]
            u = min(max(s, 0.0), length) / spacing
            index = min(np.int64(math.floor(u)), m - 1)
            t = u - index
            beyond = max(s - length, 0.0)
            x0, y0 = route_xy[c, index, 0], route_xy[c, index, 1]
            x1, y1 = route_xy[c, index + 1, 0], route_xy[c, index + 1, 1]
            px[k] = x0 + t * (x1 - x0) + beyond * dx
            py[k] = y0 + t * (y1 - y0) + beyond * dy
        vehicle = _first_hit(px, py, vehicles_xy, c, vehicle_radius_sq, ahead_m)
        pedestrian = _first_hit(px, py, pedestrians_xy, c, pedestrian_radius_sq, ahead_m)
        nearest = min(vehicle, pedestrian)
        if math.isfinite(nearest):
            object_class[c] = 1 if vehicle <= pedestrian else 2
        else:
            object_class[c] = 0
        object_distance[c] = min(nearest, view_m)
        # The next stop line and its light, when the line is in view.
        light[c] = light_none
        for e in range(events):
            line = route_stop_s[c, e] - s_m[c] - half_m
            if line > -0.5:
                app = route_stop_approach[c, e]
                if line <= view_m and approach_kind[w, app] == control_light:
                    light[c] = light_state[w, app]
                break
        # The route's junctions and turns that overlap the view.
        lo = s_m[c] - half_m
        hi = s_m[c] + view_ahead_m
        junction, turn = False, False
        for k in range(connectors):
            if connector_start_s[c, k] < hi and connector_end_s[c, k] > lo:
                if junction_is_major[w, connector_junction[c, k]]:
                    junction = True
                if connector_turn[c, k] != 0:
                    turn = True
        layout[c] = 2 if junction else (1 if turn else 0)
    return light, object_class, object_distance, layout


@njit
def _first_hit(px, py, actors_xy, c, radius_sq, ahead_m):
    """The distance ``ahead_m[k]`` of the first sample within reach of an actor, or inf."""
    for k in range(px.shape[0]):
        for a in range(actors_xy.shape[1]):
            dx = px[k] - actors_xy[c, a, 0]
            dy = py[k] - actors_xy[c, a, 1]
            if dx * dx + dy * dy < radius_sq:
                return ahead_m[k]
    return np.inf


def labels(world, ahead_m, view_m, vehicles_xy, radius_sq, control_light, light_none):
    """:func:`roadgym.envs.town.ego.labels` for ``world`` (a ``TownState``): name -> (C,).

    ``vehicles_xy`` (C, V, 2) are the cars each controlled car sees, ``radius_sq`` the
    squared (vehicle, pedestrian) corridor radii, ``ahead_m`` the samples within view.
    """
    half_m = 0.5 * world.config.car_length_m
    light, object_class, distance, layout = route_labels(
        world.route_xy,
        world.route_segments,
        world.route_length_m,
        world.route_stop_s,
        world.route_stop_approach,
        world.route_connector_start_s,
        world.route_connector_end_s,
        world.route_connector_turn,
        world.route_connector_junction,
        world.approach_kind,
        world.light_state,
        world.junction_is_major,
        world.agent_world,
        world.s_m,
        vehicles_xy,
        world.by_car(world.ped_xy),
        ahead_m,
        half_m,
        view_m,
        world.view_ahead_m,
        radius_sq[0],
        radius_sq[1],
        control_light,
        light_none,
    )
    return {
        "light_state": light,
        "object_ahead": object_class,
        "object_distance_m": distance,
        "road_layout": layout,
    }
