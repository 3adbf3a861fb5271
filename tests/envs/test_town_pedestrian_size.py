"""Pedestrians are visible: at least 3 x 3 pixels in the default camera, wherever they stand."""

import cv2
import numpy as np

from roadgym.envs.core.semantic import SemanticClass
from roadgym.envs.town import TownConfig, TownWorld


def test_a_pedestrian_covers_a_3x3_block_at_the_default_camera_anywhere_in_view():
    config = TownConfig(observation="rgb+semantic")
    assert config.camera_size_px == 64 and config.meters_per_pixel == 0.5  # the default camera
    world = TownWorld(config, 1)
    world.reset_world(0, np.random.default_rng(0))
    world.veh_xy[:] = 1e6  # every car and every other pedestrian far out of view
    world.ped_xy[:] = 1e6
    rng = np.random.default_rng(1)
    kernel = np.ones((3, 3), np.uint8)
    half_view_m = 0.5 * config.camera_size_px * config.meters_per_pixel
    drawn = 0
    for _ in range(200):
        world.car.heading_rad[0] = rng.uniform(-np.pi, np.pi)
        forward = np.array([np.cos(world.car.heading_rad[0]), np.sin(world.car.heading_rad[0])])
        left = np.array([-forward[1], forward[0]])
        # Anywhere in the camera's square, clear of its edges and of the ego car.
        ahead_m = rng.uniform(4.0, world.view_ahead_m - 2.0)
        side_m = rng.uniform(-half_view_m + 2.0, half_view_m - 2.0)
        world.ped_xy[0, 0] = world.ego_xy()[0] + ahead_m * forward + side_m * left
        world.ped_heading[0, 0] = rng.uniform(-np.pi, np.pi)
        semantic = world.semantic_view()[0]
        mask = (semantic == SemanticClass.PEDESTRIAN).astype(np.uint8)
        assert cv2.erode(mask, kernel).any(), (ahead_m, side_m, int(mask.sum()))
        assert mask.sum() <= 16  # 4 x 4 at most: a person, not a car
        drawn += 1
    assert drawn == 200
