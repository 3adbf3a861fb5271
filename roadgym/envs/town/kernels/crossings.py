"""numba kernels where paths cross: the permissive left turn's yield, the waiting
pedestrians' crossing decision and the labels' first-hit search along a route.

Twins of :mod:`roadgym.envs.town.junctions`, :mod:`roadgym.envs.town.pedestrians` and
``ego.scene_ahead``'s numpy code: see :mod:`roadgym.envs.town.kernels`.
"""

from __future__ import annotations

import numpy as np

from roadgym.envs.core.kernels import njit
from roadgym.envs.town.generator import CONTROL_LIGHT, TURN_LEFT, TURN_RIGHT

# junctions.py's light states, repeated: junctions imports these kernels, not the reverse.
LIGHT_YELLOW, LIGHT_GREEN = 2, 3

_jit = njit


@_jit
def first_hit(points, actors, radius_sq, ahead_m):
    """For each car (C,), the first path sample ``points`` (C, K, 2) within the radius of
    one of ``actors`` (C, V, 2): its distance ``ahead_m[k]`` (inf when none) and the
    lowest such actor (0 when none), as ``ego.scene_ahead``'s numpy ``first_hit``."""
    cars, samples = points.shape[0], points.shape[1]
    count = actors.shape[1]
    distance = np.full(cars, np.inf)
    actor = np.zeros(cars, dtype=np.int64)
    for c in range(cars):
        found = False
        for k in range(samples):
            for a in range(count):
                dx = points[c, k, 0] - actors[c, a, 0]
                dy = points[c, k, 1] - actors[c, a, 1]
                if dx * dx + dy * dy < radius_sq:
                    distance[c], actor[c], found = ahead_m[k], a, True
                    break
            if found:
                break
    return distance, actor


@_jit
def left_turn_yield(
    lane,
    road_lane,
    to_line,
    speed,
    lane_turn,
    lane_from_approach,
    lane_is_connector,
    approach_kind,
    approach_opposite,
    lights,
    accel,
    speed_limit,
    twice_brake,
    gap_s,
    queued_speed,
    queue_spacing_m,
    lane_xy,
    lane_segments,
    lane_spacing_m,
    car_length_m,
    car_width_m,
):
    """Whether each car (B, N + A) must wait at its line to turn left across oncoming
    traffic: ``junctions.left_turn_yield`` on its movements (``lane``, ``road_lane``,
    ``to_line``, ``speed``, each (B, N + A)), one world at a time."""
    batch, cars = lane.shape
    must_yield = np.zeros((batch, cars), dtype=np.bool_)
    source = np.empty(cars, dtype=np.int64)
    turn = np.empty(cars, dtype=np.int64)
    signalled = np.empty(cars, dtype=np.bool_)
    threat = np.empty(cars, dtype=np.bool_)
    for b in range(batch):
        any_yielder = False
        for i in range(cars):
            turn[i] = lane_turn[b, lane[b, i]]
            source[i] = lane_from_approach[b, lane[b, i]]
            signalled[i] = source[i] >= 0 and approach_kind[b, max(source[i], 0)] == CONTROL_LIGHT
            if (
                signalled[i]
                and turn[i] == TURN_LEFT
                and not to_line[b, i] <= 0.0
                and np.isfinite(to_line[b, i])
            ):
                any_yielder = True
        if not any_yielder:
            continue
        for i in range(cars):
            threat[i] = False
            if not signalled[i] or turn[i] == TURN_LEFT:
                continue  # not oncoming traffic
            if to_line[b, i] <= 0.0:  # in the junction: straight crosses the turn's path
                threat[i] = lane_is_connector[b, lane[b, i]] and turn[i] != TURN_RIGHT
                continue
            light = lights[b, max(source[i], 0)]
            v_now = speed[b, i]
            if light == LIGHT_YELLOW:
                cannot_stop = v_now >= queued_speed and (
                    to_line[b, i] < v_now * v_now / twice_brake + 0.5
                )
                if cannot_stop:
                    threat[i] = True
                    continue
            if light != LIGHT_GREEN:
                continue
            # seconds to reach its line at full acceleration up to the speed limit
            top = max(speed_limit, v_now)
            v = min(v_now, top)
            d = max(to_line[b, i], 0.0)
            t_top = (top - v) / accel
            d_top = v * t_top + 0.5 * accel * (t_top * t_top)
            if d <= d_top:
                arrival_s = (np.sqrt(v * v + 2.0 * accel * d) - v) / accel
            else:
                arrival_s = t_top + (d - d_top) / top
            if not arrival_s < gap_s:
                continue
            # queued: standing behind another car before the same line
            standing = False
            mine = road_lane[b, i]
            if v_now < queued_speed and mine >= 0:
                my_line = to_line[b, i] if np.isfinite(to_line[b, i]) else 1e9
                for j in range(cars):
                    line = to_line[b, j] if np.isfinite(to_line[b, j]) else 1e9
                    gap = my_line - line
                    if road_lane[b, j] == mine and gap > 0.0 and gap < queue_spacing_m:
                        if line >= 0.0:
                            standing = True
                            break
            threat[i] = not standing
        for i in range(cars):
            if not (
                signalled[i]
                and turn[i] == TURN_LEFT
                and not to_line[b, i] <= 0.0
                and np.isfinite(to_line[b, i])
            ):
                continue
            opposite = approach_opposite[b, max(source[i], 0)]
            if opposite < 0:
                continue
            for j in range(cars):
                if threat[j] and source[j] == opposite:
                    if to_line[b, j] <= 0.0:  # in the junction: gone once past the turn
                        crossing_m = _crossing_m(
                            lane_xy[b], lane_segments[b], lane_spacing_m[b], lane[b, i], lane[b, j]
                        )
                        if -to_line[b, j] - car_length_m > crossing_m + car_width_m:
                            continue
                    must_yield[b, i] = True
                    break
    return must_yield


@_jit
def _crossing_m(lane_xy, lane_segments, lane_spacing_m, turn_lane, lane):
    """``junctions._crossing_m`` for one pair: the arc length along ``lane`` of its vertex
    nearest to ``turn_lane`` (the first on ties)."""
    best = np.inf
    nearest = 0
    for k in range(lane_segments[lane] + 1):
        x, y = lane_xy[lane, k, 0], lane_xy[lane, k, 1]
        closest = np.inf
        for m in range(lane_segments[turn_lane] + 1):
            dx, dy = x - lane_xy[turn_lane, m, 0], y - lane_xy[turn_lane, m, 1]
            closest = min(closest, dx * dx + dy * dy)
        if closest < best:
            best = closest
            nearest = k
    return nearest * lane_spacing_m[lane]


@_jit
def pedestrians_waiting(
    waiting,
    ped_junction,
    ped_kind,
    ped_from,
    ped_to,
    ped_edge_length,
    ped_speed,
    ped_jaywalker,
    junction_is_light,
    walk,
    walk_left,
    walk_xy,
    veh_xy,
    veh_speed,
    own_xy,
    own_speed,
    crosswalk_kind,
    dt_s,
    gap_m,
    moving_mps,
    clearance_m,
    twice_brake,
):
    """Whether each pedestrian (B, P) still waits to cross: ``pedestrians.step_pedestrians``'
    decision for those ``waiting`` at a crossing (a walk signal long enough or a gap in
    traffic, and no car on the crossing or too fast to stop before it)."""
    batch, peds = waiting.shape
    n, agents = veh_xy.shape[1], own_xy.shape[1]
    out = waiting.copy()
    for b in range(batch):
        for p in range(peds):
            if not waiting[b, p]:
                continue
            junction = max(ped_junction[b, p], 0)
            signalled = ped_kind[b, p] == crosswalk_kind and junction_is_light[b, junction]
            edge_length = ped_edge_length[b, p]
            needed = edge_length / ped_speed[b, p] / dt_s + 5.0
            walk_ok = signalled and walk[b, junction] and walk_left[b, junction] >= needed
            sx, sy = walk_xy[b, ped_from[b, p], 0], walk_xy[b, ped_from[b, p], 1]
            ex, ey = walk_xy[b, ped_to[b, p], 0], walk_xy[b, ped_to[b, p], 1]
            mx, my = 0.5 * (sx + ex), 0.5 * (sy + ey)
            ax, ay = ex - sx, ey - sy
            length_sq = max(ax * ax + ay * ay, 1e-9)
            reach = gap_m + 0.5 * edge_length
            reach_sq = reach * reach
            busy = False
            clear = True
            for j in range(n + agents):
                if j < n:
                    cx, cy, v = veh_xy[b, j, 0], veh_xy[b, j, 1], veh_speed[b, j]
                else:
                    cx, cy = own_xy[b, j - n, 0], own_xy[b, j - n, 1]
                    v = own_speed[b, j - n]
                dx, dy = mx - cx, my - cy
                if dx * dx + dy * dy < reach_sq and v > moving_mps:
                    busy = True
                rx, ry = cx - sx, cy - sy
                t = (rx * ax + ry * ay) / length_sq
                t = min(max(t, 0.0), 1.0)
                ox, oy = rx - t * ax, ry - t * ay
                if np.sqrt(ox * ox + oy * oy) < clearance_m + v * v / twice_brake:
                    clear = False
            gap_ok = not busy and (not signalled or ped_jaywalker[b, p])
            out[b, p] = not ((walk_ok or gap_ok) and clear)
    return out


@_jit
def movements(
    veh_lane,
    veh_s,
    veh_speed,
    lane_is_connector,
    lane_length_m,
    connector_start_s,
    connector_end_s,
    connector_lane,
    segment_lane,
    route_segment,
    s_m,
    car_speed,
    present,
    agents,
    half,
):
    """``junctions.movements``: (lane, road_lane, to_line_m, speed), each (B, N + A), the
    NPCs then the controlled cars (car c = world * A + slot), the numpy code's order."""
    batch, npcs = veh_s.shape
    slots = npcs + agents
    lane = np.empty((batch, slots), np.int64)
    road = np.empty((batch, slots), np.int64)
    to_line = np.empty((batch, slots))
    speed = np.empty((batch, slots))
    connectors = connector_end_s.shape[1]
    for b in range(batch):
        for n in range(npcs):
            first = veh_lane[b, n, 0]
            if lane_is_connector[b, first]:
                lane[b, n], road[b, n] = first, -1
                to_line[b, n] = -veh_s[b, n] - half
            else:
                lane[b, n], road[b, n] = veh_lane[b, n, 1], first
                to_line[b, n] = lane_length_m[b, first] - veh_s[b, n] - half
            speed[b, n] = veh_speed[b, n]
        for a in range(agents):
            c, j = b * agents + a, npcs + a
            lane[b, j], to_line[b, j] = 0, np.inf
            for k in range(connectors):
                if connector_end_s[c, k] > s_m[c] - half:
                    lane[b, j] = connector_lane[c, k]
                    to_line[b, j] = connector_start_s[c, k] - s_m[c] - half
                    break
            on_road = segment_lane[c, route_segment[c]]
            road[b, j] = -1 if lane_is_connector[b, on_road] else on_road
            if agents > 1 and not present[c]:  # a removed car takes no part
                to_line[b, j], road[b, j] = np.inf, -1
            speed[b, j] = car_speed[c]
    return lane, road, to_line, speed
