"""numba kernel of a step's outcome: :func:`roadgym.envs.town.ego.reward_and_end`.

Collisions (the separating-axis test against nearby NPC cars, the disc test against
nearby pedestrians), the off-road test of the car's four corners, the stall clock, the
reward and the metrics, car by car: one call instead of ~80 numpy calls. cos and sin
come from numpy (the caller), everything else is +, -, *, / and comparisons in the numpy
code's order, so the results are identical.
"""

from __future__ import annotations

import numpy as np

from roadgym.envs.core.kernels import njit
from roadgym.envs.core.stall import STALL_PROGRESS_M


@njit
def _vehicle_hit(c, ego_x, ego_y, cos0, sin0, veh_xy, veh_cos, veh_sin, half_l, half_w):
    """Whether controlled car ``c`` overlaps an NPC car (``collisions.collisions``' numpy test)."""
    touch_m = 2.0 * (half_l + half_w) + 0.5
    f0x, f0y = cos0[c], sin0[c]
    l0x, l0y = -f0y, f0x
    for v in range(veh_xy.shape[1]):
        px = veh_xy[c, v, 0] - ego_x
        py = veh_xy[c, v, 1] - ego_y
        if not px * px + py * py < touch_m * touch_m:
            continue
        f1x, f1y = veh_cos[c, v], veh_sin[c, v]
        l1x, l1y = -f1y, f1x
        separated = False
        for axis in range(4):
            if axis == 0:
                ax, ay = f0x, f0y
            elif axis == 1:
                ax, ay = l0x, l0y
            elif axis == 2:
                ax, ay = f1x, f1y
            else:
                ax, ay = l1x, l1y
            r0 = half_l * abs(f0x * ax + f0y * ay) + half_w * abs(l0x * ax + l0y * ay)
            r1 = half_l * abs(f1x * ax + f1y * ay) + half_w * abs(l1x * ax + l1y * ay)
            if abs(px * ax + py * ay) > r0 + r1:
                separated = True
        if not separated:
            return True
    return False


@njit
def _pedestrian_hit(c, ego_x, ego_y, cos0, sin0, ped_xy, half_l, half_w, radius_m, radius_sq):
    """Whether controlled car ``c`` touches a pedestrian (a disc against its box)."""
    reach_m = half_l + half_w + radius_m + 0.5
    f0x, f0y = cos0[c], sin0[c]
    l0x, l0y = -f0y, f0x
    for p in range(ped_xy.shape[1]):
        px = ped_xy[c, p, 0] - ego_x
        py = ped_xy[c, p, 1] - ego_y
        if not px * px + py * py < reach_m * reach_m:
            continue
        along = px * f0x + py * f0y
        across = px * l0x + py * l0y
        out_along = along - min(max(along, -half_l), half_l)
        out_across = across - min(max(across, -half_w), half_w)
        if out_along * out_along + out_across * out_across < radius_sq:
            return True
    return False


@njit
def _off_road(c, x, y, cos0, sin0, half_l, half_w, origin, mpp, rasters, drivable):
    """Whether a corner of car ``c`` stands off the drivable classes (``off_road``)."""
    side = rasters.shape[1]
    fx, fy = cos0[c], sin0[c]
    lx, ly = -fy, fx
    for corner in range(4):
        a = half_l if corner < 2 else -half_l
        b = half_w if corner == 0 or corner == 3 else -half_w
        cx = x + a * fx + b * lx
        cy = y + a * fy + b * ly
        col = np.int64((cx - origin[c, 0]) / mpp)
        row = np.int64((origin[c, 1] - cy) / mpp)
        row = min(max(row, 0), side - 1)
        col = min(max(col, 0), side - 1)
        if not drivable[rasters[c, row, col]]:
            return True
    return False


@njit
def step_outcome(
    x_m,
    y_m,
    cos0,
    sin0,
    speed_mps,
    s_m,
    previous_s,
    lateral_offset_m,
    route_length_m,
    veh_xy,
    veh_cos,
    veh_sin,
    ped_xy,
    other_hit,
    rasters,
    origin,
    drivable,
    red,
    stop,
    stall_anchor_m,
    stall_steps,
    constants,
    timeout_steps,
    collisions_vehicle,
    collisions_pedestrian,
    red_light_violations,
    stop_sign_violations,
    steps_count,
    off_road_flag,
    off_route_flag,
    success_flag,
    stalled_flag,
    distance_m,
):
    """``(reward, terminated)`` (C,) each; updates the stall clock and the metrics.

    ``constants``: half length, half width, pedestrian radius and its square, metres per
    pixel, route tolerance, goal tolerance, stall progress, dt, then the reward's route
    reward, step penalty, collision, red light, stop sign, off-road, off-route and stall
    penalties and success reward. The metrics (C,) each, from ``collisions_vehicle`` to
    ``distance_m``, are the world's, updated in place. ``other_hit`` (C,): collisions
    with other controlled cars (``agents.agent_collisions``).
    """
    half_l, half_w, radius_m, radius_sq = constants[0], constants[1], constants[2], constants[3]
    mpp, tolerance_m, goal_m = constants[4], constants[5], constants[6]
    progress_m, dt_s = constants[7], constants[8]
    cars = x_m.shape[0]
    reward = np.empty(cars)
    terminated = np.empty(cars, dtype=np.bool_)
    for c in range(cars):
        x, y = x_m[c], y_m[c]
        hit_vehicle = _vehicle_hit(c, x, y, cos0, sin0, veh_xy, veh_cos, veh_sin, half_l, half_w)
        hit_vehicle = hit_vehicle or other_hit[c]
        hit_pedestrian = _pedestrian_hit(
            c, x, y, cos0, sin0, ped_xy, half_l, half_w, radius_m, radius_sq
        )
        off_road = _off_road(c, x, y, cos0, sin0, half_l, half_w, origin, mpp, rasters, drivable)
        off_route = abs(lateral_offset_m[c]) > tolerance_m
        length = route_length_m[c]
        success = s_m[c] >= length - goal_m
        # core.stall.StallClock.update
        anchor = stall_anchor_m[c]
        advanced = s_m[c] >= anchor + progress_m
        stall_anchor_m[c] = s_m[c] if advanced else anchor
        steps = 0 if advanced else stall_steps[c] + 1
        stall_steps[c] = steps
        stalled = timeout_steps != 0 and steps >= timeout_steps and not success
        progress = min(max(s_m[c], 0.0), length) - min(max(previous_s[c], 0.0), length)
        value = constants[9] * progress / length - constants[10]
        value -= constants[11] * (1.0 if hit_vehicle or hit_pedestrian else 0.0)
        value -= constants[12] * red[c]
        value -= constants[13] * stop[c]
        value -= constants[14] * (1.0 if off_road else 0.0)
        value -= constants[15] * (1.0 if off_route else 0.0)
        value -= constants[16] * (1.0 if stalled else 0.0)
        reward[c] = value + constants[17] * (1.0 if success else 0.0)
        collisions_vehicle[c] += hit_vehicle
        collisions_pedestrian[c] += hit_pedestrian
        red_light_violations[c] += red[c]
        stop_sign_violations[c] += stop[c]
        steps_count[c] += 1
        off_road_flag[c] |= off_road
        off_route_flag[c] |= off_route
        success_flag[c] |= success
        stalled_flag[c] |= stalled
        distance_m[c] += speed_mps[c] * dt_s
        hit = hit_vehicle or hit_pedestrian
        terminated[c] = hit or off_road or off_route or success or stalled
    return reward, terminated


METRIC_ORDER = (
    "collisions_vehicle",
    "collisions_pedestrian",
    "red_light_violations",
    "stop_sign_violations",
    "steps",
    "off_road",
    "off_route",
    "success",
    "stalled",
    "distance_m",
)


def reward_and_end(world, previous_s, red, stop, other_hit, radius_m, goal_m, drivable):
    """:func:`roadgym.envs.town.ego.reward_and_end` for ``world`` (a ``TownState``):
    ``(reward, terminated)`` (C,); updates the stall clock and the metrics."""
    cfg, car = world.config, world.car
    veh_heading = world.by_car(world.veh_heading)
    constants = np.array(
        [
            0.5 * cfg.car_length_m,
            0.5 * cfg.car_width_m,
            radius_m,
            radius_m**2,
            cfg.meters_per_pixel,
            cfg.route_tolerance_m,
            goal_m,
            STALL_PROGRESS_M,
            cfg.dt_s,
            cfg.route_reward,
            cfg.step_penalty,
            cfg.collision_penalty,
            cfg.red_light_penalty,
            cfg.stop_sign_penalty,
            cfg.off_road_penalty,
            cfg.off_route_penalty,
            cfg.stall_penalty,
            cfg.success_reward,
        ]
    )
    return step_outcome(
        car.x_m,
        car.y_m,
        np.cos(car.heading_rad),
        np.sin(car.heading_rad),
        car.speed_mps,
        world.s_m,
        previous_s,
        world.lateral_offset_m,
        world.route_length_m,
        world.by_car(world.veh_xy),
        np.cos(veh_heading),
        np.sin(veh_heading),
        world.by_car(world.ped_xy),
        other_hit,
        world.rasters,
        world.raster_origin_m,
        drivable,
        red,
        stop,
        world.stall.anchor_m,
        world.stall.steps_since_progress,
        constants,
        world.stall.timeout_steps,
        *(world.metrics[name] for name in METRIC_ORDER),
    )
