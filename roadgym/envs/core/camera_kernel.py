"""numba kernels of the ego camera: the gather and the colouring (``roadgym[fast]``; their
decorator imports numba).

:meth:`roadgym.envs.core.camera.EgoCamera.semantic` builds each pixel's 16.16
fixed-point raster coordinate from two broadcast additions, shifts, clips and a flat
index, one (B, H, W) int32 pass each, then gathers. This kernel does the same integer
arithmetic pixel by pixel in one pass, so the class ids are identical.
"""

from __future__ import annotations

import numpy as np

from roadgym.envs.core.kernels import njit


@njit
def gather_view(
    view, flat_rasters, worlds, col_by_row, col_by_col, row_by_row, row_by_col, inside, side, bits
):
    """Write class ids into ``view`` (W, H, W) from ``flat_rasters`` (B, S * S).

    ``col_by_row``/``row_by_row`` (W, H) and ``col_by_col``/``row_by_col`` (W, W) are the
    fixed-point coordinate terms; worlds not ``inside`` the raster clip to its edge.
    """
    count, height, width = view.shape
    for k in range(count):
        raster = flat_rasters[worlds[k]]
        clip = not inside[k]
        for r in range(height):
            col_r, row_r = np.int64(col_by_row[k, r]), np.int64(row_by_row[k, r])
            for c in range(width):
                col = (col_r + col_by_col[k, c]) >> bits
                row = (row_r + row_by_col[k, c]) >> bits
                if clip:
                    col = min(max(col, 0), side - 1)
                    row = min(max(row, 0), side - 1)
                view[k, r, c] = raster[row * side + col]
    return view


@njit
def colour(semantic, palette):
    """RGB frames (B, H, W, 3) uint8 of class ids ``semantic`` (B, H, W) by ``palette``
    (256, 3): the bytes of ``EgoCamera.rgb``'s gather and OpenCV conversion."""
    count, height, width = semantic.shape
    rgb = np.empty((count, height, width, 3), np.uint8)
    for k in range(count):
        for r in range(height):
            for c in range(width):
                cls = semantic[k, r, c]
                rgb[k, r, c, 0] = palette[cls, 0]
                rgb[k, r, c, 1] = palette[cls, 1]
                rgb[k, r, c, 2] = palette[cls, 2]
    return rgb


@njit
def splat_samples(
    view, frame, forward, left, rc, rs, samples, car_row, centre_col, mpp, tie_px, value
):
    """Write ``value`` into ``view`` (B, H, W) at the box ``samples`` (S, 2) of actors
    (V,) in frames ``frame`` (V,), at ``forward``/``left`` (V,) metres from the car and
    turned by (``rc``, ``rs``) (V,): ``ActorSplatter.splat``'s per-sample arithmetic."""
    size = view.shape[1]
    for v in range(len(frame)):
        for k in range(samples.shape[0]):
            f = forward[v] + samples[k, 0] * rc[v] - samples[k, 1] * rs[v]
            lft = left[v] + samples[k, 0] * rs[v] + samples[k, 1] * rc[v]
            row = np.int64(np.floor(car_row - f / mpp + tie_px))
            col = np.int64(np.floor(centre_col - lft / mpp + tie_px))
            if row >= 0 and row < size and col >= 0 and col < size:
                view[frame[v], row, col] = value
