"""Training loop of the conditional GAN: hinge loss, EMA generator, resumable checkpoints.

One step = one discriminator update on a real batch and a generated batch with the
same labels, then one generator update. Losses (Lim & Ye 2017; Miyato et al. 2018)::

    L_D = E[relu(1 - D(x, y))] + E[relu(1 + D(G(z, y), y))]      L_G = -E[D(G(z, y), y)]

The EMA generator (weights averaged with ``ema_decay``) is the one that samples,
edits and is scored; before it is used its batch-norm statistics are re-estimated
from its own outputs ("standing statistics", as BigGAN does), because the running
statistics of the training generator belong to other weights.

Randomness: the weights come from ``torch.manual_seed(seed)``; batch indices and
latents from one CPU ``torch.Generator`` whose state is checkpointed, so a resumed
run continues exactly where it stopped (same weights as an uninterrupted run, on CPU).
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from roadgym.perception.device import autocast, pick_device
from roadgym.perception.gan.checkpoint import build_networks, read_gan_checkpoint, save_gan
from roadgym.perception.gan.config import GanConfig
from roadgym.perception.gan.data import LabelledFrames, extract_palette, palette_indices
from roadgym.perception.gan.images import frame_grid
from roadgym.perception.gan.models import Generator, to_uint8_frames
from roadgym.perception.gan.sample import grid_labels

__all__ = [
    "CHECKPOINT_NAME",
    "GanResult",
    "discriminator_hinge_loss",
    "ema_update",
    "generator_hinge_loss",
    "recalibrate_batchnorm",
    "train_gan",
]

CHECKPOINT_NAME = "checkpoint.pt"


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


def _vae_terms(
    generator: Generator,
    real: torch.Tensor,
    labels: torch.Tensor,
    targets: torch.Tensor | None,
    eps: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Reconstruction loss (cross-entropy over palette indices ``targets (B, s, s)``, or
    MSE without a palette) and the KL to the prior per pixel, for real images at the
    networks' size ``(B, 3, s, s)``; ``eps (B, z_dim)`` samples the posterior."""
    mu, logvar = generator.encode(real)  # (B, z_dim) each
    z = mu + eps.to(mu.device) * (0.5 * logvar).exp()
    logits = generator.logits(z, labels).float()  # (B, K or 3, s, s)
    if targets is not None:
        reconstruction = F.cross_entropy(logits, targets)
    else:
        reconstruction = F.mse_loss(torch.tanh(logits), real.float())
    kl = 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(dim=1).mean()
    return reconstruction, kl.float() / real[0, 0].numel()


class _BatchSampler:
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


@dataclass
class GanResult:
    """What :func:`train_gan` returns."""

    generator: Generator
    """The EMA generator (eval mode, recalibrated batch norm)."""
    checkpoint_path: Path | None
    steps: int
    images_per_s: float
    """Real + generated images through the discriminator per second of training."""
    history: dict[str, Any] = field(default_factory=dict)


def _to_images(frames: torch.Tensor) -> torch.Tensor:
    return frames.permute(0, 3, 1, 2).float() / 127.5 - 1.0  # uint8 (B,H,W,3) -> (B,3,H,W)


def train_gan(
    train: LabelledFrames,
    config: GanConfig,
    out_dir: str | Path | None = None,
    *,
    resume: bool = False,
    dataset: str = "",
) -> GanResult:
    """Train the conditional GAN on ``train``; with ``out_dir`` write ``checkpoint.pt`` every
    ``checkpoint_every`` steps, at the end and on Ctrl-C, plus TensorBoard logs.

    ``resume`` continues from ``out_dir/checkpoint.pt`` when it exists (its config must
    match ``config`` except for ``steps`` and logging fields).
    """
    if tuple(train.tasks) != config.tasks:
        raise ValueError(f"data tasks {train.tasks} differ from GanConfig.tasks {config.tasks}")
    frame_size = train.frames.shape[1]
    if train.frames.shape[2] != frame_size:
        raise ValueError(f"frames must be square; got {train.frames.shape[1:3]}")
    if frame_size % config.model_scale:
        raise ValueError(
            f"GanConfig.model_scale={config.model_scale} must divide the frame size {frame_size}"
        )
    scale = config.model_scale
    out_path = Path(out_dir) if out_dir is not None else None
    checkpoint_path = out_path / CHECKPOINT_NAME if out_path is not None else None
    device = pick_device(config.device)
    palette = None
    if config.output == "palette":
        palette = extract_palette(train.frames, config.max_palette_colours)
    meta = {
        "tasks": list(config.tasks),
        "class_names": {t: list(n) for t, n in train.class_names.items() if t in config.tasks},
        "frame_size": int(frame_size),
        "palette": palette.tolist() if palette is not None else [],
        "dataset": str(dataset),
        "config": {**_config_dict(config)},
    }
    torch.manual_seed(config.seed)
    generator, discriminator = build_networks(meta)
    sampler_rng = torch.Generator().manual_seed(config.seed + 1)
    opt_g = torch.optim.Adam(
        generator.parameters(), config.lr_g, betas=(config.beta1, config.beta2)
    )
    opt_d = torch.optim.Adam(
        discriminator.parameters(), config.lr_d, betas=(config.beta1, config.beta2)
    )
    generator_ema = copy.deepcopy(generator)
    start_step, history = 0, {"wall_s": 0.0}
    if resume and checkpoint_path is not None and checkpoint_path.exists():
        saved = read_gan_checkpoint(checkpoint_path)
        _check_resumable(saved["config"], config)
        generator.load_state_dict(saved["generator"])
        generator_ema.load_state_dict(saved["generator_ema"])
        discriminator.load_state_dict(saved["discriminator"])
        opt_g.load_state_dict(saved["opt_g"])
        opt_d.load_state_dict(saved["opt_d"])
        sampler_rng.set_state(saved["sampler_state"])
        start_step, history = int(saved["step"]), dict(saved["history"])
    generator, discriminator, generator_ema = (
        m.to(device) for m in (generator, discriminator, generator_ema)
    )
    generator_ema.requires_grad_(False)
    for optimizer in (opt_g, opt_d):  # loaded optimizer state lands on the cpu
        for state in optimizer.state.values():
            for key, value in state.items():
                if torch.is_tensor(value) and key != "step":
                    state[key] = value.to(device)
    frames = torch.from_numpy(train.frames).to(device)  # (N, H, W, 3) uint8, once
    recon = config.recon_weight > 0
    targets = None  # palette index of every pixel: the VAE term's cross-entropy targets
    if recon and palette is not None:
        targets = torch.from_numpy(palette_indices(train.frames, palette)).to(device)
    labels = torch.from_numpy(train.labels).to(device)  # (N, T)
    balance = None if config.balance_task is None else config.tasks.index(config.balance_task)
    sample_batch = _BatchSampler(train.labels, balance, sampler_rng)
    grid_y, _ = grid_labels(train, config.tasks[0], 8, seed=config.seed)
    grid_z = torch.randn(len(grid_y), config.z_dim, generator=torch.Generator().manual_seed(7))

    writer = _open_writer(out_path, config.tensorboard)
    progress = None
    if config.show_progress:
        from tqdm.auto import tqdm

        progress = tqdm(total=config.steps, initial=start_step, desc="gan", unit="step")

    calibrated_at = [-1]

    def finish_ema(step: int) -> None:
        if calibrated_at[0] != step:  # the weights have not moved since the last call
            recalibrate_batchnorm(generator_ema, labels, seed=config.seed + step)
            calibrated_at[0] = step

    def checkpoint(step: int) -> None:
        if checkpoint_path is None:
            return
        finish_ema(step)
        save_gan(
            checkpoint_path,
            config=config,
            step=step,
            meta=meta,
            generator=generator,
            generator_ema=generator_ema,
            discriminator=discriminator,
            opt_g=opt_g,
            opt_d=opt_d,
            sampler_state=sampler_rng.get_state(),
            history=history,
        )

    step, seen, started, cpu_started = start_step, 0, time.perf_counter(), time.process_time()
    wall_before = float(history.get("wall_s", 0.0))
    cpu_before = float(history.get("cpu_s", 0.0))

    def clocks() -> None:
        history["wall_s"] = wall_before + time.perf_counter() - started
        history["cpu_s"] = cpu_before + time.process_time() - cpu_started

    generator.train()
    discriminator.train()
    try:
        while step < config.steps:
            index = sample_batch(config.batch_size)
            real = _to_images(frames[index.to(device)])  # (B, 3, H, W)
            dy, dx = 0, 0
            if scale > 1:  # every scale-th pixel, from a random phase
                dy, dx = torch.randint(scale, (2,), generator=sampler_rng).tolist()
                real = real[:, :, dy::scale, dx::scale]  # (B, 3, H / s, W / s)
            y = labels[index.to(device)]  # (B, T)
            z_d = torch.randn(config.batch_size, config.z_dim, generator=sampler_rng).to(device)
            z_g = torch.randn(config.batch_size, config.z_dim, generator=sampler_rng).to(device)
            with autocast(device):
                with torch.no_grad():
                    fake = generator(z_d, y, native=True)
                real_scores = discriminator(real, y).float()
                fake_scores = discriminator(fake, y).float()
                loss_d = discriminator_hinge_loss(real_scores, fake_scores)
            opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            opt_d.step()
            with autocast(device):
                fake_g = generator(z_g, y, native=True)
                loss_adv = generator_hinge_loss(discriminator(fake_g, y).float())
                loss_g = config.adv_weight * loss_adv
                if recon:
                    batch_targets = None
                    if targets is not None:
                        batch_targets = targets[index.to(device)][:, dy::scale, dx::scale].long()
                    eps = torch.randn(config.batch_size, config.z_dim, generator=sampler_rng)
                    loss_rec, loss_kl = _vae_terms(generator, real, y, batch_targets, eps)
                    loss_g = loss_g + config.recon_weight * (loss_rec + config.kl_weight * loss_kl)
            opt_g.zero_grad(set_to_none=True)
            loss_g.backward()
            opt_g.step()
            ema_update(generator_ema, generator, min(config.ema_decay, (1 + step) / (10 + step)))
            step += 1
            seen += 2 * config.batch_size
            if progress is not None:
                progress.update(1)
                if step % config.log_every == 0:
                    progress.set_postfix(
                        loss_d=f"{loss_d.item():.3f}", loss_g=f"{loss_g.item():.3f}"
                    )
            if writer is not None and step % config.log_every == 0:
                writer.add_scalar("loss/discriminator", loss_d.item(), step)
                writer.add_scalar("loss/generator", loss_adv.item(), step)
                if recon:
                    writer.add_scalar("loss/reconstruction", loss_rec.item(), step)
                    writer.add_scalar("loss/kl_per_pixel", loss_kl.item(), step)
                writer.add_scalar("score/real", real_scores.mean().item(), step)
                writer.add_scalar("score/fake", fake_scores.mean().item(), step)
                elapsed = time.perf_counter() - started
                writer.add_scalar("speed/images_per_s", seen / max(elapsed, 1e-9), step)
            if writer is not None and (step % config.sample_every == 0 or step == config.steps):
                finish_ema(step)
                with torch.no_grad():
                    grid = generator_ema(grid_z.to(device), torch.from_numpy(grid_y).to(device))
                image = frame_grid(to_uint8_frames(grid).cpu().numpy(), columns=8)
                writer.add_image("samples/ema", image, step, dataformats="HWC")
            clocks()
            if step % config.checkpoint_every == 0 and step < config.steps:
                checkpoint(step)
            if (config.time_budget_s is not None and history["wall_s"] >= config.time_budget_s) or (
                config.cpu_time_budget_s is not None
                and history["cpu_s"] >= config.cpu_time_budget_s
            ):
                history["stopped_by_time_budget"] = True
                break
    except KeyboardInterrupt:
        clocks()
        checkpoint(step)  # Ctrl-C keeps the work done so far; --resume continues it
        raise
    finally:
        if progress is not None:
            progress.close()
        if writer is not None:
            writer.close()
    elapsed = time.perf_counter() - started
    clocks()
    history["steps"] = step
    checkpoint(step)
    finish_ema(step)
    return GanResult(generator_ema, checkpoint_path, step, seen / max(elapsed, 1e-9), history)


_FREE_FIELDS = ("steps", "log_every", "sample_every", "checkpoint_every", "show_progress", "device")
_FREE_FIELDS += ("tensorboard", "time_budget_s", "cpu_time_budget_s")


def _config_dict(config: GanConfig) -> dict[str, Any]:
    import dataclasses

    return {**dataclasses.asdict(config), "tasks": list(config.tasks)}


def _check_resumable(saved: dict[str, Any], config: GanConfig) -> None:
    wanted = _config_dict(config)
    for key, value in wanted.items():
        if key not in _FREE_FIELDS and saved.get(key) != value:
            raise ValueError(
                f"cannot resume: the checkpoint was trained with {key}={saved.get(key)!r}, "
                f"this run asks for {key}={value!r} (only {_FREE_FIELDS} may change)"
            )


def _open_writer(out_dir: Path | None, enabled: bool):
    if out_dir is None or not enabled:
        return None
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # tensorboard is in the train extra; training works without it
        return None
    return SummaryWriter(log_dir=str(out_dir / "tensorboard"))
