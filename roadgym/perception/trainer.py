"""Train an image classifier on an :class:`ImageSet` (behind ``roadgym train-classifier``).

The whole training set is moved to the device once as uint8 ``(N, H, W, C)``;
each step gathers a batch by index and augments it there (no DataLoader, no
worker processes: for 64x64 frames Python overhead, not memory, is the limit).
AdamW with a one-cycle or cosine schedule; bf16 autocast and channels_last on
cuda; a tqdm bar; TensorBoard scalars (``train/loss`` and ``train/lr`` every 10
steps, ``epoch/{train,val}_{loss,accuracy}`` every epoch); at the end a per-class
report, a confusion matrix PNG and a checkpoint, each written atomically.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from roadgym.envs.core.config import ConfigError
from roadgym.perception.atomic import atomic_write_json
from roadgym.perception.augment import AugmentConfig, BatchAugmenter
from roadgym.perception.checkpoint import ImageClassifier, build_classifier, save_classifier
from roadgym.perception.datasets import ImageSet
from roadgym.perception.device import autocast, maybe_channels_last, pick_device
from roadgym.perception.metrics import (
    classification_report,
    confusion_matrix,
    format_report,
    write_confusion_png,
)

__all__ = [
    "LossFn",
    "TrainConfig",
    "TrainResult",
    "balanced_indices",
    "evaluate",
    "fit",
    "train_classifier",
]

SCHEDULES = ("onecycle", "cosine", "constant")

LossFn = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]
"""``loss_fn(logits (B, K), labels (B,), frames (B, H, W, C)) -> scalar loss``."""


@dataclass(frozen=True)
class TrainConfig:
    """Hyperparameters of one classifier training run."""

    encoder: str = "resnet"
    """Encoder architecture by name (see ``roadgym.perception.ENCODERS``)."""
    encoder_options: dict[str, Any] = field(default_factory=dict)
    """Fields of that encoder's config (``features_dim``, ``channels``...)."""
    epochs: int = 10
    """Passes over the (possibly oversampled) training set."""
    batch_size: int = 128
    """Frames per optimiser step."""
    lr: float = 3e-3
    """Peak learning rate (one-cycle) or starting learning rate (cosine, constant)."""
    weight_decay: float = 5e-2
    """AdamW decoupled weight decay."""
    schedule: str = "onecycle"
    """Learning-rate schedule: 'onecycle', 'cosine' or 'constant'."""
    warmup_fraction: float = 0.2
    """Share of the steps the one-cycle schedule spends warming up."""
    label_smoothing: float = 0.0
    """Cross-entropy label smoothing."""
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    """Batched on-device augmentation (random crop; flips off by default)."""
    oversample: bool = False
    """Resample the training set each epoch so every class appears equally often."""
    normalize: bool = True
    """Set the encoder's per-channel mean/std from the training frames."""
    eval_batch_size: int = 512
    """Frames per forward pass when evaluating."""
    device: str = "auto"
    """'auto' (cuda, then cpu), 'cuda' or 'cpu'."""
    seed: int = 0
    """Seeds weight init, shuffling and augmentation."""
    show_progress: bool = True
    """Show a tqdm progress bar."""
    tensorboard: bool = True
    """Write TensorBoard scalars under ``<out_dir>/tensorboard``."""

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size", "eval_batch_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ConfigError(f"TrainConfig.{name} = {value!r}; allowed: an int >= 1")
        if self.schedule not in SCHEDULES:
            raise ConfigError(
                f"TrainConfig.schedule = {self.schedule!r}; allowed: one of {SCHEDULES}"
            )
        if not self.lr > 0:
            raise ConfigError(f"TrainConfig.lr = {self.lr!r}; allowed: > 0")
        if self.weight_decay < 0:
            raise ConfigError(f"TrainConfig.weight_decay = {self.weight_decay!r}; allowed: >= 0")
        if not 0.0 < self.warmup_fraction < 1.0:
            raise ConfigError(
                f"TrainConfig.warmup_fraction = {self.warmup_fraction!r}; "
                "allowed: a number in (0, 1)"
            )
        if not 0.0 <= self.label_smoothing < 1.0:
            raise ConfigError(
                f"TrainConfig.label_smoothing = {self.label_smoothing!r}; "
                "allowed: a number in [0, 1)"
            )
        if isinstance(self.augment, dict):
            object.__setattr__(self, "augment", AugmentConfig(**self.augment))


@dataclass
class TrainResult:
    """What :func:`train_classifier` produced."""

    model: ImageClassifier
    """The trained classifier, in eval mode, on the training device."""
    report: dict[str, Any]
    """Per-class precision/recall/F1 and accuracy on the evaluation split."""
    history: list[dict[str, float]]
    """Per-epoch train loss/accuracy, validation loss/accuracy, learning rate."""
    checkpoint_path: Path | None
    """Where the checkpoint was written (None when no ``out_dir`` was given)."""
    train_images_per_s: float
    """Training throughput, augmented frames per second, averaged over the run."""


def balanced_indices(labels: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Indices drawing every present class as often as the most frequent one (oversampling)."""
    labels = labels.cpu()
    classes = [c for c in range(int(labels.max()) + 1) if bool((labels == c).any())]
    per_class = max(int((labels == c).sum()) for c in classes)
    picks = []
    for c in classes:
        members = torch.nonzero(labels == c).flatten()
        picks.append(members[torch.randint(len(members), (per_class,), generator=generator)])
    return torch.cat(picks)


def _make_scheduler(optimizer, config: TrainConfig, total_steps: int):
    if config.schedule == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=config.lr, total_steps=total_steps, pct_start=config.warmup_fraction
        )
    if config.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps)
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda _: 1.0)


@torch.inference_mode()
def evaluate(
    model: nn.Module, images: ImageSet, device: torch.device, batch_size: int = 512
) -> tuple[np.ndarray, float]:
    """Predicted class ids ``(N,)`` for ``images`` and the mean cross-entropy loss."""
    was_training = model.training
    model.eval()
    predictions, total_loss = [], 0.0
    for start in range(0, len(images), batch_size):
        frames = torch.from_numpy(images.frames[start : start + batch_size]).to(device)
        labels = torch.from_numpy(images.labels[start : start + batch_size]).to(device)
        with autocast(device):
            logits = model(frames).float()  # (B, K)
        total_loss += float(F.cross_entropy(logits, labels, reduction="sum"))
        predictions.append(logits.argmax(dim=1).cpu().numpy())
    model.train(was_training)
    return np.concatenate(predictions), total_loss / max(len(images), 1)


def fit(
    model: ImageClassifier,
    train: ImageSet,
    val: ImageSet | None,
    config: TrainConfig,
    *,
    loss_fn: LossFn | None = None,
    writer: Any = None,
    description: str = "train",
) -> tuple[list[dict[str, float]], float]:
    """Optimise ``model`` on ``train``; returns per-epoch history and train images/s.

    ``loss_fn`` replaces the cross-entropy (distillation passes a soft-target loss).
    """
    device = next(model.parameters()).device
    generator = torch.Generator().manual_seed(config.seed)
    frames = torch.from_numpy(train.frames).to(device)  # (N, H, W, C) uint8, stays on device
    labels = torch.from_numpy(train.labels).to(device)  # (N,)
    augmenter = BatchAugmenter(config.augment, train.class_names, train.task)
    if loss_fn is None:

        def loss_fn(logits, targets, _frames):
            return F.cross_entropy(logits, targets, label_smoothing=config.label_smoothing)

    epoch_size = len(balanced_indices(labels, generator)) if config.oversample else len(train)
    # Drop a ragged last batch (BatchNorm cannot train on a batch of one).
    steps_per_epoch = max(1, epoch_size // config.batch_size)
    total_steps = config.epochs * steps_per_epoch
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=config.lr, weight_decay=config.weight_decay
    )
    scheduler = _make_scheduler(optimizer, config, total_steps)
    progress = None
    if config.show_progress:
        from tqdm.auto import tqdm

        progress = tqdm(total=total_steps, desc=description, unit="step")
    history, step, seen, train_seconds = [], 0, 0, 0.0
    try:
        for epoch in range(config.epochs):
            model.train()
            if config.oversample:
                order = balanced_indices(labels, generator)
                order = order[torch.randperm(len(order), generator=generator)]
            else:
                order = torch.randperm(len(train), generator=generator)
            order = order.to(device)
            seen_epoch = 0
            loss_sum = torch.zeros((), device=device)
            correct = torch.zeros((), device=device, dtype=torch.int64)
            started = time.perf_counter()
            for batch in range(steps_per_epoch):
                index = order[batch * config.batch_size : (batch + 1) * config.batch_size]  # (B,)
                batch_frames, batch_labels = augmenter(frames[index], labels[index], generator)
                with autocast(device):
                    logits = model(batch_frames).float()  # (B, K)
                loss = loss_fn(logits, batch_labels, batch_frames)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                scheduler.step()
                # Accumulate on the device: a .item() per step would sync cuda every step.
                loss_sum += loss.detach() * len(index)
                correct += (logits.argmax(dim=1) == batch_labels).sum()
                seen_epoch += len(index)
                step += 1
                if writer is not None and (step % 10 == 0 or step == total_steps):
                    writer.add_scalar("train/lr", optimizer.param_groups[0]["lr"], step)
                    writer.add_scalar("train/loss", float(loss.detach()), step)
                if progress is not None:
                    progress.update(1)
            train_seconds += time.perf_counter() - started
            seen += seen_epoch
            row = {
                "epoch": epoch + 1,
                "train_loss": float(loss_sum) / seen_epoch,
                "train_accuracy": float(correct) / seen_epoch,
                "lr": optimizer.param_groups[0]["lr"],
            }
            if val is not None and len(val):
                predictions, val_loss = evaluate(model, val, device, config.eval_batch_size)
                row["val_loss"] = val_loss
                row["val_accuracy"] = float((predictions == val.labels).mean())
            history.append(row)
            if writer is not None:
                # Per-step curves are under train/ (x: optimizer step), per-epoch ones
                # under epoch/ (x: epoch), so no tag mixes the two x axes.
                for key, value in row.items():
                    if key not in ("epoch", "lr"):
                        writer.add_scalar(f"epoch/{key}", value, epoch + 1)
            if progress is not None:
                progress.set_postfix({k: round(v, 4) for k, v in row.items() if k != "epoch"})
    finally:
        if progress is not None:
            progress.close()
    model.eval()
    return history, seen / max(train_seconds, 1e-9)


def _open_writer(out_dir: Path | None, enabled: bool):
    if out_dir is None or not enabled:
        return None
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # tensorboard is in the train extra; training works without it
        return None
    return SummaryWriter(log_dir=str(out_dir / "tensorboard"))


def train_classifier(
    train: ImageSet,
    val: ImageSet | None,
    test: ImageSet | None,
    config: TrainConfig,
    out_dir: str | Path | None = None,
    *,
    loss_fn: LossFn | None = None,
    verbose: bool = True,
) -> TrainResult:
    """Train ``config.encoder`` on ``train``, report on ``test`` (else ``val``), save artefacts.

    With ``out_dir`` it writes ``checkpoint.pt``, ``report.json``, ``confusion.png`` and
    TensorBoard logs there, each artefact atomically.
    """
    for name, split in (("val", val), ("test", test)):
        if split is not None and (
            split.class_names != train.class_names or split.input_shape != train.input_shape
        ):
            raise ValueError(
                f"{name} set has classes {split.class_names} and shape {split.input_shape}; "
                f"train has {train.class_names} and {train.input_shape}"
            )
    out_path = Path(out_dir) if out_dir is not None else None
    device = pick_device(config.device)
    torch.manual_seed(config.seed)
    model = build_classifier(
        config.encoder, train.input_shape, train.num_classes, **config.encoder_options
    )
    if config.normalize:
        # Statistics from at most 2048 evenly spaced frames: stable, and a float copy of
        # all of CIFAR-10 would cost 600 MiB.
        sample = train.frames[np.linspace(0, len(train) - 1, min(len(train), 2048)).astype(int)]
        pixels = sample.reshape(-1, train.input_shape[2]).astype(np.float32) / 255.0
        model.encoder.set_normalization(pixels.mean(axis=0), pixels.std(axis=0) + 1e-3)
    model = maybe_channels_last(model, device)
    writer = _open_writer(out_path, config.tensorboard)
    try:
        history, images_per_s = fit(model, train, val, config, loss_fn=loss_fn, writer=writer)
    finally:
        if writer is not None:
            writer.close()
    evaluation = test if test is not None else val if val is not None else train
    split_name = "test" if test is not None else "val" if val is not None else "train"
    predictions, _ = evaluate(model, evaluation, device, config.eval_batch_size)
    matrix = confusion_matrix(evaluation.labels, predictions, train.num_classes)
    report = classification_report(matrix, train.class_names)
    report.update(
        split=split_name,
        task=train.task,
        encoder=config.encoder,
        train_images_per_s=images_per_s,
        device=str(device),
    )
    if verbose:
        print(
            f"\n{train.task} on the {split_name} split ({len(evaluation)} frames), "
            f"encoder {config.encoder}, {images_per_s:.0f} train images/s on {device}"
        )
        print(format_report(report))
    checkpoint_path = None
    if out_path is not None:
        config_dict = json_safe(dataclasses.asdict(config))
        # The checkpoint first and report.json last: a report means a complete run, so a
        # failed save (a full disk) must not leave one behind without its checkpoint.
        try:
            checkpoint_path = save_classifier(
                out_path / "checkpoint.pt",
                model,
                class_names=train.class_names,
                task=train.task,
                metrics={"accuracy": report["accuracy"], "split": split_name},
                train_config=config_dict,
            )
        except OSError as error:
            raise OSError(
                error.errno,
                f"saving {out_path / 'checkpoint.pt'} failed ({error.strerror or error}); "
                f"nothing was written to {out_path} (no report.json)",
            ) from error
        write_confusion_png(matrix, train.class_names, out_path / "confusion.png")
        atomic_write_json(
            out_path / "report.json", {**report, "history": history, "train_config": config_dict}
        )
    return TrainResult(model, report, history, checkpoint_path, images_per_s)


def json_safe(value: Any) -> Any:
    """Tuples to lists, non-finite floats and unknown objects to strings (JSON and torch safe)."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return repr(value)
