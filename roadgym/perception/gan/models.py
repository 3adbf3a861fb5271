"""Conditional DCGAN generator and spectrally normalised projection discriminator.

Both networks take the labels as ``(B, T)`` int64 class ids, one column per task in
``tasks`` order. Images travel as float ``(B, 3, H, W)`` in ``[-1, 1]``.

- :class:`Generator`: latent ``z`` and the concatenated task embeddings go through a
  linear layer to a 4x4 map, then transposed 4x4/2 convolutions double the size up
  to the frame (DCGAN, Radford et al. 2016). Every batch norm is conditional: its
  scale and shift are linear in the label embeddings (de Vries et al. 2017), so the
  labels act at every resolution, not only at the input.
- :class:`Discriminator`: spectrally normalised convolutions (Miyato et al. 2018) down
  to 4x4, global sum pooling to ``h``, and the projection output
  ``psi(h) + sum_t <embed_t(y_t), h>`` (Miyato & Koyama 2018): with labels that the
  discriminator's ``p(y | x)`` factorises over, the log density ratio is a sum of one
  inner product per task.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from roadgym.perception.device import conv_input

__all__ = [
    "ConditionalBatchNorm",
    "Discriminator",
    "Generator",
    "LatentEncoder",
    "to_uint8_frames",
]


def _check_size(frame_size: int) -> int:
    levels = math.log2(frame_size / 4) if frame_size >= 8 else -1
    if levels < 1 or not float(levels).is_integer():
        raise ValueError(f"frame size {frame_size} must be a power of two >= 8 (64 for Town)")
    return int(levels)


class ConditionalBatchNorm(nn.Module):
    """Batch norm without its own affine, scaled and shifted by linear maps of ``cond``."""

    def __init__(self, channels: int, cond_dim: int) -> None:
        super().__init__()
        self.norm = nn.BatchNorm2d(channels, affine=False)
        self.gain = nn.Linear(cond_dim, channels)
        self.bias = nn.Linear(cond_dim, channels)
        # Start as a plain batch norm: gain 1 (1 + 0), shift 0.
        for layer in (self.gain, self.bias):
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        gain = 1.0 + self.gain(cond)[:, :, None, None]  # (B, C, 1, 1)
        return self.norm(x) * gain + self.bias(cond)[:, :, None, None]


class LatentEncoder(nn.Module):
    """``images (B, 3, H, W) -> (mu, logvar)``, each ``(B, z_dim)``: the generator's encoder
    (a diagonal Gaussian posterior over its latent, as in a VAE)."""

    def __init__(self, frame_size: int, z_dim: int, channels: int) -> None:
        super().__init__()
        levels = _check_size(frame_size)
        layers: list[nn.Module] = [nn.Conv2d(3, channels, 3, 1, 1)]
        width = channels
        for i in range(levels):  # down to 4x4
            layers += [nn.LeakyReLU(0.2), nn.Conv2d(width, channels * 2**i, 4, 2, 1)]
            width = channels * 2**i
        self.features = nn.Sequential(*layers, nn.LeakyReLU(0.2))
        self.head = nn.Linear(width * 16, 2 * z_dim)

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        # NCHW on the CPU: images may be a channels_last permute (see conv_input).
        stats = self.head(self.features(conv_input(images)).flatten(1))  # (B, 2 * z_dim)
        mu, logvar = stats.chunk(2, dim=1)
        return mu, logvar.clamp(-10.0, 10.0)


class Generator(nn.Module):
    """``(z (B, z_dim), labels (B, T)) -> images (B, 3, H, W) in [-1, 1]``.

    With a ``palette`` ``(K, 3)`` in [0, 1] the last layer gives K logits per pixel and
    the image is the softmax-weighted palette colour; without one it is a tanh image.
    """

    def __init__(
        self,
        num_classes: Sequence[int],
        frame_size: int = 64,
        z_dim: int = 64,
        embed_dim: int = 32,
        channels: int = 32,
        palette: torch.Tensor | None = None,
        upscale: int = 1,
        encoder_channels: int = 0,
    ) -> None:
        super().__init__()
        levels = _check_size(frame_size)
        if upscale < 1:
            raise ValueError(f"upscale={upscale!r} must be >= 1")
        self.z_dim, self.frame_size, self.upscale = z_dim, frame_size, int(upscale)
        self.num_classes = tuple(int(k) for k in num_classes)
        self.embeds = nn.ModuleList(nn.Embedding(k, embed_dim) for k in self.num_classes)
        cond_dim = embed_dim * len(self.num_classes)
        widths = [channels * 2 ** (levels - 1 - i) for i in range(levels)]  # e.g. 256..32
        self.stem = nn.Linear(z_dim + cond_dim, widths[0] * 16)
        self.stem_norm = ConditionalBatchNorm(widths[0], cond_dim)
        self.ups = nn.ModuleList()
        self.norms = nn.ModuleList()
        for w_in, w_out in zip(widths, widths[1:], strict=False):
            self.ups.append(nn.ConvTranspose2d(w_in, w_out, 4, 2, 1, bias=False))
            self.norms.append(ConditionalBatchNorm(w_out, cond_dim))
        out_channels = 3 if palette is None else len(palette)
        self.to_image = nn.ConvTranspose2d(widths[-1], out_channels, 4, 2, 1)
        if palette is None:
            self.register_buffer("palette", torch.zeros(0, 3))
        else:
            palette = torch.as_tensor(palette, dtype=torch.float32)
            if palette.ndim != 2 or palette.shape[1] != 3 or len(palette) < 2:
                raise ValueError(f"palette must be (K >= 2, 3); got {tuple(palette.shape)}")
            self.register_buffer("palette", palette.clone())
        for module in self.modules():  # (the encoder, added below, keeps torch's init)
            if isinstance(module, (nn.ConvTranspose2d, nn.Linear)) and module.weight.requires_grad:
                if not any(module is n.gain or module is n.bias for n in self._norms()):
                    nn.init.normal_(module.weight, 0.0, 0.02)  # DCGAN's initialisation

        # An encoder into the latent (trained with a reconstruction loss) when asked for;
        # it lives here so that checkpoints and the EMA carry it with the generator.
        self.encoder = (
            LatentEncoder(frame_size, z_dim, encoder_channels) if encoder_channels > 0 else None
        )

    def encode(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Posterior ``(mu, logvar)`` of images at the networks' size, ``(B, 3, s, s)``."""
        if self.encoder is None:
            raise ValueError("this generator has no encoder (trained with recon_weight=0)")
        return self.encoder(images)

    def _norms(self) -> list[ConditionalBatchNorm]:
        return [m for m in self.modules() if isinstance(m, ConditionalBatchNorm)]

    @property
    def uses_palette(self) -> bool:
        """Whether the output is a palette mixture (else a tanh RGB image)."""
        return len(self.palette) > 0

    def condition(self, labels: torch.Tensor) -> torch.Tensor:
        """Concatenated task embeddings ``(B, T * embed_dim)`` of ``labels (B, T)``."""
        if labels.ndim != 2 or labels.shape[1] != len(self.embeds):
            raise ValueError(
                f"labels must be (B, {len(self.embeds)}) class ids; got {tuple(labels.shape)}"
            )
        return torch.cat([embed(labels[:, t]) for t, embed in enumerate(self.embeds)], dim=1)

    def logits(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Last-layer output ``(B, K or 3, H, W)`` before softmax / tanh."""
        cond = self.condition(labels)  # (B, T * E)
        x = self.stem(torch.cat([z, cond], dim=1))  # (B, 16 * C0)
        x = F.relu(self.stem_norm(x.view(len(z), -1, 4, 4), cond))  # (B, C0, 4, 4)
        for up, norm in zip(self.ups, self.norms, strict=True):
            x = F.relu(norm(up(x), cond))  # (B, C_i, 2 s, 2 s)
        return self.to_image(x)  # (B, K or 3, H, W)

    def forward(
        self, z: torch.Tensor, labels: torch.Tensor, mode: str = "straight", native: bool = False
    ) -> torch.Tensor:
        """Images ``(B, 3, H, W)`` in [-1, 1]: ``frame_size * upscale`` square, pixels
        repeated ``upscale`` times, or ``frame_size`` (the networks' size) if ``native``.

        With a palette, ``mode`` says how a pixel's colour distribution becomes a colour:
        ``"straight"`` (training) paints the most likely colour and passes gradients as
        if it were the expectation (straight-through, Bengio et al. 2013), so the
        discriminator never sees off-palette mixtures, which it would spot at once;
        ``"soft"`` paints the expectation (smooth, for latent inversion); ``"hard"`` the
        most likely colour without gradients. An RGB generator ignores ``mode``.
        """
        if mode not in _MODES:
            raise ValueError(f"mode={mode!r} must be one of {_MODES}")
        images = self._paint(self.logits(z, labels).float(), mode)  # (B, 3, s, s)
        if native or self.upscale == 1:
            return images
        return images.repeat_interleave(self.upscale, 2).repeat_interleave(self.upscale, 3)

    def colour_weights(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Straight-through palette one-hot ``(B, K, s, s)`` at the networks' size: the
        value is the painted colour's one-hot, the gradient the softmax's (palette only)."""
        if not self.uses_palette:
            raise ValueError("colour_weights needs a palette generator (output='palette')")
        out = self.logits(z, labels).float()
        weights = out.softmax(dim=1)  # (B, K, s, s)
        one_hot = F.one_hot(out.argmax(dim=1), len(self.palette)).permute(0, 3, 1, 2)
        return one_hot + weights - weights.detach()

    def weights_to_images(self, weights: torch.Tensor) -> torch.Tensor:
        """Palette weights ``(B, K, s, s)`` to images ``(B, 3, s, s)`` in [-1, 1]."""
        return torch.einsum("bkhw,kc->bchw", weights, self.palette) * 2.0 - 1.0

    def _paint(self, out: torch.Tensor, mode: str) -> torch.Tensor:
        if not self.uses_palette:
            return torch.tanh(out)
        if mode == "hard":
            return self.palette[out.argmax(dim=1)].permute(0, 3, 1, 2) * 2.0 - 1.0
        weights = out.softmax(dim=1)  # (B, K, H, W)
        if mode == "straight":
            one_hot = F.one_hot(out.argmax(dim=1), len(self.palette)).permute(0, 3, 1, 2)
            weights = one_hot + weights - weights.detach()  # value: one-hot; gradient: softmax
        return torch.einsum("bkhw,kc->bchw", weights, self.palette) * 2.0 - 1.0


_MODES = ("straight", "soft", "hard")


class Discriminator(nn.Module):
    """``(images (B, 3, H, W) in [-1, 1], labels (B, T)) -> scores (B,)`` (projection)."""

    def __init__(
        self, num_classes: Sequence[int], frame_size: int = 64, channels: int = 32
    ) -> None:
        super().__init__()
        levels = _check_size(frame_size)
        self.num_classes = tuple(int(k) for k in num_classes)
        layers: list[nn.Module] = [spectral_norm(nn.Conv2d(3, channels, 3, 1, 1))]
        width = channels
        for i in range(levels):  # frame size down to 4x4, doubling the width each time
            w_out = channels * 2**i
            layers += [nn.LeakyReLU(0.2), spectral_norm(nn.Conv2d(width, w_out, 4, 2, 1))]
            width = w_out
        self.features = nn.Sequential(*layers, nn.LeakyReLU(0.2))
        self.features_dim = width
        self.linear = spectral_norm(nn.Linear(width, 1))
        self.embeds = nn.ModuleList(spectral_norm(nn.Embedding(k, width)) for k in self.num_classes)

    def forward(self, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        # NCHW on the CPU: fakes in palette mode are a permuted one-hot (see conv_input).
        h = self.features(conv_input(images)).sum(dim=(2, 3))  # (B, F): global sum pooling
        score = self.linear(h).squeeze(1)  # (B,)
        for t, embed in enumerate(self.embeds):
            score = score + (embed(labels[:, t]) * h).sum(dim=1)  # projection per task
        return score  # (B,)


def to_uint8_frames(images: torch.Tensor) -> torch.Tensor:
    """``(B, 3, H, W)`` in [-1, 1] to uint8 ``(B, H, W, 3)`` frames, as the env emits them."""
    pixels = ((images.float().clamp(-1, 1) + 1.0) * 127.5).round().to(torch.uint8)
    return pixels.permute(0, 2, 3, 1).contiguous()
