"""The bird's-eye frame of a track world: the map around the car, the car, HUD and inset."""

from __future__ import annotations

import numpy as np

from roadgym.envs.core.dynamics import car_corners
from roadgym.envs.core.map_raster import PixelFrame
from roadgym.envs.core.rendering import draw_ego_car, draw_overlays
from roadgym.envs.core.semantic import PALETTE, SemanticClass
from roadgym.envs.track.raster import draw_track
from roadgym.envs.track.world import TrackWorld

RENDER_VIEW_M = 80.0  # side of the bird's-eye view in meters


def birdseye_frame(
    world: TrackWorld,
    index: int,
    size_px: int,
    camera_rgb: np.ndarray | None = None,
    hud_lines: tuple[str, ...] = (),
) -> np.ndarray:
    """A north-up RGB frame (size, size, 3) centred on the car of world ``index``."""
    track = world.tracks[index]
    if track is None:
        raise RuntimeError(f"world {index} has not been reset; call reset() before render()")
    mpp = RENDER_VIEW_M / size_px
    car = world.car
    x, y, heading = car.x_m[index], car.y_m[index], car.heading_rad[index]
    frame = PixelFrame(
        left_m=float(x - 0.5 * RENDER_VIEW_M),
        top_m=float(y + 0.5 * RENDER_VIEW_M),
        meters_per_pixel=mpp,
    )
    semantic = np.full((size_px, size_px), SemanticClass.GRASS, np.uint8)
    draw_track(semantic, track, frame)
    image = np.ascontiguousarray(PALETTE[semantic])

    cfg = world.config
    corners = car_corners(
        np.array([x]), np.array([y]), np.array([heading]), cfg.car_length_m, cfg.car_width_m
    )[0]
    draw_ego_car(image, np.round(frame.to_pixels(corners) * 16).astype(np.int32))
    draw_overlays(image, camera_rgb, hud_lines)
    return image
