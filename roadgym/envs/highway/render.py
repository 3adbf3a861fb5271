"""The bird's-eye frame of a highway world: the road around the ego car, the cars, HUD."""

from __future__ import annotations

import cv2
import numpy as np

from roadgym.envs.core.dynamics import car_corners
from roadgym.envs.core.map_raster import PixelFrame
from roadgym.envs.core.rendering import (
    agent_colour,
    draw_agent_marks,
    draw_ego_car,
    draw_overlays,
)
from roadgym.envs.core.semantic import PALETTE, SemanticClass
from roadgym.envs.highway.raster import draw_highway
from roadgym.envs.highway.state import HighwayState

RENDER_VIEW_M = 100.0  # side of the bird's-eye view in meters
VEHICLE_OUTLINE = (60, 50, 0)


def birdseye_frame(
    world: HighwayState,
    index: int,
    size_px: int,
    camera_rgb: np.ndarray | None = None,
    hud_lines: tuple[str, ...] = (),
    agent: int = 0,
) -> np.ndarray:
    """A north-up RGB frame (size, size, 3) centred on controlled car ``agent`` of world
    ``index``. With several cars, every controlled car has its own colour
    (``agent_colour``; darker once it has ended and stands parked), its index beside it,
    and the followed one a white ring."""
    hmap = world.maps[index]
    if hmap is None:
        raise RuntimeError(f"world {index} has not been reset; call reset() before render()")
    mpp = RENDER_VIEW_M / size_px
    car, cfg, n = world.car, world.config, world.num_npcs
    me = index * world.num_agents + agent
    x, y = float(car.x_m[me]), float(car.y_m[me])
    frame = PixelFrame(x - 0.5 * RENDER_VIEW_M, y + 0.5 * RENDER_VIEW_M, mpp)
    semantic = np.full((size_px, size_px), SemanticClass.GRASS, np.uint8)
    s = float(world.own(world.veh_s)[me])
    draw_highway(semantic, hmap, frame, s - RENDER_VIEW_M, s + RENDER_VIEW_M)
    image = np.ascontiguousarray(PALETTE[semantic])

    def pixels(points: np.ndarray) -> np.ndarray:
        return np.round(frame.to_pixels(points) * 16).astype(np.int32)

    size_m = (cfg.car_length_m, cfg.car_width_m)
    xy, heading = world.vehicle_poses()
    near = np.abs(world.veh_s[index, :n] - s) < RENDER_VIEW_M
    boxes = car_corners(
        xy[index, near, 0],
        xy[index, near, 1],
        heading[index, near],
        cfg.car_length_m,
        cfg.car_width_m,
    )
    colour = tuple(int(c) for c in PALETTE[SemanticClass.VEHICLE])
    for box in boxes:
        cv2.fillConvexPoly(image, pixels(box), colour, cv2.LINE_AA, 4)
        cv2.polylines(image, [pixels(box)], True, VEHICLE_OUTLINE, 1, cv2.LINE_AA, 4)
    first, a = index * world.num_agents, world.num_agents
    for k in range(first, first + a):
        if k == me or not world.present[k]:
            continue
        (box,) = car_corners(
            car.x_m[k : k + 1], car.y_m[k : k + 1], car.heading_rad[k : k + 1], *size_m
        )
        colour = agent_colour(k - first)
        if world.finished[k]:
            colour = tuple(c // 2 for c in colour)
        cv2.fillConvexPoly(image, pixels(box), colour, cv2.LINE_AA, 4)
        cv2.polylines(image, [pixels(box)], True, (0, 0, 0), 1, cv2.LINE_AA, 4)
    ego = car_corners(np.array([x]), np.array([y]), car.heading_rad[me : me + 1], *size_m)[0]
    followed = agent_colour(me - first)
    if a > 1 and world.finished[me]:
        followed = tuple(c // 2 for c in followed)
    draw_ego_car(image, pixels(ego), followed)
    if a > 1:
        cars = np.arange(first, first + a)[world.present[first : first + a]]
        centres = frame.to_pixels(np.stack([car.x_m[cars], car.y_m[cars]], axis=-1))
        radius = int(0.5 * cfg.car_length_m / mpp) + 3
        draw_agent_marks(image, centres, cars - first, me - first, radius)
    draw_overlays(image, camera_rgb, hud_lines)
    return image
