"""numba kernel of the light bars' pixel table: :func:`roadgym.envs.town.raster.light_bar_table`.

When every light's stop bar is an axis-aligned rectangle well inside the raster, the
numpy code lists each bar's pixels from the rows and columns its corners round to
(``raster._rectangle_bounds``) in some 20 array calls; this loop applies the same test
and lists the same pixels in the same (row-major) order.
"""

from __future__ import annotations

import numpy as np

from roadgym.envs.core.kernels import njit


@njit
def light_bar_pixels(fixed, side_px, light_rows, num_approaches, subpixel_bits):
    """``(ok, pixels (Q, P) padded with -1, count (Q,))`` for bars ``fixed`` (K, 4, 2)
    (cv2 fixed point, corners in order) of approaches ``light_rows`` (K,); ``ok`` False
    (and nothing listed) unless every bar is such a rectangle."""
    one = 1 << subpixel_bits
    half = one >> 1
    bars = len(fixed)
    first = np.empty((bars, 2), dtype=np.int64)
    last = np.empty((bars, 2), dtype=np.int64)
    lowest, widest = 0, 1
    for k in range(bars):
        vertical_first = horizontal_first = True
        for e in range(4):
            same_x = fixed[k, e, 0] == fixed[k, (e + 1) % 4, 0]
            same_y = fixed[k, e, 1] == fixed[k, (e + 1) % 4, 1]
            if e % 2 == 0:
                vertical_first = vertical_first and same_x
                horizontal_first = horizontal_first and same_y
            else:
                vertical_first = vertical_first and same_y
                horizontal_first = horizontal_first and same_x
        if not (vertical_first or horizontal_first):
            return False, np.empty((0, 0), dtype=np.int64), np.empty(0, dtype=np.int64)
        for q in range(2):
            low, high = fixed[k, 0, q], fixed[k, 0, q]
            for e in range(1, 4):
                low, high = min(low, fixed[k, e, q]), max(high, fixed[k, e, q])
            if k == 0 and q == 0:
                lowest = low
            lowest = min(lowest, low)
            limit = one * (side_px - 3)
            if high > limit:
                return False, np.empty((0, 0), dtype=np.int64), np.empty(0, dtype=np.int64)
            first[k, q] = (np.int64(low) + half) >> subpixel_bits
            last[k, q] = (np.int64(high) + half) >> subpixel_bits
        size = (last[k, 0] - first[k, 0] + 1) * (last[k, 1] - first[k, 1] + 1)
        widest = max(widest, size)
    if lowest < 0:
        return False, np.empty((0, 0), dtype=np.int64), np.empty(0, dtype=np.int64)
    pixels = np.full((num_approaches, widest), -1, dtype=np.int64)
    count = np.zeros(num_approaches, dtype=np.int64)
    for k in range(bars):
        row = light_rows[k]
        for y in range(first[k, 1], last[k, 1] + 1):
            for x in range(first[k, 0], last[k, 0] + 1):
                pixels[row, count[row]] = y * side_px + x
                count[row] += 1
    return True, pixels, count
