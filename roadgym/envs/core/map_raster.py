"""World meters to raster pixels: the frame every world draws its map and render through.

One drawing routine per world serves the map raster that the camera samples and the larger
bird's-eye frame of ``render_mode``; only the :class:`PixelFrame` differs.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from roadgym.envs.core.config import ConfigError

SUBPIXEL_BITS = 4  # cv2 drawing with 1/16 px precision


@dataclasses.dataclass(frozen=True)
class PixelFrame:
    """North-up mapping from world meters (x right, y up) to image pixels.

    Pixel (row, col) covers world x in ``left_m + col * mpp`` onwards and world y
    going down from ``top_m - row * mpp``.
    """

    left_m: float
    top_m: float
    meters_per_pixel: float

    def to_pixels(self, points: np.ndarray) -> np.ndarray:
        """World points (..., 2) to (col, row) floats (..., 2)."""
        col = (points[..., 0] - self.left_m) / self.meters_per_pixel
        row = (self.top_m - points[..., 1]) / self.meters_per_pixel
        return np.stack([col, row], axis=-1)

    def _fixed(self, points: np.ndarray) -> np.ndarray:
        # cv2 samples pixel centres at integer coordinates; our frame puts them at +0.5.
        pixels = self.to_pixels(points) - 0.5
        return np.round(pixels * (1 << SUBPIXEL_BITS)).astype(np.int32)


# The most memory the map rasters of one world batch may take. Far above any useful
# setting (a default Town raster is 0.5 MB per world), and far below where numpy's bare
# MemoryError (or the OS killing the process) would be the only message.
RASTER_BUDGET_BYTES = 2 * 1024**3


def check_raster_budget(side_px: int, batch_size: int, owner: str, extent_fields: str) -> None:
    """Refuse map rasters of ``batch_size`` x ``side_px``^2 bytes above the budget.

    ``extent_fields`` names the config fields that set the world's size, for the message.
    """
    needed = batch_size * side_px * side_px
    if needed > RASTER_BUDGET_BYTES:
        raise ConfigError(
            f"{owner}: the map rasters would need {needed / 1024**3:.1f} GiB "
            f"({batch_size} world(s) x {side_px} x {side_px} px); allowed: at most "
            f"{RASTER_BUDGET_BYTES / 1024**3:.0f} GiB. Raise meters_per_pixel, shrink the "
            f"world ({extent_fields}) or use fewer worlds"
        )
