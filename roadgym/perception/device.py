"""One place that picks the torch device and the speed settings that go with it.

Nothing else in roadgym names ``cuda`` directly: callers ask :func:`pick_device` and
:func:`autocast` so the same code runs on a laptop CPU and on a GPU box.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch import nn

__all__ = [
    "autocast",
    "conv_input",
    "default_torch_threads",
    "maybe_channels_last",
    "pick_device",
    "uses_cuda_speedups",
]

_ALLOWED_DEVICES = ("auto", "cuda", "cpu")


def pick_device(preference: str | torch.device = "auto") -> torch.device:
    """Return the device to train or infer on.

    ``"auto"`` picks cuda when available, then cpu. An explicit ``"cuda"`` on a
    machine without one is an error rather than a silent fallback, because a user
    who asked for the GPU wants to know it is missing.
    """
    if isinstance(preference, torch.device):
        return preference
    name = str(preference).lower()
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ValueError(f"device={preference!r} requested but torch.cuda is not available")
        return torch.device(name)
    if name == "cpu":
        return torch.device("cpu")
    raise ValueError(f"device={preference!r} is not one of {_ALLOWED_DEVICES} (or 'cuda:N')")


# At or below this many cores, one torch thread beats torch's default (one per core):
# the env, SB3 and torch then stop fighting over the same cores. Measured on the 2-core
# development VM (Town-v0 PPO, 64x64 frames): 64 env steps/s with the default threads,
# 280 with one (2026-11-30); small CNN training showed the same.
SMALL_CPU_CORES = 4


def default_torch_threads(cpu_count: int | None = None) -> int:
    """Torch threads for training on this machine: 1 on small CPUs, else half the cores.

    Rollouts and the optimiser alternate on the same cores, and each small convnet step
    is too short to split across many threads; half the cores leaves the rest to the
    simulator and the data pipeline.
    """
    import os

    cores = cpu_count if cpu_count is not None else (os.cpu_count() or 1)
    if cores <= SMALL_CPU_CORES:
        return 1
    return max(1, cores // 2)


def uses_cuda_speedups(device: torch.device) -> bool:
    """Whether bf16 autocast and channels_last are worth it on ``device`` (cuda only).

    On CPU, bf16 autocast is slower than fp32 on most consumer chips and
    channels_last brings nothing for these small convnets, so both stay off there.
    """
    return device.type == "cuda"


@contextlib.contextmanager
def autocast(device: torch.device) -> Iterator[None]:
    """bf16 autocast on cuda; a no-op elsewhere."""
    if uses_cuda_speedups(device):
        with torch.autocast(device_type="cuda", dtype=torch.bfloat16):
            yield
    else:
        yield


def conv_input(images: torch.Tensor) -> torch.Tensor:
    """``images (B, C, H, W)`` in the memory layout a convolution on their device should see.

    On the CPU the result is plain contiguous NCHW. A ``permute(0, 3, 1, 2)`` of HWC frames
    (what the env emits, and what SB3's ``VecTransposeImage`` hands over) is channels_last
    in memory, and torch sends channels_last CPU input to oneDNN, whose AVX2 kernel for the
    weight gradient of a 1x1 stride-2 convolution (a ResNet shortcut) crashes the process
    (oneDNN 3.12 in torch 2.13 / 2.14, on CPUs without AVX-512; issue 23). On cuda the
    layout is left alone: there the model is put in channels_last on purpose
    (:func:`maybe_channels_last`).
    """
    if uses_cuda_speedups(images.device):
        return images
    return images.contiguous()  # (B, C, H, W), NCHW strides


def maybe_channels_last(module: nn.Module, device: torch.device) -> nn.Module:
    """Move ``module`` to ``device``, in channels_last memory format on cuda."""
    module = module.to(device)
    if uses_cuda_speedups(device):
        module = module.to(memory_format=torch.channels_last)
    return module
