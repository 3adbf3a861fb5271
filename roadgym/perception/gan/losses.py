"""Pieces of a GAN step: hinge losses, the VAE term, the EMA, batch-norm calibration and
the (class-balanced) sampler of real-frame batches."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from roadgym.perception.gan.models import Generator

__all__ = [
    "BatchSampler",
    "discriminator_hinge_loss",
    "ema_update",
    "generator_hinge_loss",
    "edit_labels",
    "recalibrate_batchnorm",
    "vae_terms",
]


def discriminator_hinge_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """``mean(relu(1 - real)) + mean(relu(1 + fake))``: zero once real >= 1 and fake <= -1."""
    return F.relu(1.0 - real_scores).mean() + F.relu(1.0 + fake_scores).mean()


def generator_hinge_loss(fake_scores: torch.Tensor) -> torch.Tensor:
    """``-mean(fake)``: the generator raises the critic's score of its samples."""
    return -fake_scores.mean()


@torch.no_grad()
def ema_update(ema: nn.Module, model: nn.Module, decay: float) -> None:
    """``ema <- decay * ema + (1 - decay) * model`` for every parameter (buffers untouched)."""
    for ema_param, param in zip(ema.parameters(), model.parameters(), strict=True):
        ema_param.lerp_(param.detach(), 1.0 - decay)


@torch.no_grad()
def recalibrate_batchnorm(
    generator: Generator,
    labels: torch.Tensor,
    seed: int,
    batches: int = 8,
    batch_size: int = 64,
) -> None:
    """Re-estimate ``generator``'s batch-norm statistics from its own outputs on labels
    drawn from ``labels (N, T)``; leaves it in eval mode. Deterministic given ``seed``."""
    rng = torch.Generator().manual_seed(seed)
    norms = [m for m in generator.modules() if isinstance(m, nn.BatchNorm2d)]
    momenta = [m.momentum for m in norms]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # cumulative average over the calibration batches
    device = next(generator.parameters()).device
    generator.train()
    for _ in range(batches):
        pick = torch.randint(len(labels), (batch_size,), generator=rng)
        z = torch.randn(batch_size, generator.z_dim, generator=rng)
        generator.logits(z.to(device), labels[pick].to(device))
    for norm, momentum in zip(norms, momenta, strict=True):
        norm.momentum = momentum
    generator.eval()


def vae_terms(
    generator: Generator,
    real: torch.Tensor,
    labels: torch.Tensor,
    targets: torch.Tensor | None,
    eps: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Reconstruction loss (cross-entropy over palette indices ``targets (B, s, s)``, or
    MSE without a palette), the KL to the prior per pixel, and the posterior sample
    ``z (B, z_dim)``, for real images at the networks' size ``(B, 3, s, s)``;
    ``eps (B, z_dim)`` samples the posterior."""
    mu, logvar = generator.encode(real)  # (B, z_dim) each
    z = mu + eps.to(mu.device) * (0.5 * logvar).exp()
    logits = generator.logits(z, labels).float()  # (B, K or 3, s, s)
    if targets is not None:
        reconstruction = F.cross_entropy(logits, targets)
    else:
        reconstruction = F.mse_loss(torch.tanh(logits), real.float())
    kl = 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(dim=1).mean()
    return reconstruction, kl.float() / real[0, 0].numel(), z


class BatchSampler:
    """Real-frame batch indices, optionally balanced over the classes of one task."""

    def __init__(self, labels: np.ndarray, column: int | None, rng: torch.Generator) -> None:
        self.rng, self.size = rng, len(labels)
        self.groups = None
        if column is not None:
            classes = np.unique(labels[:, column])
            self.groups = [
                torch.from_numpy(np.flatnonzero(labels[:, column] == c)) for c in classes
            ]

    def __call__(self, batch_size: int) -> torch.Tensor:
        if self.groups is None:
            return torch.randint(self.size, (batch_size,), generator=self.rng)
        which = torch.randint(len(self.groups), (batch_size,), generator=self.rng)
        position = torch.rand(batch_size, generator=self.rng)
        sizes = torch.tensor([len(group) for group in self.groups])
        within = (position * sizes[which]).long()  # float32 product, then floor
        pairs = zip(which.tolist(), within.tolist(), strict=True)
        return torch.stack([self.groups[g][i] for g, i in pairs])


def edit_labels(
    labels: torch.Tensor, column: int, classes: int, rng: torch.Generator
) -> torch.Tensor:
    """``labels (B, T)`` with column ``column`` moved to another class, except class 0.

    Class 0 is "none" in roadgym's tasks (no light on the route in view): turning it
    into a light would need a junction drawn, not a colour changed, so those rows keep
    their label. Other rows get a uniformly drawn different class among 1..classes-1.
    """
    edited = labels.clone()
    if classes < 3:
        return edited
    current = labels[:, column]
    offset = torch.randint(1, classes - 1, (len(labels),), generator=rng).to(labels.device)
    moved = (current - 1 + offset) % (classes - 1) + 1
    edited[:, column] = torch.where(current > 0, moved, current)
    return edited
