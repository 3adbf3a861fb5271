"""CNN encoders shared by the image classifier and the RL agents.

Every encoder maps a batch of camera frames to a flat feature vector. Frames come
either as the env emits them, ``uint8 (B, H, W, C)``, or as stable-baselines3 hands
them to a features extractor, ``float (B, C, H, W)`` already scaled to [0, 1]. The
encoder converts the first into the second itself, then subtracts a per-channel
mean and divides by a per-channel std held as buffers, so a trained encoder carries
its own normalisation wherever its state dict goes.

Build one by name with :func:`build_encoder`; each architecture has a typed config
whose fields are the only accepted options. The flat size after the conv trunk is
found by a dry forward pass, so no architecture hard-codes a 64x64 input.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import nn

from roadgym.envs.core.config import ConfigError
from roadgym.perception.device import conv_input

__all__ = [
    "ENCODERS",
    "Encoder",
    "ImpalaCNN",
    "ImpalaCNNConfig",
    "NatureCNN",
    "NatureCNNConfig",
    "ResNet",
    "ResNetConfig",
    "build_encoder",
    "build_encoder_from_spec",
    "count_parameters",
    "to_float_chw",
    "validate_input_shape",
]


def _check_channels(owner: str, channels: Any, length: int | None = None) -> tuple[int, ...]:
    """Coerce ``channels`` to a tuple of positive ints (JSON round trips give lists)."""
    try:
        values = tuple(int(c) for c in channels)
    except TypeError as error:
        raise ConfigError(
            f"{owner}.channels = {channels!r}; allowed: a sequence of ints"
        ) from error
    if not values or any(c <= 0 for c in values) or (length is not None and len(values) != length):
        wanted = f"{length} positive ints" if length else "one or more positive ints"
        raise ConfigError(f"{owner}.channels = {channels!r}; allowed: {wanted}")
    return values


def _check_positive(owner: str, field: str, value: Any, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        allowed = "a positive int or None" if allow_none else "a positive int"
        raise ConfigError(f"{owner}.{field} = {value!r}; allowed: {allowed}")


@dataclass(frozen=True)
class NatureCNNConfig:
    """Options of :class:`NatureCNN` (Mnih et al. 2015, as in SB3's NatureCNN)."""

    features_dim: int = 512
    """Width of the output feature vector (a Linear + ReLU after the conv trunk)."""
    channels: tuple[int, int, int] = (32, 64, 64)
    """Output channels of the 8x8/4, 4x4/2 and 3x3/1 convolutions."""

    def __post_init__(self) -> None:
        _check_positive("NatureCNNConfig", "features_dim", self.features_dim)
        object.__setattr__(self, "channels", _check_channels("NatureCNNConfig", self.channels, 3))


@dataclass(frozen=True)
class ImpalaCNNConfig:
    """Options of :class:`ImpalaCNN` (Espeholt et al. 2018, the residual 'IMPALA' CNN)."""

    features_dim: int = 256
    """Width of the output feature vector (a Linear + ReLU after the residual stages)."""
    channels: tuple[int, ...] = (16, 32, 32)
    """Channels of each stage; every stage halves the resolution with a 3x3/2 max-pool."""
    blocks_per_stage: int = 2
    """Residual blocks after each stage's pooling."""

    def __post_init__(self) -> None:
        _check_positive("ImpalaCNNConfig", "features_dim", self.features_dim)
        _check_positive("ImpalaCNNConfig", "blocks_per_stage", self.blocks_per_stage)
        object.__setattr__(self, "channels", _check_channels("ImpalaCNNConfig", self.channels))


@dataclass(frozen=True)
class ResNetConfig:
    """Options of :class:`ResNet`, a CIFAR-style ResNet (He et al. 2016, section 4.2)."""

    features_dim: int | None = None
    """Output width; None keeps the globally pooled last-stage channels (no extra Linear)."""
    channels: tuple[int, ...] = (16, 32, 64)
    """Channels of each stage; stages after the first halve the resolution."""
    blocks_per_stage: int = 2
    """Basic residual blocks (two 3x3 convs each) per stage."""
    stem_stride: int = 1
    """Stride of the 3x3 stem conv: 1 is the CIFAR stem (no early downsampling, which
    keeps small objects such as a distant traffic light); 2 quarters the cost."""

    def __post_init__(self) -> None:
        _check_positive("ResNetConfig", "features_dim", self.features_dim, allow_none=True)
        _check_positive("ResNetConfig", "blocks_per_stage", self.blocks_per_stage)
        if self.stem_stride not in (1, 2):
            raise ConfigError(f"ResNetConfig.stem_stride = {self.stem_stride!r}; allowed: 1 or 2")
        object.__setattr__(self, "channels", _check_channels("ResNetConfig", self.channels))


def validate_input_shape(input_shape: Any) -> tuple[int, int, int]:
    """Return ``input_shape`` as an ``(H, W, C)`` tuple of positive ints, or raise ValueError."""
    try:
        shape = tuple(int(s) for s in input_shape)
    except TypeError as error:
        raise ValueError(f"input_shape={input_shape!r} must be (H, W, C)") from error
    if len(shape) != 3 or any(s <= 0 for s in shape):
        raise ValueError(f"input_shape={input_shape!r} must be (H, W, C) with positive sizes")
    return shape  # type: ignore[return-value]


def to_float_chw(frames: torch.Tensor, input_shape: tuple[int, int, int]) -> torch.Tensor:
    """Turn a uint8 ``(B, H, W, C)`` or float ``(B, C, H, W)`` batch into float CHW in [0, 1].

    uint8 batches are divided by 255 and permuted; on the CPU the result is copied to
    plain NCHW memory (see :func:`roadgym.perception.device.conv_input` for why).
    Float batches must already be CHW and scaled to [0, 1] (what SB3 passes with
    ``normalize_images=True``). Anything else raises ValueError naming the shape.
    """
    height, width, channels = input_shape
    if frames.ndim != 4:
        raise ValueError(
            f"frames of shape {tuple(frames.shape)} must be a batch: uint8 (B, {height}, "
            f"{width}, {channels}) or float (B, {channels}, {height}, {width})"
        )
    if frames.dtype == torch.uint8:
        if tuple(frames.shape[1:]) != (height, width, channels):
            raise ValueError(
                f"uint8 frames of shape {tuple(frames.shape)} do not match (B, H, W, C) = "
                f"(B, {height}, {width}, {channels})"
            )
        return conv_input(frames.permute(0, 3, 1, 2).float().div_(255.0))  # (B, C, H, W)
    if frames.is_floating_point():
        if tuple(frames.shape[1:]) != (channels, height, width):
            raise ValueError(
                f"float frames of shape {tuple(frames.shape)} do not match (B, C, H, W) = "
                f"(B, {channels}, {height}, {width})"
            )
        return conv_input(frames)
    raise ValueError(f"frames dtype {frames.dtype} must be torch.uint8 (HWC) or float (CHW)")


class Encoder(nn.Module):
    """Base class: input conversion, normalisation buffers and the dry-run sizing.

    Subclasses set ``name`` and build ``self.trunk`` (conv layers ending in a flat
    ``(B, N)`` tensor) and, from ``N``, ``self.head``.
    """

    name: ClassVar[str] = ""
    config_class: ClassVar[type] = object

    def __init__(self, input_shape: tuple[int, int, int], config: Any) -> None:
        super().__init__()
        self.input_shape = validate_input_shape(input_shape)
        self.config = config
        channels = self.input_shape[2]
        # Identity by default (SB3's convention: pixels / 255); the classifier
        # trainer overwrites these with dataset statistics before training.
        self.register_buffer("mean", torch.zeros(channels))
        self.register_buffer("std", torch.ones(channels))
        self.features_dim = 0

    def _dry_run_size(self) -> int:
        """Flat size of ``self.trunk`` output, found by pushing one blank frame through."""
        height, width, channels = self.input_shape
        was_training = self.trunk.training
        self.trunk.eval()  # BatchNorm refuses a batch of one in training mode
        try:
            with torch.no_grad():
                flat = self.trunk(torch.zeros(1, channels, height, width))  # (1, N)
        except RuntimeError as error:
            raise ValueError(
                f"input_shape={self.input_shape} is too small for encoder {self.name!r} "
                f"with {self.config}: {error}"
            ) from error
        finally:
            self.trunk.train(was_training)
        return int(flat.shape[1])

    def set_normalization(self, mean: Any, std: Any) -> None:
        """Set the per-channel mean and std applied after scaling pixels to [0, 1]."""
        mean_t = torch.as_tensor(mean, dtype=torch.float32).reshape(-1)
        std_t = torch.as_tensor(std, dtype=torch.float32).reshape(-1)
        channels = self.input_shape[2]
        if mean_t.numel() != channels or std_t.numel() != channels or bool((std_t <= 0).any()):
            raise ValueError(
                f"normalization mean={mean!r}, std={std!r} must have {channels} values, std > 0"
            )
        self.mean.copy_(mean_t)
        self.std.copy_(std_t)

    def spec(self) -> dict[str, Any]:
        """What :func:`build_encoder_from_spec` needs to rebuild this encoder (JSON-safe)."""
        options = {
            key: list(value) if isinstance(value, tuple) else value
            for key, value in dataclasses.asdict(self.config).items()
        }
        return {"name": self.name, "input_shape": list(self.input_shape), "options": options}

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        """Encode uint8 ``(B, H, W, C)`` or float ``(B, C, H, W)`` frames to ``(B, F)``."""
        x = to_float_chw(frames, self.input_shape)  # (B, C, H, W) in [0, 1]
        x = (x - self.mean.view(1, -1, 1, 1)) / self.std.view(1, -1, 1, 1)  # (B, C, H, W)
        return self.head(self.trunk(x))  # (B, features_dim)


class NatureCNN(Encoder):
    """Three strided convs and a Linear: cheap, the usual Atari baseline and student net."""

    name = "nature"
    config_class = NatureCNNConfig

    def __init__(self, input_shape: tuple[int, int, int], config: NatureCNNConfig) -> None:
        super().__init__(input_shape, config)
        c1, c2, c3 = config.channels
        self.trunk = nn.Sequential(
            nn.Conv2d(self.input_shape[2], c1, kernel_size=8, stride=4),  # (B, c1, H/4, W/4)
            nn.ReLU(inplace=True),
            nn.Conv2d(c1, c2, kernel_size=4, stride=2),  # (B, c2, H/8, W/8)
            nn.ReLU(inplace=True),
            nn.Conv2d(c2, c3, kernel_size=3, stride=1),  # (B, c3, H/8 - 2, W/8 - 2)
            nn.ReLU(inplace=True),
            nn.Flatten(),  # (B, N)
        )
        self.head = nn.Sequential(nn.Linear(self._dry_run_size(), config.features_dim), nn.ReLU())
        self.features_dim = config.features_dim


class _ImpalaResidual(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv0 = nn.Conv2d(channels, channels, kernel_size=3, padding=1)
        self.conv1 = nn.Conv2d(channels, channels, kernel_size=3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Pre-activation without normalisation, as in the IMPALA paper; relu is not
        # in place because x is reused by the skip connection.
        out = self.conv0(torch.relu(x))  # (B, C, H, W)
        out = self.conv1(torch.relu(out))  # (B, C, H, W)
        return x + out


class ImpalaCNN(Encoder):
    """IMPALA residual CNN: per stage a conv, a 3x3/2 max-pool and residual blocks."""

    name = "impala"
    config_class = ImpalaCNNConfig

    def __init__(self, input_shape: tuple[int, int, int], config: ImpalaCNNConfig) -> None:
        super().__init__(input_shape, config)
        layers: list[nn.Module] = []
        in_channels = self.input_shape[2]
        for out_channels in config.channels:
            layers.append(nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1))
            layers.append(nn.MaxPool2d(kernel_size=3, stride=2, padding=1))  # halves H and W
            layers.extend(_ImpalaResidual(out_channels) for _ in range(config.blocks_per_stage))
            in_channels = out_channels
        layers += [nn.ReLU(), nn.Flatten()]  # (B, C * H' * W')
        self.trunk = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.Linear(self._dry_run_size(), config.features_dim), nn.ReLU())
        self.features_dim = config.features_dim


class _BasicBlock(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        self.conv0 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn0 = nn.BatchNorm2d(out_channels)
        self.conv1 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            # 1x1 projection (option B of the ResNet paper) when the shape changes.
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn0(self.conv0(x)))  # (B, C_out, H/s, W/s)
        out = self.bn1(self.conv1(out))  # (B, C_out, H/s, W/s)
        return torch.relu(out + self.shortcut(x))


class ResNet(Encoder):
    """CIFAR-style ResNet: 3x3 stem, stages of basic blocks, global average pooling."""

    name = "resnet"
    config_class = ResNetConfig

    def __init__(self, input_shape: tuple[int, int, int], config: ResNetConfig) -> None:
        super().__init__(input_shape, config)
        first = config.channels[0]
        layers: list[nn.Module] = [
            nn.Conv2d(
                self.input_shape[2], first, 3, stride=config.stem_stride, padding=1, bias=False
            ),
            nn.BatchNorm2d(first),
            nn.ReLU(inplace=True),
        ]
        in_channels = first
        for stage, out_channels in enumerate(config.channels):
            for block in range(config.blocks_per_stage):
                stride = 2 if stage > 0 and block == 0 else 1
                layers.append(_BasicBlock(in_channels, out_channels, stride))
                in_channels = out_channels
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]  # (B, C_last)
        self.trunk = nn.Sequential(*layers)
        flat = self._dry_run_size()
        if config.features_dim is None:
            self.head: nn.Module = nn.Identity()
            self.features_dim = flat
        else:
            self.head = nn.Sequential(nn.Linear(flat, config.features_dim), nn.ReLU())
            self.features_dim = config.features_dim


ENCODERS: dict[str, type[Encoder]] = {cls.name: cls for cls in (NatureCNN, ImpalaCNN, ResNet)}
"""Encoder classes by the name :func:`build_encoder` accepts."""


def build_encoder(name: str, input_shape: Any, **options: Any) -> Encoder:
    """Build the encoder called ``name`` for frames of ``input_shape = (H, W, C)``.

    ``options`` are the fields of that encoder's config dataclass (for example
    ``features_dim`` or ``channels``). An unknown name or option raises ValueError
    naming the value and what is allowed.
    """
    if name not in ENCODERS:
        raise ValueError(f"encoder name {name!r} is unknown; allowed names: {sorted(ENCODERS)}")
    cls = ENCODERS[name]
    allowed = [f.name for f in dataclasses.fields(cls.config_class)]
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise ValueError(f"encoder {name!r} got unknown options {unknown}; allowed: {allowed}")
    return cls(validate_input_shape(input_shape), cls.config_class(**options))


def build_encoder_from_spec(spec: dict[str, Any]) -> Encoder:
    """Rebuild an encoder from :meth:`Encoder.spec` output (as stored in checkpoints)."""
    try:
        name, input_shape, options = spec["name"], spec["input_shape"], spec.get("options", {})
    except (KeyError, TypeError) as error:
        raise ValueError(f"encoder spec {spec!r} needs 'name', 'input_shape', 'options'") from error
    return build_encoder(name, input_shape, **options)


def count_parameters(module: nn.Module) -> int:
    """Number of parameters in ``module`` (trainable or not)."""
    return sum(p.numel() for p in module.parameters())
