"""Image classifiers (encoder + linear head) and their checkpoints.

A checkpoint is a ``torch.save`` dict readable with ``weights_only=True``::

    {
      "format": "roadgym.classifier", "version": 1,
      "encoder": {"name": "resnet", "input_shape": [64, 64, 3], "options": {...}},
      "task": "road_layout", "class_names": ["straight", "curve_left", "curve_right"],
      "normalization": {"scale": 1/255, "mean": [...], "std": [...],
                        "input": "uint8 (B, H, W, C) or float (B, C, H, W) in [0, 1]"},
      "encoder_state": {...}, "head_state": {...},
      "metrics": {...}, "train_config": {...},
    }

``encoder_state`` includes the normalisation buffers, so loading only the encoder
(as the SB3 features extractor does) keeps the statistics it was trained with.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from roadgym.perception.atomic import atomic_write
from roadgym.perception.encoders import Encoder, build_encoder, build_encoder_from_spec

__all__ = [
    "CHECKPOINT_FORMAT",
    "ImageClassifier",
    "build_classifier",
    "classifier_payload",
    "cpu_state",
    "load_classifier",
    "load_encoder_weights",
    "read_checkpoint",
    "save_classifier",
]

CHECKPOINT_FORMAT = "roadgym.classifier"
_VERSION = 1


class ImageClassifier(nn.Module):
    """A roadgym encoder followed by one linear layer producing class logits."""

    def __init__(self, encoder: Encoder, num_classes: int) -> None:
        super().__init__()
        if num_classes < 2:
            raise ValueError(f"num_classes={num_classes!r} must be >= 2")
        self.encoder = encoder
        self.head = nn.Linear(encoder.features_dim, num_classes)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        """Frames, uint8 ``(B, H, W, C)`` or float ``(B, C, H, W)``, to logits ``(B, K)``."""
        return self.head(self.encoder(frames))  # (B, K)


def build_classifier(
    encoder_name: str, input_shape: Sequence[int], num_classes: int, **options: Any
) -> ImageClassifier:
    """Build an :class:`ImageClassifier` around the encoder called ``encoder_name``."""
    return ImageClassifier(build_encoder(encoder_name, input_shape, **options), num_classes)


def cpu_state(module: nn.Module) -> dict[str, torch.Tensor]:
    """``module``'s state as plain contiguous cpu copies, so a cuda checkpoint loads anywhere."""
    return {k: v.detach().to("cpu").contiguous() for k, v in module.state_dict().items()}


def classifier_payload(
    encoder: nn.Module,
    head: nn.Module,
    *,
    task: str,
    class_names: Sequence[str],
    metrics: dict[str, Any] | None = None,
    train_config: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The checkpoint dict of an encoder and one head (what :func:`save_classifier`
    writes); a multi-task checkpoint adds its other heads to it."""
    return {
        "format": CHECKPOINT_FORMAT,
        "version": _VERSION,
        "encoder": encoder.spec(),
        "task": task,
        "class_names": [str(name) for name in class_names],
        "normalization": {
            "input": "uint8 (B, H, W, C) or float (B, C, H, W) in [0, 1]",
            "scale": 1.0 / 255.0,
            "mean": encoder.mean.tolist(),
            "std": encoder.std.tolist(),
        },
        "encoder_state": cpu_state(encoder),
        "head_state": cpu_state(head),
        "metrics": metrics or {},
        "train_config": train_config or {},
    }


def save_classifier(
    path: str | Path,
    model: ImageClassifier,
    *,
    class_names: Sequence[str],
    task: str,
    metrics: dict[str, Any] | None = None,
    train_config: dict[str, Any] | None = None,
) -> Path:
    """Write ``model`` and what is needed to rebuild and normalise it to ``path``, atomically."""
    if len(class_names) != model.head.out_features:
        raise ValueError(
            f"class_names has {len(class_names)} names but the head has "
            f"{model.head.out_features} outputs"
        )
    payload = classifier_payload(
        model.encoder,
        model.head,
        task=task,
        class_names=class_names,
        metrics=metrics,
        train_config=train_config,
    )
    return atomic_write(path, lambda file: torch.save(payload, file))


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load a classifier checkpoint dict (cpu tensors) and check its format."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"checkpoint {path} does not exist; expected a file written by "
            "save_classifier / train_classifier"
        )
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch.load fails in many ways on a foreign file; say which
        raise ValueError(
            f"checkpoint {path} is not a readable torch checkpoint: {error}"
        ) from error
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"checkpoint {path} is not a {CHECKPOINT_FORMAT} checkpoint")
    if payload.get("version") != _VERSION:
        raise ValueError(
            f"checkpoint {path} has version {payload.get('version')!r}; expected {_VERSION}"
        )
    return payload


def load_classifier(
    path: str | Path, device: str | torch.device = "cpu"
) -> tuple[ImageClassifier, dict[str, Any]]:
    """Rebuild the classifier saved at ``path``; returns ``(model in eval mode, meta)``."""
    payload = read_checkpoint(path)
    encoder = build_encoder_from_spec(payload["encoder"])
    model = ImageClassifier(encoder, len(payload["class_names"]))
    _load_weights(encoder, payload.pop("encoder_state"), path, payload["encoder"])
    _load_weights(model.head, payload.pop("head_state"), path, payload["encoder"])
    return model.to(device).eval(), payload


def _load_weights(module: torch.nn.Module, state: dict, path: Path | str, spec: dict) -> None:
    """``load_state_dict`` with an error that says which checkpoint disagrees with itself."""
    try:
        module.load_state_dict(state)
    except RuntimeError as error:  # torch's message: a page of missing/unexpected keys
        first = str(error).strip().splitlines()
        raise ValueError(
            f"checkpoint {path}: its weights do not fit the encoder it names "
            f"({spec.get('name')!r}, input_shape {spec.get('input_shape')}, options "
            f"{spec.get('options')}); the file was edited or mixes two models "
            f"({first[1].strip() if len(first) > 1 else first[0][:200]})"
        ) from error


def load_encoder_weights(encoder: Encoder, path: str | Path) -> dict[str, Any]:
    """Copy the encoder weights of checkpoint ``path`` into ``encoder``; return its meta.

    The checkpoint must hold the same architecture, options and input shape; anything
    else raises ValueError saying what the checkpoint holds and what was asked for.
    """
    payload = read_checkpoint(path)
    saved, wanted = payload["encoder"], encoder.spec()
    for key in ("name", "input_shape", "options"):
        if saved.get(key) != wanted[key]:
            raise ValueError(
                f"checkpoint {path} holds encoder {saved.get('name')!r} with input_shape "
                f"{saved.get('input_shape')} and options {saved.get('options')}; it cannot load "
                f"into encoder {wanted['name']!r} with input_shape {wanted['input_shape']} and "
                f"options {wanted['options']} ({key} differs)"
            )
    _load_weights(encoder, payload.pop("encoder_state"), path, saved)
    payload.pop("head_state", None)
    return payload
