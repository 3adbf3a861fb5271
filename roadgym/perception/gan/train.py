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

from roadgym.perception.device import autocast, pick_device
from roadgym.perception.gan.auxiliary import (
    LabelClassifier,
    label_loss,
    pretrain_classifier,
    translate,
)
from roadgym.perception.gan.checkpoint import build_networks, read_gan_checkpoint, save_gan
from roadgym.perception.gan.config import GanConfig
from roadgym.perception.gan.data import LabelledFrames, extract_palette, palette_indices
from roadgym.perception.gan.images import frame_grid
from roadgym.perception.gan.losses import (
    BatchSampler,
    discriminator_hinge_loss,
    edit_labels,
    ema_update,
    generator_hinge_loss,
    recalibrate_batchnorm,
    vae_terms,
)
from roadgym.perception.gan.models import Generator, to_uint8_frames
from roadgym.perception.gan.sample import grid_labels
from roadgym.perception.gan.selection import (
    ValidationScorer,
    classifier_features,
    label_classifier_features,
)

__all__ = [
    "BEST_NAME",
    "CHECKPOINT_NAME",
    "GanResult",
    "discriminator_hinge_loss",
    "ema_update",
    "generator_hinge_loss",
    "recalibrate_batchnorm",
    "train_gan",
]

CHECKPOINT_NAME = "checkpoint.pt"
BEST_NAME = "best.pt"


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
    val: LabelledFrames | None = None,
) -> GanResult:
    """Train the conditional GAN on ``train``; with ``out_dir`` write ``checkpoint.pt`` every
    ``checkpoint_every`` steps, at the end and on Ctrl-C, plus TensorBoard logs.

    ``resume`` continues from ``out_dir/checkpoint.pt`` when it exists (its config must
    match ``config`` except for ``steps`` and logging fields). ``val`` (the validation
    split) is needed by ``select_every > 0``, which keeps the best-scoring EMA generator
    in ``out_dir/best.pt``.
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
    if config.select_every and val is None:
        raise ValueError(f"GanConfig.select_every={config.select_every} needs a validation split")
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
    classifier_state = None
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
        classifier_state = saved.get("classifier")
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
    if (recon or config.aux_input == "palette") and palette is not None:
        targets = torch.from_numpy(palette_indices(train.frames, palette)).to(device)
    labels = torch.from_numpy(train.labels).to(device)  # (N, T)
    balance = None if config.balance_task is None else config.tasks.index(config.balance_task)
    sample_batch = BatchSampler(train.labels, balance, sampler_rng)
    onehot = config.aux_input == "palette"  # the classifier reads colour categories
    use_classifier = config.aux_weight > 0 or config.aux_edit_weight > 0
    use_classifier = use_classifier or (config.select_every > 0 and not config.select_classifier)
    aux_columns = [config.tasks.index(t) for t in (config.aux_tasks or config.tasks)]
    classifier, scorer = None, None
    # The classifier's own RNGs: turning it on leaves the GAN's streams untouched.
    aux_rng = torch.Generator().manual_seed(config.seed + 3)
    if use_classifier:
        torch.manual_seed(config.seed + 2)
        in_channels = len(palette) if onehot else 3
        classifier = LabelClassifier(
            train.num_classes, frame_size // scale, config.aux_channels, in_channels=in_channels
        )
        classifier = classifier.to(device)
    aux_sampler = BatchSampler(train.labels, balance, aux_rng)

    def real_batch(batch_size: int, rng: torch.Generator, sampler: BatchSampler):
        index = sampler(batch_size).to(device)
        images = _to_images(frames[index])  # (B, 3, H, W)
        dy, dx = 0, 0
        if scale > 1:  # every scale-th pixel, from a random phase
            dy, dx = torch.randint(scale, (2,), generator=rng).tolist()
            images = images[:, :, dy::scale, dx::scale]  # (B, 3, H / s, W / s)
        return index, images, (dy, dx)

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

    def checkpoint(step: int, path: Path | None = checkpoint_path) -> None:
        if path is None:
            return
        finish_ema(step)
        save_gan(
            path,
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
            classifier=classifier,
        )

    step, seen, started, cpu_started = start_step, 0, time.perf_counter(), time.process_time()
    wall_before = float(history.get("wall_s", 0.0))
    cpu_before = float(history.get("cpu_s", 0.0))

    def clocks() -> None:
        history["wall_s"] = wall_before + time.perf_counter() - started
        history["cpu_s"] = cpu_before + time.process_time() - cpu_started

    if classifier is not None and classifier_state is not None:
        classifier.load_state_dict(classifier_state)
        classifier.eval().requires_grad_(False)
    elif classifier is not None:  # its time counts in the run's clocks (it is training)

        def next_batch() -> tuple[torch.Tensor, torch.Tensor]:
            index, images, (dy, dx) = real_batch(2 * config.batch_size, aux_rng, aux_sampler)
            if onehot:
                colours = targets[index][:, dy::scale, dx::scale].long()  # (B, s, s)
                images = F.one_hot(colours, len(palette)).permute(0, 3, 1, 2).float()
            return translate(images, 1, aux_rng), labels[index]

        history["aux_losses"] = pretrain_classifier(
            classifier, next_batch, aux_columns, config.aux_pretrain_steps, config.aux_lr
        )
        if val is not None:
            val_frames = torch.from_numpy(val.frames).to(device)
            val_labels = val.labels
            history["aux_val_accuracy"], history["aux_val_recall"] = {}, {}
            for t in aux_columns:
                task = config.tasks[t]
                scores = label_classifier_features(
                    classifier, scale, t, palette if onehot else None
                )
                predicted = (
                    torch.cat(
                        [
                            scores(val_frames[i : i + 256])[1].argmax(dim=1)
                            for i in range(0, len(val), 256)
                        ]
                    )
                    .cpu()
                    .numpy()
                )
                history["aux_val_accuracy"][task] = float((predicted == val_labels[:, t]).mean())
                history["aux_val_recall"][task] = {
                    name: float((predicted[val_labels[:, t] == k] == k).mean())
                    for k, name in enumerate(train.class_names[task])
                    if (val_labels[:, t] == k).any()
                }
        clocks()
        history["aux_pretrain_wall_s"], history["aux_pretrain_cpu_s"] = (
            history["wall_s"] - wall_before,
            history["cpu_s"] - cpu_before,
        )
    if config.select_every and val is not None:
        scorer = _validation_scorer(config, val, classifier, scale, balance, device, palette)

    def select(step: int) -> None:
        finish_ema(step)
        scores = {"step": step, **scorer(generator_ema)}
        history.setdefault("selection", []).append(scores)
        if writer is not None:
            writer.add_scalar("select/val_fd", scores["fd"], step)
            writer.add_scalar("select/val_label_consistency", scores["label_consistency"], step)
        best = history.get("best")
        if best is None or scores["fd"] < best["fd"]:
            history["best"] = scores
            if out_path is not None:
                checkpoint(step, out_path / BEST_NAME)

    generator.train()
    discriminator.train()
    try:
        while step < config.steps:
            index, real, (dy, dx) = real_batch(config.batch_size, sampler_rng, sample_batch)
            y = labels[index]  # (B, T)
            z_d = torch.randn(config.batch_size, config.z_dim, generator=sampler_rng).to(device)
            z_g = torch.randn(config.batch_size, config.z_dim, generator=sampler_rng).to(device)
            with autocast(device):
                with torch.no_grad():
                    fake = generator(z_d, y, native=True)
                shift = config.diffaug_shift
                real_scores = discriminator(translate(real, shift, sampler_rng), y).float()
                fake_scores = discriminator(translate(fake, shift, sampler_rng), y).float()
                loss_d = discriminator_hinge_loss(real_scores, fake_scores)
            opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            opt_d.step()
            with autocast(device):
                if onehot:  # the same frames as below, with their colour one-hots kept
                    weights_g = generator.colour_weights(z_g, y)  # (B, K, s, s)
                    fake_g = generator.weights_to_images(weights_g)
                else:
                    fake_g = generator(z_g, y, native=True)
                fake_d = translate(fake_g, config.diffaug_shift, sampler_rng)
                loss_adv = generator_hinge_loss(discriminator(fake_d, y).float())
                loss_g = config.adv_weight * loss_adv
                if config.aux_weight > 0:
                    seen_g = weights_g if onehot else fake_g
                    loss_aux = label_loss(classifier(seen_g), y, aux_columns)
                    loss_g = loss_g + config.aux_weight * loss_aux
                if recon:
                    batch_targets = None
                    if targets is not None:
                        batch_targets = targets[index][:, dy::scale, dx::scale].long()
                    eps = torch.randn(config.batch_size, config.z_dim, generator=sampler_rng)
                    loss_rec, loss_kl, z_post = vae_terms(generator, real, y, batch_targets, eps)
                    loss_g = loss_g + config.recon_weight * (loss_rec + config.kl_weight * loss_kl)
                    if config.aux_edit_weight > 0:  # a real scene, another light colour
                        column = aux_columns[0]
                        y_edit = edit_labels(y, column, train.num_classes[column], sampler_rng)
                        if onehot:
                            edited = generator.colour_weights(z_post.detach(), y_edit)
                        else:
                            edited = generator(z_post.detach(), y_edit, native=True)
                        loss_edit = label_loss(classifier(edited), y_edit, [column])
                        loss_g = loss_g + config.aux_edit_weight * loss_edit
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
                if config.aux_weight > 0:
                    writer.add_scalar("loss/label_consistency", loss_aux.item(), step)
                if recon and config.aux_edit_weight > 0:
                    writer.add_scalar("loss/edit_consistency", loss_edit.item(), step)
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
            if scorer is not None and step % config.select_every == 0:
                select(step)
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


def _validation_scorer(
    config: GanConfig,
    val: LabelledFrames,
    classifier: LabelClassifier | None,
    scale: int,
    balance: int | None,
    device: torch.device,
    generator_palette: np.ndarray | None,
) -> ValidationScorer:
    pick = np.random.default_rng(config.seed).permutation(len(val))[: config.select_frames]
    labels = torch.from_numpy(val.labels[pick]).to(device)
    if config.select_classifier:
        from roadgym.perception.checkpoint import load_classifier

        judge, judge_meta = load_classifier(config.select_classifier, device)
        if judge_meta["task"] not in config.tasks:
            raise ValueError(
                f"GanConfig.select_classifier={config.select_classifier!r} is a "
                f"{judge_meta['task']!r} classifier, not one of tasks={config.tasks}"
            )
        column = config.tasks.index(judge_meta["task"])
        features = classifier_features(judge.eval())
    else:
        column = balance if balance is not None else 0
        colours = None
        if config.aux_input == "palette":
            colours = generator_palette
        features = label_classifier_features(classifier, scale, column, colours)
    frames = torch.from_numpy(val.frames[pick]).to(device)
    return ValidationScorer(features, frames, labels, column=column, seed=config.seed + 4)


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
