"""The ego car's side of the town step: route events, collisions, reward, state, labels.

Everything is batched over worlds: arrays (B,) per ego car, (B, N) against NPC cars,
(B, P) against pedestrians, (B, E) against the stop lines along the route.
"""

from __future__ import annotations

import numpy as np

from roadgym.envs.core import kernels
from roadgym.envs.town.agents import agent_collisions, vehicles_seen
from roadgym.envs.town.collisions import PEDESTRIAN_RADIUS_M, collisions
from roadgym.envs.town.generator import CONTROL_LIGHT, CONTROL_STOP
from roadgym.envs.town.state import (
    BIG_STEP,
    DRIVABLE,
    TownState,
    distance_sq,
    gather_rows,
)
from roadgym.envs.town.traffic import LIGHT_NONE, LIGHT_RED, STOP_LINE_REACHED_M

# CARLA leaderboard infraction coefficients: the driving score multiplies one per event.
PENALTY_COEFFICIENT = {
    "collisions_pedestrian": 0.5,
    "collisions_vehicle": 0.6,
    "red_light_violations": 0.7,
    "stop_sign_violations": 0.8,
}
EGO_CLAIM_TIMEOUT_STEPS = 40  # an ego car standing first in line this long loses its turn
GOAL_TOLERANCE_M = 2.0
SCENE_AHEAD_M = np.arange(0.0, 40.0, 1.5)  # (K,) route samples ahead of the front bumper
VEHICLE_CORRIDOR_M = 2.4  # a car centre this close to the route ahead is in the way
PEDESTRIAN_CORRIDOR_M = 2.2
LABEL_NAMES = {
    "light_state": ("none", "red", "yellow", "green"),
    "object_ahead": ("none", "vehicle", "pedestrian"),
    "road_layout": ("straight", "curve", "intersection"),
}
STATE_FIELDS = (
    "speed_fraction",
    "lateral_offset_fraction",
    "heading_error_rad",
    "steer_fraction",
    "next_turn_direction",
    "next_turn_distance_fraction",
    "route_completion",
)
STATE_LOW = np.array([0.0, -2.0, -np.pi, -1.0, -1.0, 0.0, 0.0])
STATE_HIGH = np.array([1.0, 2.0, np.pi, 1.0, 1.0, 1.0, 1.0])
NEXT_TURN_SCALE_M = 100.0
NAV_FIELDS = ("speed_fraction", "next_turn_direction", "next_turn_distance_fraction")
NAV_LOW = np.array([0.0, -1.0, 0.0])
NAV_HIGH = np.array([1.0, 1.0, 1.0])


def route_points(world: TownState, s: np.ndarray) -> np.ndarray:
    """Points (B, K, 2) on each route at arc lengths ``s`` (B, K) (evenly sampled routes)."""
    m = world.route_segments[:, None]
    spacing = world.route_length_m[:, None] / m
    u = np.clip(s, 0.0, world.route_length_m[:, None]) / spacing
    index = np.minimum(np.floor(u).astype(np.int64), m - 1)
    t = (u - index)[..., None]
    b = np.arange(world.num_cars)[:, None]
    p0, p1 = world.route_xy[b, index], world.route_xy[b, index + 1]
    # Past the goal the route carries straight on, so what stands beyond it is seen.
    last = m[:, 0]
    direction = world.route_xy[b[:, 0], last] - world.route_xy[b[:, 0], last - 1]
    direction /= np.maximum(np.linalg.norm(direction, axis=-1, keepdims=True), 1e-9)
    beyond = np.maximum(s - world.route_length_m[:, None], 0.0)[..., None]
    return p0 + t * (p1 - p0) + beyond * direction[:, None, :]


def route_curvature(world: TownState, s: np.ndarray) -> np.ndarray:
    """Route curvature (B, K) (1/m, + left) at arc lengths ``s`` (B, K)."""
    m = world.route_segments[:, None]
    index = np.clip(np.round(s / (world.route_length_m[:, None] / m)).astype(np.int64), 0, m)
    return gather_rows(world.route_curvature, index)


def approaching_stop_sign(world: TownState, ahead_m: float) -> np.ndarray:
    """Whether each ego car (B,) has a stop sign's line ahead of its front bumper, within
    ``ahead_m``, at which it has not stopped yet (the stretch where the stop rule of
    :func:`stop_line_events` is won or lost)."""
    stop_s = world.route_stop_s  # (C, E)
    kind = gather_rows(world.by_car(world.approach_kind), world.route_stop_approach)
    distance = stop_s - world.s_m[:, None] - 0.5 * world.config.car_length_m
    pending = (kind == CONTROL_STOP) & ~world.route_stop_done
    return (pending & (distance > -0.5) & (distance < ahead_m)).any(axis=1)


def stop_line_events(world: TownState, previous_s: np.ndarray, lights: np.ndarray):
    """Red-light and stop-sign violations (B,) of this step; updates the ego's stop claim."""
    if kernels.use_numba():  # the same events, car by car (roadgym[fast])
        from roadgym.envs.town import kernels as town_kernels

        timeout = world.stop_steps + EGO_CLAIM_TIMEOUT_STEPS
        return town_kernels.ego_stop_lines(world, previous_s, lights, timeout, STOP_LINE_REACHED_M)
    half = 0.5 * world.config.car_length_m
    stop_s = world.route_stop_s  # (C, E)
    app = world.route_stop_approach
    kind = gather_rows(world.by_car(world.approach_kind), app)
    state = gather_rows(world.by_car(lights), app)
    crossed = (stop_s > previous_s[:, None]) & (stop_s <= world.s_m[:, None])  # (B, E)
    red = (crossed & (kind == CONTROL_LIGHT) & (state == LIGHT_RED)).sum(axis=1)
    distance = stop_s - world.s_m[:, None] - half  # front bumper to line
    standing = world.car.speed_mps[:, None] < 0.3
    at_line = (kind == CONTROL_STOP) & (distance > -0.5) & (distance < STOP_LINE_REACHED_M)
    world.route_stop_done |= at_line & standing
    stop = (crossed & (kind == CONTROL_STOP) & ~world.route_stop_done).sum(axis=1)

    # The ego car's place in a stop-sign queue, kept until its centre crosses the line.
    b = np.arange(world.num_cars)
    step_count = world.by_car(world.step_count)
    claimed = world.ego_claim_event >= 0
    event = np.maximum(world.ego_claim_event, 0)
    passed = claimed & (world.s_m >= stop_s[b, event])
    idle = step_count - world.ego_wait_since
    timed_out = claimed & standing[:, 0] & (idle > world.stop_steps + EGO_CLAIM_TIMEOUT_STEPS)
    world.ego_claim_event = np.where(passed | timed_out, -1, world.ego_claim_event)
    waiting = at_line & standing
    new = (world.ego_claim_event < 0) & waiting.any(axis=1)
    world.ego_claim_event = np.where(new, np.argmax(waiting, axis=1), world.ego_claim_event)
    world.ego_wait_since = np.where(
        new, step_count, np.where(world.ego_claim_event >= 0, world.ego_wait_since, BIG_STEP)
    )
    return red, stop


def reward_and_end(world: TownState, previous_s: np.ndarray, red: np.ndarray, stop: np.ndarray):
    """Reward (B,) and termination (B,) of a step; accumulates the metrics."""
    if kernels.use_numba():  # the same outcome, car by car, in one call (roadgym[fast])
        from roadgym.envs.town import kernels as town_kernels

        other = agent_collisions(world) if world.num_agents > 1 else np.zeros(len(red), bool)
        radius = PEDESTRIAN_RADIUS_M
        return town_kernels.reward_and_end(
            world, previous_s, red, stop, other, radius, GOAL_TOLERANCE_M, DRIVABLE
        )
    cfg = world.config
    m = world.metrics
    length = world.route_length_m
    hit_vehicle, hit_pedestrian = collisions(world)
    if world.num_agents > 1:
        hit_vehicle |= agent_collisions(world)
    off_road = world.off_road()
    off_route = np.abs(world.lateral_offset_m) > cfg.route_tolerance_m
    success = world.s_m >= length - GOAL_TOLERANCE_M
    stalled = world.stall.update(world.s_m) & ~success
    progress = np.clip(world.s_m, 0.0, length) - np.clip(previous_s, 0.0, length)
    reward = (
        cfg.route_reward * progress / length
        - cfg.step_penalty
        - cfg.collision_penalty * (hit_vehicle | hit_pedestrian)
        - cfg.red_light_penalty * red
        - cfg.stop_sign_penalty * stop
        - cfg.off_road_penalty * off_road
        - cfg.off_route_penalty * off_route
        - cfg.stall_penalty * stalled
        + cfg.success_reward * success
    )
    m["collisions_vehicle"] += hit_vehicle
    m["collisions_pedestrian"] += hit_pedestrian
    m["red_light_violations"] += red
    m["stop_sign_violations"] += stop
    m["off_road"] |= off_road
    m["off_route"] |= off_route
    m["success"] |= success
    m["stalled"] |= stalled
    m["distance_m"] += world.car.speed_mps * cfg.dt_s
    m["steps"] += 1
    terminated = hit_vehicle | hit_pedestrian | off_road | off_route | success | stalled
    return reward, terminated


def scene_ahead(world: TownState, horizon_m: float | None = None):
    """What lies on the route ahead of each ego car (privileged: labels and the expert).

    Returns a dict of (B,) arrays: ``object_class`` (0 none, 1 vehicle, 2 pedestrian),
    ``object_distance_m`` (front bumper to it, inf when none), ``object_speed_mps``,
    ``line_distance_m`` (front bumper to the next stop line, inf when none),
    ``line_kind`` (CONTROL_*), ``line_light`` (LIGHT_*), ``line_event``.
    """
    half = 0.5 * world.config.car_length_m
    ahead = SCENE_AHEAD_M if horizon_m is None else SCENE_AHEAD_M[SCENE_AHEAD_M <= horizon_m]
    s = world.s_m[:, None] + half + ahead[None, :]  # (B, K)
    points = route_points(world, s)  # (B, K, 2)

    def first_hit(actors: np.ndarray, radius: float) -> tuple[np.ndarray, np.ndarray]:
        if kernels.use_numba():
            from roadgym.envs.town import kernels as town_kernels

            return town_kernels.first_hit(points, actors, radius**2, ahead)
        near = distance_sq(points[:, :, None, :], actors[:, None, :, :]) < radius**2
        any_k = near.any(axis=2)  # (B, K)
        k = np.argmax(any_k, axis=1)
        found = any_k.any(axis=1)
        if actors.shape[1] == 0:  # num_vehicles or num_pedestrians = 0: nothing to hit
            return np.full(len(k), np.inf), np.zeros(len(k), dtype=np.int64)
        actor = np.argmax(near[np.arange(len(k)), k], axis=1)
        return np.where(found, ahead[k], np.inf), actor

    veh_xy, veh_speed_all, veh_heading = vehicles_seen(world)  # (C, V, ...)
    veh_d, veh_i = first_hit(veh_xy, VEHICLE_CORRIDOR_M)
    ped_d, _ = first_hit(world.by_car(world.ped_xy), PEDESTRIAN_CORRIDOR_M)
    b = np.arange(world.num_cars)
    if veh_xy.shape[1] == 0:
        veh_speed = np.zeros(world.num_cars)
    else:
        # Its speed along the route where it stands, not along the ego's heading: a car
        # that has just turned into the street the route turns into is driving away.
        hit_s = world.s_m + half + np.where(np.isfinite(veh_d), veh_d, 0.0)
        segment = np.clip(
            (hit_s * world.route_segments / world.route_length_m).astype(np.int64),
            0,
            world.route_segments - 1,
        )
        veh_speed = veh_speed_all[b, veh_i] * np.cos(
            veh_heading[b, veh_i] - world.route_heading[b, segment]
        )
    object_class = np.where(
        np.isfinite(np.minimum(veh_d, ped_d)), np.where(veh_d <= ped_d, 1, 2), 0
    )
    distance = np.minimum(veh_d, ped_d)
    speed = np.where(object_class == 1, np.maximum(veh_speed, 0.0), 0.0)
    line = world.route_stop_s - world.s_m[:, None] - half  # (B, E)
    upcoming = line > -0.5
    event = np.argmax(upcoming, axis=1)
    has = upcoming.any(axis=1)
    app = world.route_stop_approach[b, event]
    approach_kind, light_state = world.by_car(world.approach_kind), world.by_car(world.light_state)
    return {
        "object_class": object_class.astype(np.int64),
        "object_distance_m": distance,
        "object_speed_mps": speed,
        "line_distance_m": np.where(has, line[b, event], np.inf),
        "line_kind": np.where(has, approach_kind[b, app], 0),
        "line_light": np.where(has, light_state[b, app], LIGHT_NONE),
        "line_event": event,
    }


def next_turn(world: TownState) -> tuple[np.ndarray, np.ndarray]:
    """Direction (B,) (-1 left, 0 none, +1 right) and distance (B,) (m) of the next turn."""
    turning = (world.route_connector_turn != 0) & (world.route_connector_end_s > world.s_m[:, None])
    k = np.argmax(turning, axis=1)
    b = np.arange(world.num_cars)
    found = turning.any(axis=1)
    direction = np.where(found, world.route_connector_turn[b, k], 0)
    distance = np.where(
        found, np.maximum(world.route_connector_start_s[b, k] - world.s_m, 0.0), np.inf
    )
    return direction, distance


def nav_vector(world: TownState) -> np.ndarray:
    """The ``nav`` observation (B, 3) float32: what a driver knows besides the camera.

    Speed / top speed, the direction of the next turn on the route (-1 left, 0 none,
    +1 right) and its distance / 100 m (clipped to 1): a car's speedometer and its
    navigation system's next instruction, nothing a car could not know.
    """
    direction, distance = next_turn(world)
    nav = np.stack(
        [
            world.car.speed_mps / world.config.top_speed_mps,
            direction.astype(np.float64),
            np.minimum(distance / NEXT_TURN_SCALE_M, 1.0),
        ],
        axis=-1,
    )
    return np.clip(nav, NAV_LOW, NAV_HIGH).astype(np.float32)


def state_vector(world: TownState) -> np.ndarray:
    """The ``state`` observation (B, 7 + D) float32; see STATE_FIELDS."""
    cfg = world.config
    direction, distance = next_turn(world)
    head = np.stack(
        [
            world.car.speed_mps / cfg.top_speed_mps,
            world.lateral_offset_m / cfg.route_tolerance_m,
            world.heading_error_rad,
            world.car.steer_rad / cfg.max_steer_rad,
            direction.astype(np.float64),
            np.minimum(distance / NEXT_TURN_SCALE_M, 1.0),
            world.s_m / world.route_length_m,
        ],
        axis=-1,
    )
    head = np.clip(head, STATE_LOW, STATE_HIGH)
    lookahead = np.asarray(cfg.curvature_lookahead_m)
    curvature = route_curvature(world, world.s_m[:, None] + lookahead[None, :])
    return np.concatenate([head, np.clip(curvature, -1.0, 1.0)], -1).astype(np.float32)


def labels(world: TownState) -> dict[str, np.ndarray]:
    """Perception labels (B,) of the current frame (see LABEL_NAMES)."""
    # scene_ahead measures from the front bumper; the camera's top edge is view_ahead_m
    # from the car's centre. Label only what lies inside the frame.
    view = world.view_ahead_m - 0.5 * world.config.car_length_m
    if kernels.use_numba():  # the same labels, car by car, in one call (roadgym[fast])
        from roadgym.envs.town import kernels as town_kernels

        radius_sq = (VEHICLE_CORRIDOR_M**2, PEDESTRIAN_CORRIDOR_M**2)
        ahead = SCENE_AHEAD_M[SCENE_AHEAD_M <= view]
        veh_xy = vehicles_seen(world)[0]
        return town_kernels.labels(world, ahead, view, veh_xy, radius_sq, CONTROL_LIGHT, LIGHT_NONE)
    scene = scene_ahead(world, horizon_m=view)
    line_visible = (scene["line_distance_m"] <= view) & (scene["line_kind"] == CONTROL_LIGHT)
    light = np.where(line_visible, scene["line_light"], LIGHT_NONE)
    lo = world.s_m[:, None] - 0.5 * world.config.car_length_m
    hi = world.s_m[:, None] + world.view_ahead_m
    overlap = (world.route_connector_start_s < hi) & (world.route_connector_end_s > lo)  # (B, C)
    b = np.arange(world.num_cars)[:, None]
    major = world.by_car(world.junction_is_major)[b, world.route_connector_junction]
    layout = np.where(
        (overlap & major).any(axis=1),
        2,
        np.where((overlap & (world.route_connector_turn != 0)).any(axis=1), 1, 0),
    )
    return {
        "light_state": light.astype(np.int64),
        "object_ahead": scene["object_class"],
        "object_distance_m": np.minimum(scene["object_distance_m"], view),
        "road_layout": layout.astype(np.int64),
    }


def infos(world: TownState) -> dict[str, np.ndarray]:
    """Per-world metrics (B,), CARLA-style driving score included."""
    m = world.metrics
    completion = np.clip(world.s_m / world.route_length_m, 0.0, 1.0)
    completion = np.where(m["success"], 1.0, completion)
    penalty = np.ones(world.num_cars)
    for name, coefficient in PENALTY_COEFFICIENT.items():
        penalty *= coefficient ** m[name]
    steps = np.maximum(m["steps"], 1)
    out = {
        "route_completion": completion,
        "collisions_vehicle": m["collisions_vehicle"].copy(),
        "collisions_pedestrian": m["collisions_pedestrian"].copy(),
        "red_light_violations": m["red_light_violations"].copy(),
        "stop_sign_violations": m["stop_sign_violations"].copy(),
        "off_road": m["off_road"].copy(),
        "off_route": m["off_route"].copy(),
        "success": m["success"].copy(),
        "stalled": m["stalled"].copy(),
        "average_speed_mps": m["distance_m"] / (steps * world.config.dt_s),
        "driving_score": completion * penalty,
        "speed_mps": world.car.speed_mps.copy(),
    }
    if world.num_agents > 1:
        out["agent_collisions"] = world.agent_collisions.copy()
        out["controlled_collisions"] = world.controlled_collisions[world.agent_world]
    return out
