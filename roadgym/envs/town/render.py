"""What people watch in Town-v0: a bird's-eye frame of the town around the ego car.

The town is drawn once per episode at the frame's resolution (striped crosswalks, the
route); each frame crops it around the car and draws the lights, cars, pedestrians, HUD
and the camera inset on top with opencv, so ``rgb_array`` works headless.
"""

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
from roadgym.envs.town.raster import LIGHT_BAR_M, _bar, draw_route, draw_town, town_frame
from roadgym.envs.town.world import LIGHT_CLASS, TownWorld

RENDER_VIEW_M = 70.0  # side of the bird's-eye view in meters


def _colour(cls: int) -> tuple[int, int, int]:
    return tuple(int(c) for c in PALETTE[cls])


class TownRenderer:
    """Frames of world ``index`` of a :class:`TownWorld`, following its controlled car
    ``agent`` (its route drawn). With several cars, every controlled car has its own
    colour (``agent_colour``; darker once it has ended and stands parked), its index
    beside it, and the followed one a white ring."""

    def __init__(self, world: TownWorld, index: int, size_px: int, agent: int = 0) -> None:
        self.world, self.index, self.size_px = world, index, size_px
        self.car = index * world.num_agents + agent
        town = world.towns[index]
        if town is None:
            raise RuntimeError(f"world {index} has not been reset; call reset() before render()")
        self.mpp = RENDER_VIEW_M / size_px
        xmin, ymin, xmax, ymax = town.extent_m
        self.pad = size_px  # room to crop near the edges
        side = int(np.ceil(max(xmax - xmin, ymax - ymin) / self.mpp)) + 2 * self.pad
        self.map_frame = town_frame(town, side, self.mpp)
        semantic = np.full((side, side), SemanticClass.GRASS, np.uint8)
        draw_town(semantic, town, self.map_frame, striped=True)
        draw_route(semantic, world.routes[self.car], self.map_frame)
        self.map_rgb = np.ascontiguousarray(PALETTE[semantic])
        self.bars = [_bar(line, LIGHT_BAR_M) for line in town.approach_stop_line]

    def frame_of(self, x: float, y: float) -> PixelFrame:
        half = 0.5 * self.size_px * self.mpp
        return PixelFrame(x - half, y + half, self.mpp)

    def frame(self, camera_rgb: np.ndarray | None, hud_lines: tuple[str, ...] = ()) -> np.ndarray:
        """An RGB frame (size, size, 3) centred on the ego car."""
        w, i, size, me = self.world, self.index, self.size_px, self.car
        x, y = float(w.car.x_m[me]), float(w.car.y_m[me])
        view = self.frame_of(x, y)
        col0 = int(round((view.left_m - self.map_frame.left_m) / self.mpp))
        row0 = int(round((self.map_frame.top_m - view.top_m) / self.mpp))
        side = self.map_rgb.shape[0]
        image = np.zeros((size, size, 3), np.uint8)
        image[:] = PALETTE[SemanticClass.GRASS]
        r0, c0 = max(row0, 0), max(col0, 0)
        r1, c1 = min(row0 + size, side), min(col0 + size, side)
        if r1 > r0 and c1 > c0:
            image[r0 - row0 : r1 - row0, c0 - col0 : c1 - col0] = self.map_rgb[r0:r1, c0:c1]

        def pixels(points: np.ndarray) -> np.ndarray:
            return np.round(view.to_pixels(points) * 16).astype(np.int32)

        for bar, state in zip(self.bars, w.light_state[i], strict=False):
            if state:
                cv2.fillConvexPoly(image, pixels(bar), _colour(LIGHT_CLASS[state]), cv2.LINE_AA, 4)
        cfg = w.config
        boxes = car_corners(
            w.veh_xy[i, :, 0],
            w.veh_xy[i, :, 1],
            w.veh_heading[i],
            cfg.car_length_m,
            cfg.car_width_m,
        )
        for box in boxes:
            cv2.fillConvexPoly(image, pixels(box), _colour(SemanticClass.VEHICLE), cv2.LINE_AA, 4)
            cv2.polylines(image, [pixels(box)], True, (60, 50, 0), 1, cv2.LINE_AA, 4)
        radius = max(int(0.4 / self.mpp), 2)
        for p, waiting in zip(w.ped_xy[i], w.ped_waiting[i], strict=True):
            centre = tuple(int(v) for v in np.round(view.to_pixels(p)))
            cv2.circle(image, centre, radius, _colour(SemanticClass.PEDESTRIAN), -1, cv2.LINE_AA)
            if waiting:
                cv2.circle(image, centre, radius + 1, (0, 0, 0), 1, cv2.LINE_AA)
        a = w.num_agents
        for k in range(i * a, (i + 1) * a):  # the other controlled cars still in the world
            if k == me or not w.present[k]:
                continue
            (box,) = car_corners(
                w.car.x_m[k : k + 1],
                w.car.y_m[k : k + 1],
                w.car.heading_rad[k : k + 1],
                cfg.car_length_m,
                cfg.car_width_m,
            )
            colour = agent_colour(k - i * a)
            if w.finished[k]:
                colour = tuple(c // 2 for c in colour)
            cv2.fillConvexPoly(image, pixels(box), colour, cv2.LINE_AA, 4)
            cv2.polylines(image, [pixels(box)], True, (0, 0, 0), 1, cv2.LINE_AA, 4)
        ego = car_corners(
            np.array([x]),
            np.array([y]),
            w.car.heading_rad[me : me + 1],
            cfg.car_length_m,
            cfg.car_width_m,
        )[0]
        followed = agent_colour(me - i * a)
        if a > 1 and w.finished[me]:
            followed = tuple(c // 2 for c in followed)
        draw_ego_car(image, pixels(ego), followed)
        if a > 1:
            cars = np.arange(i * a, (i + 1) * a)[w.present[i * a : (i + 1) * a]]
            centres = view.to_pixels(np.stack([w.car.x_m[cars], w.car.y_m[cars]], axis=-1))
            radius = int(0.5 * cfg.car_length_m / self.mpp) + 3
            draw_agent_marks(image, centres, cars - i * a, me - i * a, radius)
        draw_overlays(image, camera_rgb, hud_lines)
        return image
