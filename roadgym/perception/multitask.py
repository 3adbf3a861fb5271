"""One encoder trained on several label tasks at once (light state, object ahead, layout).

``roadgym train-classifier`` fits one task; a driving policy needs features that know
about all of them. :func:`train_multitask` puts one linear head per task on a single
roadgym encoder and minimises the mean cross-entropy of the heads on a labelled dataset
(:mod:`roadgym.perception.labelled`; every frame carries every task's label, so each
batch trains every head). The checkpoint is an ordinary ``roadgym.classifier`` file
(``load_encoder_weights`` and ``roadgym train --pretrained`` take it): ``task`` and
``head_state`` are the first task's, and ``heads`` adds every task's class names and
head weights.

    roadgym train-multitask --dataset runs/town-labelled --out runs/multitask \\
        [--tasks light_state object_ahead road_layout] [--epochs 8]

(``--dataset`` is a folder written by ``generate_labelled_dataset``.)
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from roadgym.envs.core.config import ConfigError
from roadgym.perception.atomic import atomic_write, atomic_write_json
from roadgym.perception.augment import AugmentConfig, BatchAugmenter
from roadgym.perception.checkpoint import classifier_payload, cpu_state, read_checkpoint
from roadgym.perception.encoders import Encoder, build_encoder, build_encoder_from_spec
from roadgym.perception.labelled import MANIFEST_NAME, load_manifest

__all__ = [
    "MultiTaskClassifier",
    "MultiTaskConfig",
    "MultiTaskSet",
    "load_multitask_split",
    "load_multitask_classifier",
    "rescale_features",
    "train_multitask",
    "train_multitask_command",
]


@dataclass(frozen=True)
class MultiTaskSet:
    """Frames with one label array per task."""

    frames: np.ndarray
    """uint8 ``(N, H, W, C)``."""
    labels: dict[str, np.ndarray]
    """task -> int64 class ids ``(N,)``."""
    class_names: dict[str, list[str]]
    """task -> the name of each class id."""

    def __len__(self) -> int:
        return len(self.frames)


@dataclass(frozen=True)
class MultiTaskConfig:
    """Hyperparameters of one multi-task encoder training run."""

    tasks: tuple[str, ...] = ("light_state", "object_ahead", "road_layout")
    """Label tasks of the dataset, one head each."""
    encoder: str = "nature"
    """Encoder architecture by name (``nature``, ``impala``, ``resnet``)."""
    encoder_options: dict[str, Any] = field(
        default_factory=lambda: {"features_dim": 256, "channels": [16, 32, 32]}
    )
    """Fields of that encoder's config; the default is the Town student's encoder."""
    epochs: int = 6
    """Passes over the training frames."""
    batch_size: int = 128
    """Frames per optimiser step."""
    lr: float = 1e-3
    """Starting learning rate of AdamW (cosine decay to 0)."""
    weight_decay: float = 1e-4
    """AdamW decoupled weight decay."""
    crop_padding: int = 2
    """Random-crop augmentation: pad by this many pixels and crop back (0: none)."""
    normalize: bool = True
    """Set the encoder's per-channel mean/std from the training frames."""
    seed: int = 0
    """Seeds weight init, shuffling and augmentation."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "tasks", tuple(str(task) for task in self.tasks))
        if not self.tasks or len(set(self.tasks)) != len(self.tasks):
            raise ConfigError(
                f"MultiTaskConfig.tasks = {self.tasks!r}; allowed: one or more distinct tasks"
            )
        for name in ("epochs", "batch_size"):
            if int(getattr(self, name)) < 1:
                raise ConfigError(
                    f"MultiTaskConfig.{name} = {getattr(self, name)!r}; allowed: >= 1"
                )
        if self.lr <= 0 or self.weight_decay < 0:
            raise ConfigError(
                f"MultiTaskConfig.lr = {self.lr!r}, weight_decay = {self.weight_decay!r}; "
                "allowed: lr > 0, weight_decay >= 0"
            )


class MultiTaskClassifier(nn.Module):
    """A roadgym encoder with one linear head per task."""

    def __init__(self, encoder: Encoder, num_classes: dict[str, int]) -> None:
        super().__init__()
        self.encoder = encoder
        self.heads = nn.ModuleDict(
            {task: nn.Linear(encoder.features_dim, n) for task, n in num_classes.items()}
        )

    def forward(self, frames: torch.Tensor) -> dict[str, torch.Tensor]:
        """Frames (uint8 ``(B, H, W, C)`` or float ``(B, C, H, W)``) to task -> logits."""
        features = self.encoder(frames)  # (B, F)
        return {task: head(features) for task, head in self.heads.items()}  # (B, K_task)


def load_multitask_split(root: str | Path, split: str, tasks: tuple[str, ...]) -> MultiTaskSet:
    """One split of a labelled dataset with the labels of every task in ``tasks``."""
    root = Path(root)
    manifest = load_manifest(root)
    if split not in manifest["splits"]:
        raise ValueError(f"split={split!r} is not in {root}; allowed: {sorted(manifest['splits'])}")
    missing = [task for task in tasks if task not in manifest["tasks"]]
    if missing:
        raise ValueError(f"tasks {missing} are not in {root}; allowed: {sorted(manifest['tasks'])}")
    frames, labels = [], {task: [] for task in tasks}
    for shard in manifest["splits"][split]["shards"]:
        path = root / shard["file"]
        if not path.is_file():
            raise FileNotFoundError(f"shard {path} listed in {root / MANIFEST_NAME} is missing")
        with np.load(path) as data:
            frames.append(data["frames"])
            for task in tasks:
                labels[task].append(data[f"label_{task}"].astype(np.int64))
    if not frames:
        raise ValueError(f"split {split!r} of {root} has no frames")
    return MultiTaskSet(
        np.concatenate(frames),
        {task: np.concatenate(parts) for task, parts in labels.items()},
        {task: list(manifest["tasks"][task]) for task in tasks},
    )


@torch.no_grad()
def evaluate_multitask(
    model: MultiTaskClassifier, data: MultiTaskSet, batch_size: int = 512
) -> dict[str, float]:
    """Accuracy of each head on ``data``."""
    model.eval()
    correct = {task: 0 for task in model.heads}
    for start in range(0, len(data), batch_size):
        frames = torch.from_numpy(data.frames[start : start + batch_size])  # (B, H, W, C)
        logits = model(frames)
        for task, values in logits.items():
            truth = torch.from_numpy(data.labels[task][start : start + batch_size])
            correct[task] += int((values.argmax(dim=1) == truth).sum())
    return {task: count / max(len(data), 1) for task, count in correct.items()}


def _save(path: Path, model: MultiTaskClassifier, data: MultiTaskSet, report: dict) -> Path:
    first = next(iter(model.heads))
    # An ordinary classifier checkpoint of the first head (load_classifier reads it), plus
    # every head with its class names.
    payload = classifier_payload(
        model.encoder,
        model.heads[first],
        task=first,
        class_names=data.class_names[first],
        metrics=report.get("test_accuracy", {}),
        train_config=report.get("config", {}),
    )
    payload["heads"] = {
        task: {"class_names": list(data.class_names[task]), "state": cpu_state(head)}
        for task, head in model.heads.items()
    }
    return atomic_write(path, lambda file: torch.save(payload, file))


def load_multitask_classifier(path: str | Path) -> tuple[MultiTaskClassifier, dict[str, Any]]:
    """Rebuild the model saved by :func:`train_multitask` (eval mode) and its checkpoint."""
    payload = read_checkpoint(path)
    if "heads" not in payload:
        raise ValueError(f"checkpoint {path} is a single-task classifier (no 'heads' entry)")
    encoder = build_encoder_from_spec(payload["encoder"])
    encoder.load_state_dict(payload["encoder_state"])
    heads = payload["heads"]
    model = MultiTaskClassifier(encoder, {t: len(h["class_names"]) for t, h in heads.items()})
    for task, head in heads.items():
        model.heads[task].load_state_dict(head["state"])
    return model.eval(), payload


def rescale_features(checkpoint: str | Path, out: str | Path, factor: float) -> Path:
    """Copy a classifier checkpoint with its encoder's features multiplied by ``factor``.

    Every roadgym encoder ends in ``Linear -> ReLU`` and ReLU is positively homogeneous,
    so scaling that Linear's weight and bias scales the features exactly; the class heads
    are divided by ``factor``, so every logit stays the same. Used to ask whether a
    pretrained encoder hurts PPO through its features' scale alone (a fresh tanh layer
    saturates on large inputs) or through what they encode.
    """
    if not factor > 0:
        raise ValueError(f"factor = {factor!r}; allowed: a number > 0")
    payload = read_checkpoint(checkpoint)
    state = payload["encoder_state"]
    if "head.0.weight" not in state:
        raise ValueError(f"checkpoint {checkpoint} has no encoder head.0 (Linear) to rescale")
    for key in ("head.0.weight", "head.0.bias"):
        state[key] = state[key] * factor
    heads = [payload["head_state"]] + [head["state"] for head in payload.get("heads", {}).values()]
    for head in heads:
        head["weight"] = head["weight"] / factor
    payload.setdefault("train_config", {})["features_rescaled_by"] = float(factor)
    return atomic_write(Path(out), lambda file: torch.save(payload, file))


def train_multitask(
    root: str | Path, out_dir: str | Path, config: MultiTaskConfig, *, verbose: bool = True
) -> dict[str, Any]:
    """Train one encoder on ``config.tasks`` of the dataset at ``root``; return the report.

    Writes ``out_dir/checkpoint.pt`` and then ``out_dir/report.json`` (per-task accuracy
    on the val split after each epoch and on the test split at the end), atomically.
    """
    out_dir = Path(out_dir)
    train = load_multitask_split(root, "train", config.tasks)
    val = load_multitask_split(root, "val", config.tasks)
    test = load_multitask_split(root, "test", config.tasks)
    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    encoder = build_encoder(config.encoder, train.frames.shape[1:], **config.encoder_options)
    if config.normalize:
        sample = train.frames[np.linspace(0, len(train) - 1, min(len(train), 2048)).astype(int)]
        pixels = sample.reshape(-1, sample.shape[-1]).astype(np.float32) / 255.0
        encoder.set_normalization(pixels.mean(axis=0), pixels.std(axis=0) + 1e-3)
    model = MultiTaskClassifier(encoder, {t: len(n) for t, n in train.class_names.items()})
    first = config.tasks[0]
    # Crop only: a crop keeps every task's label (a mirror would not).
    augmenter = BatchAugmenter(
        AugmentConfig(crop_padding=config.crop_padding), train.class_names[first], first
    )
    frames = torch.from_numpy(train.frames)  # (N, H, W, C) uint8
    labels = {task: torch.from_numpy(values) for task, values in train.labels.items()}
    steps_per_epoch = max(1, len(train) // config.batch_size)
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=config.lr, weight_decay=config.weight_decay
    )
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(
        optimizer, T_max=config.epochs * steps_per_epoch
    )
    history, started = [], time.perf_counter()
    for epoch in range(config.epochs):
        model.train()
        order = torch.randperm(len(train), generator=generator)
        loss_sum = 0.0
        for batch in range(steps_per_epoch):
            index = order[batch * config.batch_size : (batch + 1) * config.batch_size]  # (B,)
            batch_frames, _ = augmenter(frames[index], labels[first][index], generator)
            logits = model(batch_frames)
            loss = torch.stack(
                [F.cross_entropy(logits[task], labels[task][index]) for task in config.tasks]
            ).mean()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            loss_sum += float(loss.detach())
        row = {
            "epoch": epoch + 1,
            "train_loss": loss_sum / steps_per_epoch,
            "val_accuracy": evaluate_multitask(model, val),
            "elapsed_s": time.perf_counter() - started,
        }
        history.append(row)
        if verbose:
            print(f"epoch {row['epoch']}: loss {row['train_loss']:.4f} val {row['val_accuracy']}")
    report = {
        "tasks": list(config.tasks),
        "frames": {"train": len(train), "val": len(val), "test": len(test)},
        "test_accuracy": evaluate_multitask(model, test),
        "class_frequency_test": {
            task: np.bincount(test.labels[task], minlength=len(names)).tolist()
            for task, names in test.class_names.items()
        },
        "train_s": time.perf_counter() - started,
        "history": history,
        "config": json_ready(dataclasses.asdict(config)),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    _save(out_dir / "checkpoint.pt", model, train, report)  # the checkpoint before the report
    atomic_write_json(out_dir / "report.json", report)
    if verbose:
        print(f"test accuracy {report['test_accuracy']} ({report['train_s']:.0f} s)")
    return report


def json_ready(value: Any) -> Any:
    """Tuples to lists, recursively, so a config dataclass dumps to JSON unchanged."""
    if isinstance(value, dict):
        return {key: json_ready(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(item) for item in value]
    return value


def train_multitask_command(argv: Sequence[str] | None = None) -> int:
    """``roadgym train-multitask``: :func:`train_multitask` from the command line."""
    defaults = MultiTaskConfig()
    parser = argparse.ArgumentParser(
        description="Train one encoder with a head per label task (light state, object ahead, "
        "road layout) on a labelled dataset; writes checkpoint.pt and report.json."
    )
    parser.add_argument("--dataset", type=Path, required=True, help="labelled dataset folder")
    parser.add_argument("--out", type=Path, required=True, help="folder for the artefacts")
    parser.add_argument("--tasks", nargs="+", default=list(defaults.tasks))
    parser.add_argument("--encoder", default=defaults.encoder)
    parser.add_argument("--epochs", type=int, default=defaults.epochs)
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
    parser.add_argument("--lr", type=float, default=defaults.lr)
    parser.add_argument("--crop-padding", type=int, default=defaults.crop_padding)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--torch-threads", type=int, default=1, help="torch.set_num_threads")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.torch_threads)
    options = defaults.encoder_options if args.encoder == defaults.encoder else {}
    config = MultiTaskConfig(
        tasks=tuple(args.tasks),
        encoder=args.encoder,
        encoder_options=options,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        crop_padding=args.crop_padding,
        seed=args.seed,
    )
    train_multitask(args.dataset, args.out, config)
    return 0
