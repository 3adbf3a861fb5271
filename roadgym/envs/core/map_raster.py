"""World meters to raster pixels: the frame every world draws its map and render through.

One drawing routine per world serves the map raster that the camera samples and the larger
bird's-eye frame of ``render_mode``; only the :class:`PixelFrame` differs.
"""

from __future__ import annotations

import dataclasses

import numpy as np

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
