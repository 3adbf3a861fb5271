"""Editing real frames: invert a frame into the generator's latent, then change its label.

A generator trained with the VAE term carries an encoder: ``z* = mu(x)`` (optionally
refined as below). Without one, a real frame ``x`` with labels ``y`` is inverted by
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

__all__ = [
    "EditResult",
    "edit_frames",
    "encode_frames",
    "find_latents",
    "invert_frames",
    "render",
]


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
    init: torch.Tensor | None = None,
) -> tuple[torch.Tensor, np.ndarray]:
    """Latents ``(N, z_dim)`` reproducing uint8 ``frames (N, H, W, 3)`` under ``labels (N, T)``,
    and each frame's final mean squared error (images in [-1, 1]). ``init`` (for example
    the encoder's posterior means) replaces the random starts; ``steps`` may then be 0."""
    if frames.ndim != 4 or len(frames) != len(labels):
        raise ValueError(
            f"frames {frames.shape} and labels {np.shape(labels)} must be (N, H, W, 3), (N, T)"
        )
    if steps < (0 if init is not None else 1) or restarts < 1:
        raise ValueError(f"steps={steps!r} and restarts={restarts!r} must be >= 1")
    if init is not None:
        restarts = 1
    device = next(generator.parameters()).device
    generator.eval()
    generator.requires_grad_(False)
    n = len(frames)
    target = _images(frames, device).repeat(restarts, 1, 1, 1)  # (R*N, 3, H, W)
    y = torch.from_numpy(np.asarray(labels)).to(device).repeat(restarts, 1)  # (R*N, T)
    rng = torch.Generator().manual_seed(seed)
    z = torch.randn(restarts * n, generator.z_dim, generator=rng).to(device)
    if init is not None:
        z = init.detach().to(device).clone()
    z.requires_grad_(True)
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


@torch.no_grad()
def encode_frames(generator: Generator, frames: np.ndarray) -> torch.Tensor:
    """The encoder's posterior means ``(N, z_dim)`` for uint8 frames (every ``upscale``-th
    pixel, as the networks see them)."""
    device = next(generator.parameters()).device
    step = generator.upscale
    images = _images(frames, device)[:, :, ::step, ::step]  # (N, 3, s, s)
    mu, _ = generator.encode(images)
    return mu


def find_latents(
    generator: Generator, frames: np.ndarray, labels: np.ndarray, **invert_options
) -> tuple[torch.Tensor, np.ndarray]:
    """Latents of real frames: the encoder's means refined by :func:`invert_frames` when
    the generator has an encoder, :func:`invert_frames` from random starts otherwise."""
    if generator.encoder is not None and invert_options.get("init") is None:
        invert_options["init"] = encode_frames(generator, frames)
    return invert_frames(generator, frames, labels, **invert_options)


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
def render(generator: Generator, z: torch.Tensor, labels: np.ndarray) -> np.ndarray:
    """uint8 frames ``(N, H, W, 3)`` of latents ``z (N, z_dim)`` under ``labels (N, T)``."""
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
    z, mse = find_latents(generator, frames, labels, **invert_options)
    edited = np.array(labels, dtype=np.int64, copy=True)
    edited[:, column] = targets
    return EditResult(render(generator, z, labels), render(generator, z, edited), mse)
