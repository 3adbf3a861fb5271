"""GAN checkpoints: everything needed to resume training or to sample, in one torch file.

A checkpoint is a ``torch.save`` dict readable with ``weights_only=True``::

    {"format": "roadgym.gan", "version": 1, "config": {...GanConfig...}, "step": int,
     "tasks": [...], "class_names": {task: [...]}, "frame_size": 64, "palette": [[r,g,b]...],
     "dataset": "path", "generator": sd, "generator_ema": sd, "discriminator": sd,
     "opt_g": sd, "opt_d": sd, "sampler_state": ByteTensor, "history": {...},
     "classifier": sd (only with aux_weight > 0 or select_every > 0)}

It is written atomically (temporary name, then rename), so an interrupted write never
replaces a good checkpoint with a half one.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import torch
from torch import nn

from roadgym.perception.atomic import atomic_write
from roadgym.perception.gan.config import GanConfig
from roadgym.perception.gan.models import Discriminator, Generator

__all__ = ["GAN_FORMAT", "build_networks", "load_generator", "read_gan_checkpoint", "save_gan"]

GAN_FORMAT = "roadgym.gan"
_VERSION = 1


def _cpu(state: dict[str, Any]) -> dict[str, Any]:
    return {k: v.detach().cpu().clone() if torch.is_tensor(v) else v for k, v in state.items()}


def _cpu_optimizer(state: dict[str, Any]) -> dict[str, Any]:
    return {
        "state": {k: _cpu(v) for k, v in state["state"].items()},
        "param_groups": state["param_groups"],
    }


def build_networks(meta: dict[str, Any]) -> tuple[Generator, Discriminator]:
    """Fresh generator and discriminator shaped as the checkpoint ``meta`` describes."""
    config = GanConfig(**{**meta["config"], "tasks": tuple(meta["config"]["tasks"])})
    num_classes = [len(meta["class_names"][t]) for t in meta["tasks"]]
    palette = torch.tensor(meta["palette"]) if meta["palette"] else None
    model_size = int(meta["frame_size"]) // config.model_scale  # the networks' resolution
    generator = Generator(
        num_classes,
        frame_size=model_size,
        z_dim=config.z_dim,
        embed_dim=config.embed_dim,
        channels=config.g_channels,
        palette=palette,
        upscale=config.model_scale,
        encoder_channels=config.encoder_channels if config.recon_weight > 0 else 0,
    )
    discriminator = Discriminator(num_classes, frame_size=model_size, channels=config.d_channels)
    return generator, discriminator


def save_gan(
    path: str | Path,
    *,
    config: GanConfig,
    step: int,
    meta: dict[str, Any],
    generator: nn.Module,
    generator_ema: nn.Module,
    discriminator: nn.Module,
    opt_g: torch.optim.Optimizer,
    opt_d: torch.optim.Optimizer,
    sampler_state: torch.Tensor,
    history: dict[str, Any],
    classifier: nn.Module | None = None,
) -> Path:
    """Write a resumable checkpoint to ``path`` atomically (with the GAN's frozen label
    classifier, when it has one, so a resumed run keeps the same one)."""
    payload = {
        "format": GAN_FORMAT,
        "version": _VERSION,
        **meta,
        "config": {**dataclasses.asdict(config), "tasks": list(config.tasks)},
        "step": int(step),
        "generator": _cpu(generator.state_dict()),
        "generator_ema": _cpu(generator_ema.state_dict()),
        "discriminator": _cpu(discriminator.state_dict()),
        "opt_g": _cpu_optimizer(opt_g.state_dict()),
        "opt_d": _cpu_optimizer(opt_d.state_dict()),
        "sampler_state": sampler_state.clone(),
        "history": history,
    }
    if classifier is not None:
        payload["classifier"] = _cpu(classifier.state_dict())
    return atomic_write(path, lambda file: torch.save(payload, file))


def read_gan_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load a GAN checkpoint dict (cpu tensors) and check its format."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"GAN checkpoint {path} does not exist; expected a file written by "
            "`roadgym gan train` (<out>/checkpoint.pt)"
        )
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch.load fails in many ways on a foreign file; say which
        raise ValueError(f"{path} is not a readable torch checkpoint: {error}") from error
    if not isinstance(payload, dict) or payload.get("format") != GAN_FORMAT:
        raise ValueError(f"{path} is not a {GAN_FORMAT} checkpoint")
    if payload.get("version") != _VERSION:
        raise ValueError(f"{path} has version {payload.get('version')!r}; expected {_VERSION}")
    return payload


def load_generator(
    path: str | Path, device: str | torch.device = "cpu", ema: bool = True
) -> tuple[Generator, dict[str, Any]]:
    """The (EMA, by default) generator of checkpoint ``path`` in eval mode, and its meta."""
    payload = read_gan_checkpoint(path)
    generator, _ = build_networks(payload)
    generator.load_state_dict(payload["generator_ema" if ema else "generator"])
    meta = {k: v for k, v in payload.items() if k not in _STATE_KEYS}
    return generator.to(device).eval(), meta


_STATE_KEYS = ("generator", "generator_ema", "discriminator", "opt_g", "opt_d", "sampler_state")
_STATE_KEYS += ("classifier",)
