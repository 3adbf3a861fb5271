"""Knowledge distillation from a big encoder (the ResNet) into a small one (NatureCNN).

Hinton et al. (2015): the student matches the teacher's temperature-softened class
distribution as well as the labels,

    loss = alpha * T^2 * KL(softmax(t / T) || softmax(s / T)) + (1 - alpha) * CE(s, y),

the ``T^2`` keeping the soft-target gradients on the same scale as the hard ones
when ``T`` changes. :func:`run_distillation` trains the teacher, the student alone
and the distilled student on the same data and reports accuracy, parameter count
and inference throughput of all three.
"""

from __future__ import annotations

import copy
import dataclasses
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from roadgym.envs.core.config import ConfigError
from roadgym.perception.atomic import atomic_write_json
from roadgym.perception.checkpoint import load_classifier
from roadgym.perception.datasets import ImageSet
from roadgym.perception.device import autocast, pick_device
from roadgym.perception.encoders import count_parameters
from roadgym.perception.trainer import TrainConfig, evaluate, json_safe, train_classifier

__all__ = [
    "DistillConfig",
    "distillation_loss",
    "format_distill_report",
    "measure_throughput",
    "run_distillation",
]


@dataclass(frozen=True)
class DistillConfig:
    """Teacher, student and soft-target settings of one distillation comparison."""

    teacher: TrainConfig = field(default_factory=lambda: TrainConfig(encoder="resnet"))
    """How to train the teacher (ignored when ``teacher_checkpoint`` is set)."""
    student: TrainConfig = field(default_factory=lambda: TrainConfig(encoder="nature"))
    """How to train the student; used both alone and distilled, so only the loss differs."""
    temperature: float = 4.0
    """Softmax temperature T of the soft targets."""
    alpha: float = 0.9
    """Weight of the soft-target term; 1 - alpha weighs the label cross-entropy."""
    teacher_checkpoint: str | None = None
    """A trained classifier checkpoint to use as the teacher instead of training one."""
    throughput_batch_size: int = 256
    """Batch size of the inference-throughput measurement."""
    throughput_seconds: float = 2.0
    """Minimum timed seconds per throughput measurement (after two warm-up batches)."""
    student_seeds: int = 1
    """Train the student alone and distilled this many times (seeds ``student.seed``,
    ``student.seed + 1``, ...) and report the mean: one run's accuracy differs from the
    next by about as much as distillation gains."""

    def __post_init__(self) -> None:
        if not self.temperature > 0:
            raise ConfigError(f"DistillConfig.temperature = {self.temperature!r}; allowed: > 0")
        if not 0.0 <= self.alpha <= 1.0:
            raise ConfigError(f"DistillConfig.alpha = {self.alpha!r}; allowed: a number in [0, 1]")
        if self.throughput_batch_size < 1 or self.throughput_seconds <= 0:
            raise ConfigError(
                f"DistillConfig.throughput_batch_size = {self.throughput_batch_size!r}, "
                f"throughput_seconds = {self.throughput_seconds!r}; allowed: an int >= 1 and "
                "a number > 0"
            )
        if not isinstance(self.student_seeds, int) or self.student_seeds < 1:
            raise ConfigError(
                f"DistillConfig.student_seeds = {self.student_seeds!r}; allowed: an int >= 1"
            )


def distillation_loss(
    student_logits: torch.Tensor,
    teacher_logits: torch.Tensor,
    labels: torch.Tensor,
    temperature: float,
    alpha: float,
) -> torch.Tensor:
    """The soft-target loss above, for logits ``(B, K)`` and labels ``(B,)``."""
    soft_student = F.log_softmax(student_logits / temperature, dim=1)  # (B, K)
    soft_teacher = F.softmax(teacher_logits / temperature, dim=1)  # (B, K)
    kl = F.kl_div(soft_student, soft_teacher, reduction="batchmean")
    hard = F.cross_entropy(student_logits, labels)
    return alpha * temperature**2 * kl + (1.0 - alpha) * hard


@torch.inference_mode()
def measure_throughput(
    model: nn.Module,
    input_shape: tuple[int, int, int],
    device: str | torch.device = "cpu",
    batch_size: int = 256,
    min_seconds: float = 2.0,
) -> float:
    """Images per second of ``model`` on uint8 HWC batches on ``device``, conversion included."""
    device = torch.device(device)
    model = copy.deepcopy(model).to(device).eval()
    frames = torch.randint(0, 256, (batch_size, *input_shape), dtype=torch.uint8, device=device)

    def run_batch() -> None:
        with autocast(device):
            model(frames)  # (B, K)
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    for _ in range(2):  # warm-up: allocator, cudnn autotuning, lazy init
        run_batch()
    batches, started = 0, time.perf_counter()
    while True:
        run_batch()
        batches += 1
        elapsed = time.perf_counter() - started
        if elapsed >= min_seconds and batches >= 3:
            return batches * batch_size / elapsed


def format_distill_report(report: dict[str, Any]) -> str:
    """A plain-text table of :func:`run_distillation` output."""
    cuda = any("cuda_images_per_s" in row for row in report["models"].values())
    header = f"{'model':<18} {'encoder':<8} {'accuracy':>16} {'params':>10} {'cpu img/s':>10}"
    header += f" {'cuda img/s':>11}" if cuda else ""
    header += f" {'cpu speedup':>11}"
    lines = [header, "-" * len(header)]
    teacher_speed = report["models"]["teacher"]["cpu_images_per_s"]
    for name, row in report["models"].items():
        accuracy = f"{row['accuracy']:.4f}"
        if len(row.get("accuracy_runs", [])) > 1:
            accuracy += f" +- {row['accuracy_std']:.4f}"
        line = (
            f"{name:<18} {row['encoder']:<8} {accuracy:>16} {row['parameters']:>10d} "
            f"{row['cpu_images_per_s']:>10.0f}"
        )
        if cuda:
            line += f" {row.get('cuda_images_per_s', float('nan')):>11.0f}"
        line += f" {row['cpu_images_per_s'] / teacher_speed:>10.1f}x"
        lines.append(line)
    if report.get("student_seeds", 1) > 1:
        lines.append(f"(students: mean +- std over {report['student_seeds']} seeds)")
    return "\n".join(lines)


def run_distillation(
    train: ImageSet,
    val: ImageSet | None,
    test: ImageSet,
    config: DistillConfig,
    out_dir: str | Path | None = None,
    *,
    verbose: bool = True,
) -> dict[str, Any]:
    """Train (or load) the teacher, the student alone and the distilled student; compare them.

    Each model's artefacts go to ``out_dir/<name>/`` (``out_dir/<name>_seed<n>/`` for
    students trained over several seeds); the comparison is printed and written to
    ``out_dir/distill_report.json`` (atomically).
    """
    out_path = Path(out_dir) if out_dir is not None else None

    def sub(name: str) -> Path | None:
        return out_path / name if out_path is not None else None

    device = pick_device(config.student.device)
    if config.teacher_checkpoint is not None:
        teacher, meta = load_classifier(config.teacher_checkpoint, device)
        if tuple(meta["class_names"]) != train.class_names:
            raise ValueError(
                f"teacher_checkpoint {config.teacher_checkpoint} has classes "
                f"{meta['class_names']}; the data has {list(train.class_names)}"
            )
    else:
        teacher = train_classifier(
            train, val, test, config.teacher, sub("teacher"), verbose=verbose
        ).model
    teacher.eval().requires_grad_(False)

    def soft_target_loss(logits, labels, frames):
        with torch.no_grad(), autocast(device):
            teacher_logits = teacher(frames).float()  # (B, K)
        return distillation_loss(logits, teacher_logits, labels, config.temperature, config.alpha)

    def accuracy(model: nn.Module) -> float:
        predictions, _ = evaluate(model, test, device)
        return float((predictions == test.labels).mean())

    def speed_row(model: nn.Module) -> dict[str, Any]:
        row = {"encoder": model.encoder.name, "parameters": count_parameters(model)}
        devices = ["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"]
        for name in devices:
            row[f"{name}_images_per_s"] = measure_throughput(
                model,
                train.input_shape,
                name,
                config.throughput_batch_size,
                config.throughput_seconds,
            )
        return row

    models = {"teacher": {"accuracy": accuracy(teacher)}}
    trained = {"teacher": teacher}
    for name, loss_fn in (("student_alone", None), ("student_distilled", soft_target_loss)):
        runs = []
        for offset in range(config.student_seeds):
            student = dataclasses.replace(config.student, seed=config.student.seed + offset)
            folder = name if config.student_seeds == 1 else f"{name}_seed{student.seed}"
            model = train_classifier(
                train, val, test, student, sub(folder), loss_fn=loss_fn, verbose=verbose
            ).model
            runs.append(accuracy(model))
        trained[name] = model
        models[name] = {
            "accuracy": float(np.mean(runs)),
            "accuracy_std": float(np.std(runs)),
            "accuracy_runs": runs,
        }
    # Timed back to back at the end, so that all three see the same machine load.
    for name, model in trained.items():
        models[name] = {**speed_row(model), **models[name]}
    report = {
        "task": train.task,
        "test_frames": len(test),
        "temperature": config.temperature,
        "alpha": config.alpha,
        "throughput_batch_size": config.throughput_batch_size,
        "cpu_threads": torch.get_num_threads(),
        "student_seeds": config.student_seeds,
        "models": models,
        "distilled_minus_teacher_accuracy": models["student_distilled"]["accuracy"]
        - models["teacher"]["accuracy"],
        "distilled_minus_alone_accuracy": models["student_distilled"]["accuracy"]
        - models["student_alone"]["accuracy"],
        "cpu_speedup_vs_teacher": models["student_distilled"]["cpu_images_per_s"]
        / models["teacher"]["cpu_images_per_s"],
        "config": json_safe(dataclasses.asdict(config)),
    }
    if verbose:
        print(f"\ndistillation on {train.task}, test split of {len(test)} frames")
        print(format_distill_report(report))
    if out_path is not None:
        atomic_write_json(out_path / "distill_report.json", report)
    return report
