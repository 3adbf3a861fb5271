"""The controlled cars' collisions with NPC cars and pedestrians (the numpy reference;
``kernels/outcome.py`` is its numba twin)."""

from __future__ import annotations

import numpy as np

from roadgym.envs.town.state import TownState

PEDESTRIAN_RADIUS_M = 0.35  # the body a car collides with


def collisions(world: TownState) -> tuple[np.ndarray, np.ndarray]:
    """Whether each ego car (B,) overlaps an NPC car, and a pedestrian (oriented boxes).

    Only the pairs whose centres are close enough for their shapes to touch are tested
    (the boxes' circumscribed circles, with a margin); the others cannot overlap.
    """
    cfg = world.config
    half_length, half_width = 0.5 * cfg.car_length_m, 0.5 * cfg.car_width_m
    ego_x, ego_y = world.car.x_m[:, None], world.car.y_m[:, None]
    veh_heading, veh_xy = world.by_car(world.veh_heading), world.by_car(world.veh_xy)
    dx, dy = veh_xy[..., 0] - ego_x, veh_xy[..., 1] - ego_y  # (C, N)
    touch_m = 2.0 * (half_length + half_width) + 0.5  # > both circumscribed radii
    close = dx * dx + dy * dy < touch_m * touch_m
    vehicle = np.zeros(world.num_cars, dtype=bool)
    if close.any():
        c, v = np.nonzero(close)  # (M,) pairs
        # Unit vectors as (x, y) components: forward f and left l of the ego and of the
        # NPC car of each pair; the same sums as dot products over a trailing axis.
        cos0, sin0 = np.cos(world.car.heading_rad), np.sin(world.car.heading_rad)
        cos1, sin1 = np.cos(veh_heading), np.sin(veh_heading)
        f0x, f0y = cos0[c], sin0[c]
        l0x, l0y = -f0y, f0x
        f1x, f1y = cos1[c, v], sin1[c, v]
        l1x, l1y = -f1y, f1x
        px, py = dx[c, v], dy[c, v]
        separated = np.zeros(len(c), dtype=bool)
        for ax, ay in ((f0x, f0y), (l0x, l0y), (f1x, f1y), (l1x, l1y)):  # separating axes
            r0 = half_length * np.abs(f0x * ax + f0y * ay) + half_width * np.abs(
                l0x * ax + l0y * ay
            )
            r1 = half_length * np.abs(f1x * ax + f1y * ay) + half_width * np.abs(
                l1x * ax + l1y * ay
            )
            separated |= np.abs(px * ax + py * ay) > r0 + r1
        vehicle[c[~separated]] = True
    # A pedestrian is a disc: clamp it into the ego box and measure what is left.
    ped_xy = world.by_car(world.ped_xy)
    px, py = ped_xy[..., 0] - ego_x, ped_xy[..., 1] - ego_y  # (C, P)
    reach_m = half_length + half_width + PEDESTRIAN_RADIUS_M + 0.5
    close = px * px + py * py < reach_m * reach_m
    pedestrian = np.zeros(world.num_cars, dtype=bool)
    if close.any():
        c, p = np.nonzero(close)
        f0x, f0y = np.cos(world.car.heading_rad), np.sin(world.car.heading_rad)
        f0x, f0y = f0x[c], f0y[c]
        l0x, l0y = -f0y, f0x
        px, py = px[c, p], py[c, p]
        along = px * f0x + py * f0y
        across = px * l0x + py * l0y
        out_along = along - np.minimum(np.maximum(along, -half_length), half_length)
        out_across = across - np.minimum(np.maximum(across, -half_width), half_width)
        hit = out_along * out_along + out_across * out_across < PEDESTRIAN_RADIUS_M**2
        pedestrian[c[hit]] = True
    return vehicle, pedestrian
