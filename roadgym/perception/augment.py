"""Batched, on-device augmentation of uint8 ``(B, H, W, C)`` frame batches.

Whole batches are transformed with index arithmetic on the device the batch is on
(the airbench way), not frame by frame in a DataLoader worker. Horizontal flips
are off by default because a mirrored road changes its meaning: a left curve
becomes a right curve. :data:`FLIP_SWAPS` lists the class pairs that a mirror
exchanges for the roadgym tasks where flipping is label-aware.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from roadgym.envs.core.config import ConfigError

__all__ = ["FLIP_SWAPS", "AugmentConfig", "BatchAugmenter"]

FLIP_SWAPS: dict[str, tuple[tuple[str, str], ...]] = {
    "road_layout": (("curve_left", "curve_right"),),
}
"""Per task, the class pairs a horizontal mirror exchanges (used when ``hflip_swap`` is None)."""


@dataclass(frozen=True)
class AugmentConfig:
    """Augmentations applied to each training batch."""

    crop_padding: int = 4
    """Pad each side by this many pixels (edge replication) and crop back at a random
    offset per frame; 0 disables the random crop."""
    hflip: bool = False
    """Mirror half of the frames left-right. Only safe for tasks that are symmetric or
    whose classes have a known mirror (see ``hflip_swap``)."""
    hflip_swap: tuple[tuple[str, str], ...] | None = None
    """Class pairs whose labels swap when a frame is mirrored; None uses the pairs of
    ``FLIP_SWAPS`` for the task that exist among its classes (Track's road_layout:
    curve_left <-> curve_right), ``()`` swaps nothing."""

    def __post_init__(self) -> None:
        if not isinstance(self.crop_padding, int) or self.crop_padding < 0:
            raise ConfigError(
                f"AugmentConfig.crop_padding = {self.crop_padding!r}; allowed: an int >= 0"
            )
        if self.hflip_swap is not None:
            pairs = tuple(tuple(pair) for pair in self.hflip_swap)
            if any(len(pair) != 2 for pair in pairs):
                raise ConfigError(
                    f"AugmentConfig.hflip_swap = {self.hflip_swap!r}; allowed: name pairs"
                )
            object.__setattr__(self, "hflip_swap", pairs)


class BatchAugmenter:
    """Applies an :class:`AugmentConfig` to ``(frames, labels)`` batches of one task."""

    def __init__(self, config: AugmentConfig, class_names: Sequence[str], task: str) -> None:
        self.config = config
        if config.hflip_swap is not None:
            pairs = config.hflip_swap
        else:
            # Envs name tasks alike but may split classes differently (Town's road_layout
            # has a non-directional 'curve'): apply only the known pairs this task has.
            pairs = tuple(
                pair for pair in FLIP_SWAPS.get(task, ()) if set(pair) <= set(class_names)
            )
        permutation = list(range(len(class_names)))
        for left, right in pairs:
            for name in (left, right):
                if name not in class_names:
                    raise ValueError(
                        f"hflip_swap class {name!r} is not a class of task {task!r}; "
                        f"allowed: {list(class_names)}"
                    )
            i, j = class_names.index(left), class_names.index(right)
            permutation[i], permutation[j] = j, i
        self.flip_permutation = torch.tensor(permutation, dtype=torch.int64)

    def __call__(
        self, frames: torch.Tensor, labels: torch.Tensor, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Return augmented copies of uint8 ``(B, H, W, C)`` frames and ``(B,)`` labels."""
        device = frames.device
        batch, height, width, _ = frames.shape
        pad = self.config.crop_padding
        if pad > 0:
            # F.pad's replicate mode wants channels first and float; pad a CHW view.
            chw = frames.permute(0, 3, 1, 2).float()  # (B, C, H, W)
            padded = F.pad(chw, (pad, pad, pad, pad), mode="replicate")  # (B, C, H+2p, W+2p)
            padded = padded.permute(0, 2, 3, 1).to(torch.uint8)  # (B, H+2p, W+2p, C)
            dy = torch.randint(0, 2 * pad + 1, (batch,), generator=generator).to(device)
            dx = torch.randint(0, 2 * pad + 1, (batch,), generator=generator).to(device)
            rows = dy[:, None] + torch.arange(height, device=device)  # (B, H)
            cols = dx[:, None] + torch.arange(width, device=device)  # (B, W)
            index = torch.arange(batch, device=device)[:, None, None]  # (B, 1, 1)
            frames = padded[index, rows[:, :, None], cols[:, None, :]]  # (B, H, W, C)
        if self.config.hflip:
            flip = (torch.rand(batch, generator=generator) < 0.5).to(device)  # (B,)
            frames = torch.where(flip[:, None, None, None], frames.flip(2), frames)  # (B, H, W, C)
            swapped = self.flip_permutation.to(device)[labels]  # (B,)
            labels = torch.where(flip, swapped, labels)
        return frames, labels
