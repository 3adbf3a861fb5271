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


@njit
def semantic_view(
    view,
    flat_rasters,
    worlds,
    col_px,
    row_px,
    cos,
    sin,
    forward_px,
    left_px,
    side,
    margin,
    bits,
    ego_rows,
    ego_cols,
    ego_class,
):
    """``EgoCamera.semantic`` whole: the fixed-point terms of each world (its numpy
    ``_fixed`` arithmetic: clamp, multiply-add, scale by 2**bits, floor, int32), the
    test for views inside the raster, the gather (:func:`gather_view`) and the ego car's
    stamp (rows ``ego_rows[0]:ego_rows[1]``, columns ``ego_cols[0]:ego_cols[1]``)."""
    count, height, width = view.shape
    scale = np.float64(1 << bits)
    col_by_row = np.empty((count, height), np.int32)
    row_by_row = np.empty((count, height), np.int32)
    col_by_col = np.empty((count, width), np.int32)
    row_by_col = np.empty((count, width), np.int32)
    inside = np.empty(count, np.bool_)
    for k in range(count):
        col = min(max(col_px[k], -margin), side + margin)
        row = min(max(row_px[k], -margin), side + margin)
        for r in range(height):
            col_by_row[k, r] = np.int32(np.floor((col + forward_px[r] * cos[k]) * scale))
            row_by_row[k, r] = np.int32(np.floor((row - forward_px[r] * sin[k]) * scale))
        for c in range(width):
            col_by_col[k, c] = np.int32(np.floor(-left_px[c] * sin[k] * scale))
            row_by_col[k, c] = np.int32(np.floor(-left_px[c] * cos[k] * scale))
        inside[k] = True
        for r in (0, height - 1):
            for c in (0, width - 1):
                col_end = col_by_row[k, r] + col_by_col[k, c]
                row_end = row_by_row[k, r] + row_by_col[k, c]
                if min(col_end, row_end) < 0 or max(col_end, row_end) >> bits > side - 1:
                    inside[k] = False
    gather_view(
        view,
        flat_rasters,
        worlds,
        col_by_row,
        col_by_col,
        row_by_row,
        row_by_col,
        inside,
        side,
        bits,
    )
    view[:, ego_rows[0] : ego_rows[1], ego_cols[0] : ego_cols[1]] = ego_class
    return view


@njit
def actors_in_view(ego_x, ego_y, cos, sin, actor_xy, valid, centre_forward_m, reach_m):
    """The actors (V,) near each camera: ``(frame, actor, forward, left)``, the first
    part of ``ActorSplatter.splat``: each actor's offset ahead of and left of the car
    (its arithmetic), kept when its centre lies within ``reach_m`` of the camera centre
    (and ``valid`` (B, A), when not empty). Squared distances decide here where numpy
    takes a ``hypot``; an actor that far from the view's centre has no sample in view, so
    the frames agree whichever side of the line it falls.
    """
    batch, count = actor_xy.shape[0], actor_xy.shape[1]
    frame = np.empty(batch * count, np.int64)
    actor = np.empty(batch * count, np.int64)
    forward = np.empty(batch * count)
    left = np.empty(batch * count)
    masked = valid.shape[0] > 0
    n = 0
    for b in range(batch):
        for a in range(count):
            if masked and not valid[b, a]:
                continue
            rx = actor_xy[b, a, 0] - ego_x[b]
            ry = actor_xy[b, a, 1] - ego_y[b]
            f = rx * cos[b] + ry * sin[b]
            lft = -rx * sin[b] + ry * cos[b]
            df = f - centre_forward_m
            if df * df + lft * lft < reach_m * reach_m:
                frame[n], actor[n], forward[n], left[n] = b, a, f, lft
                n += 1
    return frame[:n], actor[:n], forward[:n], left[:n]
