"""highway-env's ``GrayscaleObservation`` from roadgym's ego camera.

highway-env renders the scene around the ego car with its viewer (world axes, the road
along the image's first axis) and stacks ``stack_size`` grey frames ``(stack, W, H)``.
roadgym renders its car-up camera at ``1 / scaling`` meters per pixel, square with side
``max(W, H)``; the frame is flipped so that the first axis runs forward along the road
(highway-env's ``x``) and the second towards the right lanes (its ``y``), then cropped to
``(W, H)`` with the car at ``centering_position``. Differences that stay: roadgym's
palette, and its camera turns with the car (highway-env's view does not).
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import numpy as np
from gymnasium import spaces

from roadgym.envs.core.config import BaseConfig, ConfigError, option

AHEAD_FRACTION_RANGE = (0.5, 0.95)  # WorldConfig.camera_ahead_fraction's allowed range


@dataclasses.dataclass(frozen=True)
class GrayscaleObservation(BaseConfig):
    """Options of highway-env's ``GrayscaleObservation`` (its names and defaults)."""

    type_name: ClassVar[str] = "GrayscaleObservation"

    observation_shape: Any = option((84, 84), "(W, H): pixels along and across the road.")
    stack_size: int = option(4, "Frames stacked on the first axis, oldest first.", low=1, high=16)
    weights: Any = option((0.2989, 0.5870, 0.1140), "RGB -> grey weights.")
    scaling: float = option(5.5, "Pixels per meter (highway-env's default).", low=0.2, high=20.0)
    centering_position: Any = option(
        (0.3, 0.5), "Where the car sits: fraction along W (from behind), along H (0.5 only)."
    )

    def validate(self) -> None:
        owner = type(self).__name__
        shape = np.asarray(self.observation_shape)
        if shape.shape != (2,) or not np.all(shape == np.round(shape)) or np.any(shape < 16):
            raise ConfigError(
                f"{owner}.observation_shape = {self.observation_shape!r}; allowed: (W, H), "
                "whole numbers of pixels in [16, 512]"
            )
        if np.any(shape > 512):
            raise ConfigError(
                f"{owner}.observation_shape = {self.observation_shape!r}; allowed: sides <= 512"
            )
        weights = np.asarray(self.weights, dtype=np.float64)
        if weights.shape != (3,) or not np.all(np.isfinite(weights)):
            raise ConfigError(f"{owner}.weights = {self.weights!r}; allowed: three finite numbers")
        centre = np.asarray(self.centering_position, dtype=np.float64)
        low, high = 1.0 - AHEAD_FRACTION_RANGE[1], 1.0 - AHEAD_FRACTION_RANGE[0]
        if centre.shape != (2,) or not low <= centre[0] <= high or centre[1] != 0.5:
            raise ConfigError(
                f"{owner}.centering_position = {self.centering_position!r}; allowed: "
                f"[x, 0.5] with x in [{low:.2f}, {high:.2f}] (roadgym's camera keeps the car "
                "on its centre line)"
            )
        object.__setattr__(self, "observation_shape", tuple(int(v) for v in shape))
        object.__setattr__(self, "weights", tuple(weights.tolist()))
        object.__setattr__(self, "centering_position", tuple(centre.tolist()))

    def camera_fields(self) -> dict[str, Any]:
        """The HighwayConfig camera fields that render what this observation crops."""
        return {
            "observation": "rgb",
            "camera_size_px": max(self.observation_shape),
            "meters_per_pixel": 1.0 / self.scaling,
            "camera_ahead_fraction": 1.0 - self.centering_position[0],
        }

    def space(self) -> spaces.Box:
        return spaces.Box(0, 255, (self.stack_size, *self.observation_shape), np.uint8)

    def grey(self, camera_rgb: np.ndarray) -> np.ndarray:
        """Grey frames (B, W, H) uint8 from camera frames (B, S, S, 3)."""
        width, height = self.observation_shape
        side = camera_rgb.shape[1]
        # Row 0 of the camera is ahead: flipped, axis 1 runs forward along the road.
        start_x = int(round(self.centering_position[0] * (side - width)))
        start_y = (side - height) // 2
        view = camera_rgb[:, ::-1][:, start_x : start_x + width, start_y : start_y + height]
        grey = view.astype(np.float32) @ np.asarray(self.weights, np.float32)
        return np.clip(grey, 0, 255).astype(np.uint8)


def push_frames(stack: np.ndarray, frames: np.ndarray) -> np.ndarray:
    """highway-env's stacking: drop the oldest frame of each (B, K, W, H), append ``frames``."""
    stack = np.roll(stack, -1, axis=1)
    stack[:, -1] = frames
    return stack
