"""Editing real frames: invert a frame into the generator's latent, then change its label.

The generator has no encoder, so a real frame ``x`` with labels ``y`` is inverted by
optimisation (as in Image2StyleGAN, Abdal et al. 2019): from several random starts,
Adam minimises ``|G(z, y) - x|^2 + prior * |z|^2 / z_dim`` over ``z`` (the soft palette
output keeps the loss differentiable; the small prior keeps ``z`` where the
generator was trained), and the best start per frame is kept. The edit is then
``G(z*, y')`` with the target label ``y'`` in place of ``y`` for one task, so the
scene comes from ``z*`` and the changed attribute from the label.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from roadgym.perception.gan.models import Generator, to_uint8_frames

__all__ = ["EditResult", "edit_frames", "invert_frames"]


def _images(frames: np.ndarray, device: torch.device) -> torch.Tensor:
    return torch.from_numpy(frames).to(device).permute(0, 3, 1, 2).float() / 127.5 - 1.0


def invert_frames(
    generator: Generator,
    frames: np.ndarray,
    labels: np.ndarray,
    steps: int = 200,
    restarts: int = 4,
    lr: float = 0.05,
    prior: float = 1e-3,
    seed: int = 0,
) -> tuple[torch.Tensor, np.ndarray]:
    """Latents ``(N, z_dim)`` reproducing uint8 ``frames (N, H, W, 3)`` under ``labels (N, T)``,
    and each frame's final mean squared error (images in [-1, 1])."""
    if frames.ndim != 4 or len(frames) != len(labels):
        raise ValueError(
            f"frames {frames.shape} and labels {np.shape(labels)} must be (N, H, W, 3), (N, T)"
        )
    if steps < 1 or restarts < 1:
        raise ValueError(f"steps={steps!r} and restarts={restarts!r} must be >= 1")
    device = next(generator.parameters()).device
    generator.eval()
    generator.requires_grad_(False)
    n = len(frames)
    target = _images(frames, device).repeat(restarts, 1, 1, 1)  # (R*N, 3, H, W)
    y = torch.from_numpy(np.asarray(labels)).to(device).repeat(restarts, 1)  # (R*N, T)
    rng = torch.Generator().manual_seed(seed)
    z = torch.randn(restarts * n, generator.z_dim, generator=rng).to(device).requires_grad_(True)
    optimizer = torch.optim.Adam([z], lr=lr)
    try:
        for _ in range(steps):
            error = (generator(z, y, mode="soft") - target).pow(2).mean(dim=(1, 2, 3))  # (R*N,)
            loss = error.sum() + prior * z.pow(2).mean(dim=1).sum()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        with torch.no_grad():
            error = (generator(z, y, mode="hard") - target).pow(2).mean(dim=(1, 2, 3))
    finally:
        generator.requires_grad_(True)
    best = error.view(restarts, n).argmin(dim=0)  # (N,) restart with the lowest error
    pick = best * n + torch.arange(n, device=device)
    return z.detach()[pick], error.view(restarts, n).min(dim=0).values.cpu().numpy()


@dataclass
class EditResult:
    """Frames of :func:`edit_frames`, uint8 ``(N, H, W, 3)`` each."""

    reconstructions: np.ndarray
    """``G(z*, y)``: the inverted frame under its own labels."""
    edits: np.ndarray
    """``G(z*, y')``: the frame with the target label."""
    reconstruction_mse: np.ndarray
    """Per-frame mean squared error of the reconstruction (images in [-1, 1])."""


@torch.no_grad()
def _render(generator: Generator, z: torch.Tensor, labels: np.ndarray) -> np.ndarray:
    y = torch.from_numpy(np.asarray(labels)).to(z.device)
    return to_uint8_frames(generator(z, y, mode="hard")).cpu().numpy()


def edit_frames(
    generator: Generator,
    frames: np.ndarray,
    labels: np.ndarray,
    column: int,
    targets: np.ndarray,
    **invert_options,
) -> EditResult:
    """Edit each frame so that task ``column`` takes the class in ``targets (N,)``."""
    targets = np.asarray(targets, dtype=np.int64)
    num_classes = generator.num_classes[column]
    if targets.shape != (len(frames),) or targets.min() < 0 or targets.max() >= num_classes:
        raise ValueError(
            f"targets must be ({len(frames)},) class ids in [0, {num_classes - 1}]; got {targets}"
        )
    z, mse = invert_frames(generator, frames, labels, **invert_options)
    edited = np.array(labels, dtype=np.int64, copy=True)
    edited[:, column] = targets
    return EditResult(_render(generator, z, labels), _render(generator, z, edited), mse)
