"""Perception: CNN encoders trained as image classifiers on simulator labels.

The public names below are imported lazily, so ``import roadgym.perception`` stays
cheap and the SB3 extractor only pulls in stable-baselines3 when it is used.

- Encoders: :func:`build_encoder` (``nature``, ``impala``, ``resnet``), :data:`ENCODERS`.
- Device: :func:`pick_device`, :func:`autocast`.
- Data: :func:`generate_labelled_dataset`, :func:`load_labelled_split`,
  :func:`load_cifar10`, :class:`ImageSet`, :class:`FrameDataset`.
- Training: :class:`TrainConfig`, :func:`train_classifier`, checkpoints via
  :func:`save_classifier` / :func:`load_classifier` / :func:`load_encoder_weights`.
- Agents: :class:`RoadgymEncoderExtractor` (SB3 features extractor).
- Distillation: :class:`DistillConfig`, :func:`run_distillation`.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "roadgym.perception.encoders": (
        "ENCODERS",
        "Encoder",
        "build_encoder",
        "build_encoder_from_spec",
        "count_parameters",
    ),
    "roadgym.perception.device": ("autocast", "maybe_channels_last", "pick_device"),
    "roadgym.perception.datasets": ("FrameDataset", "ImageSet", "load_cifar10"),
    "roadgym.perception.labelled": (
        "LabelledDatasetConfig",
        "generate_labelled_dataset",
        "labelled_frame_dataset",
        "load_labelled_split",
        "load_manifest",
    ),
    "roadgym.perception.augment": ("AugmentConfig", "BatchAugmenter"),
    "roadgym.perception.checkpoint": (
        "ImageClassifier",
        "build_classifier",
        "load_classifier",
        "load_encoder_weights",
        "read_checkpoint",
        "save_classifier",
    ),
    "roadgym.perception.trainer": ("TrainConfig", "TrainResult", "evaluate", "train_classifier"),
    "roadgym.perception.extractor": ("RoadgymEncoderExtractor",),
    "roadgym.perception.distill": (
        "DistillConfig",
        "distillation_loss",
        "measure_throughput",
        "run_distillation",
    ),
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = sorted(_MODULE_OF)


def __getattr__(name: str) -> Any:
    if name not in _MODULE_OF:
        raise AttributeError(f"module 'roadgym.perception' has no attribute {name!r}")
    value = getattr(importlib.import_module(_MODULE_OF[name]), name)
    globals()[name] = value  # cache: later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
