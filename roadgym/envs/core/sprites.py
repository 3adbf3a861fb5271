"""Moving things drawn into camera frames: vehicles and pedestrians as splatted boxes.

Every actor is a fixed set of sample points inside its box. The points of the actors
near each camera are moved into that camera's pixel grid and written into the frames
with one scatter, so a batch of frames costs array operations, not a drawing call per
actor. The sample spacing is below a pixel, so boxes come out solid at any heading.
"""

from __future__ import annotations

import numpy as np

from roadgym.envs.core import kernels

TIE_MARGIN_PX = 1e-9  # a coordinate this close below a whole pixel rounds to it
_NO_MASK = np.zeros((0, 0), dtype=bool)  # valid=None for the numba kernel


def box_samples(length_m: float, width_m: float, spacing_m: float) -> np.ndarray:
    """Points (S, 2) = (forward, left) covering a length x width box at ``spacing_m``."""
    along = np.linspace(
        -0.5 * length_m, 0.5 * length_m, max(int(np.ceil(length_m / spacing_m)), 1) + 1
    )
    across = np.linspace(
        -0.5 * width_m, 0.5 * width_m, max(int(np.ceil(width_m / spacing_m)), 1) + 1
    )
    grid = np.stack(np.meshgrid(along, across, indexing="ij"), axis=-1)
    return grid.reshape(-1, 2)


class ActorSplatter:
    """Writes actor boxes into (B, H, W) camera class ids, seen from each ego car."""

    def __init__(self, size_px: int, ahead_fraction: float, meters_per_pixel: float) -> None:
        self.size_px = size_px
        self.car_row = size_px * ahead_fraction
        self.mpp = meters_per_pixel
        # An actor whose centre is further than this from the camera centre is out of view.
        centre_forward_m = (self.car_row - 0.5 * size_px) * meters_per_pixel
        self.camera_centre_forward_m = centre_forward_m
        self.view_radius_m = np.sqrt(2.0) * 0.5 * size_px * meters_per_pixel

    def splat(
        self,
        view: np.ndarray,
        ego_xy: np.ndarray,
        ego_heading: np.ndarray,
        actor_xy: np.ndarray,
        actor_heading: np.ndarray,
        samples: np.ndarray,
        value: int,
        valid: np.ndarray | None = None,
    ) -> None:
        """Draw actors (B, A) with box ``samples`` (S, 2) as class ``value`` into ``view``.

        ``ego_xy`` (B, 2), ``ego_heading`` (B,), ``actor_xy`` (B, A, 2),
        ``actor_heading`` (B, A); ``valid`` (B, A) masks actors out.
        """
        size = self.size_px
        cos, sin = np.cos(ego_heading), np.sin(ego_heading)  # (B,)
        reach = self.view_radius_m + np.abs(samples).max() * 1.5
        if kernels.use_numba():  # the same arithmetic, actor by actor (camera_kernel.py)
            from roadgym.envs.core.camera_kernel import actors_in_view, splat_samples

            b, a, f, lft = actors_in_view(
                ego_xy[:, 0],
                ego_xy[:, 1],
                cos,
                sin,
                actor_xy,
                _NO_MASK if valid is None else valid,
                self.camera_centre_forward_m,
                reach,
            )
            if len(b) == 0:
                return
            relative_heading = actor_heading[b, a] - ego_heading[b]  # (V,)
            rc, rs = np.cos(relative_heading), np.sin(relative_heading)
            splat_samples(
                view, b, f, lft, rc, rs, samples, self.car_row, 0.5 * size, self.mpp,
                TIE_MARGIN_PX, int(value),  # a plain int: numba types an IntEnum slowly
            )  # fmt: skip
            return
        rel = actor_xy - ego_xy[:, None, :]  # (B, A, 2)
        forward = rel[..., 0] * cos[:, None] + rel[..., 1] * sin[:, None]  # (B, A)
        left = -rel[..., 0] * sin[:, None] + rel[..., 1] * cos[:, None]  # (B, A)
        near = np.hypot(forward - self.camera_centre_forward_m, left) < reach  # (B, A)
        if valid is not None:
            near &= valid
        b, a = np.nonzero(near)  # the few actors in view
        if len(b) == 0:
            return
        relative_heading = actor_heading[b, a] - ego_heading[b]  # (V,)
        rc, rs = np.cos(relative_heading), np.sin(relative_heading)
        f = (
            forward[b, a][:, None]
            + samples[None, :, 0] * rc[:, None]
            - samples[None, :, 1] * rs[:, None]
        )
        lft = (
            left[b, a][:, None]
            + samples[None, :, 0] * rs[:, None]
            + samples[None, :, 1] * rc[:, None]
        )
        # Actors on axis-aligned lanes sit whole pixels from the car, give or take a
        # last-bit term whose sign depends on the CPU's float kernels; the margin rounds
        # those to the whole pixel (as the camera's TIE_MARGIN_FIXED, issue 23).
        row = np.floor(self.car_row - f / self.mpp + TIE_MARGIN_PX).astype(np.int64)  # (V, S)
        col = np.floor(0.5 * size - lft / self.mpp + TIE_MARGIN_PX).astype(np.int64)  # (V, S)
        inside = (row >= 0) & (row < size) & (col >= 0) & (col < size)
        flat = (b[:, None] * size + row) * size + col  # (V, S)
        view.reshape(-1)[flat[inside]] = value
