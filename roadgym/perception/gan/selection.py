"""Checkpoint selection on the validation split.

GAN losses do not say when the samples are best, and the runs here get worse after
some hundreds of steps (mode collapse). So every ``select_every`` steps the EMA
generator is scored against real **validation** frames, FD between features of
generated and real frames plus label consistency, and the lowest FD is kept as
``best.pt``. The features come from ``select_classifier`` (a roadgym classifier
checkpoint, e.g. the judge that ``roadgym gan score`` uses) when one is given, else
from the GAN's own label classifier. The test split takes no part, so choosing on the
validation split leaves the reported test scores unbiased.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from roadgym.perception.gan.auxiliary import LabelClassifier
from roadgym.perception.gan.models import Generator, to_uint8_frames

__all__ = ["FeatureFn", "ValidationScorer", "classifier_features", "label_classifier_features"]

FeatureFn = Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]]
"""uint8 frames ``(B, H, W, 3)`` -> (features ``(B, F)``, logits of the scored task ``(B, K)``)."""


def label_classifier_features(
    classifier: LabelClassifier, scale: int, column: int, palette: np.ndarray | None = None
) -> FeatureFn:
    """Features of the GAN's own label classifier, which works at 1/scale of the frame
    (on palette one-hot maps when ``palette`` (K, 3) in [0, 1] is given)."""
    colours = None
    if palette is not None:
        colours = torch.from_numpy(np.round(np.asarray(palette) * 255).astype(np.uint8))

    def features(frames: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        frames = frames[:, ::scale, ::scale]  # the generator's own pixels
        if colours is None:
            images = frames.permute(0, 3, 1, 2).float() / 127.5 - 1.0  # (B, 3, s, s)
        else:  # (B, s, s, 1, 3) == (K, 3) -> (B, K, s, s) one-hot
            match = (frames[:, :, :, None, :] == colours.to(frames.device)).all(dim=-1)
            images = match.permute(0, 3, 1, 2).float()
        h = classifier.features(images)
        return h, classifier.heads[column](h)

    return features


def classifier_features(classifier: torch.nn.Module) -> FeatureFn:
    """Encoder features and logits of a roadgym ``ImageClassifier`` (it takes uint8 frames)."""

    def features(frames: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = classifier.encoder(frames)
        return h, classifier.head(h)

    return features


class ValidationScorer:
    """Scores an EMA generator on fixed validation frames, labels and latents."""

    def __init__(
        self,
        features: FeatureFn,
        frames: torch.Tensor,
        labels: torch.Tensor,
        column: int,
        seed: int,
        batch_size: int = 250,
    ) -> None:
        """``frames`` uint8 ``(N, H, W, 3)`` and ``labels (N, T)`` of the validation split;
        ``column`` is the task whose label consistency is reported (the task of
        ``features``' logits)."""
        self.features, self.labels, self.column = features, labels, column
        self.batch_size = batch_size
        self.real = self._features(frames)[0]  # (N, F) float64
        self._rng = torch.Generator().manual_seed(seed)
        self.latents: torch.Tensor | None = None

    @torch.no_grad()
    def _features(self, frames: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        feats, predicted = [], []
        for i in range(0, len(frames), self.batch_size):
            h, logits = self.features(frames[i : i + self.batch_size])
            feats.append(h.double().cpu().numpy())
            predicted.append(logits.argmax(dim=1).cpu().numpy())
        return np.concatenate(feats), np.concatenate(predicted)

    @torch.no_grad()
    def __call__(self, generator: Generator) -> dict[str, Any]:
        """``{"fd": ..., "label_consistency": ...}`` of ``generator`` (in eval mode)."""
        from roadgym.perception.gan.score import frechet_distance  # score imports train

        if self.latents is None:  # drawn once, so every checkpoint sees the same latents
            self.latents = torch.randn(len(self.labels), generator.z_dim, generator=self._rng)
        device = self.labels.device
        fakes = []
        for i in range(0, len(self.labels), self.batch_size):
            z = self.latents[i : i + self.batch_size].to(device)
            images = generator(z, self.labels[i : i + self.batch_size], mode="hard")
            fakes.append(to_uint8_frames(images))  # (b, H, W, 3)
        features, predicted = self._features(torch.cat(fakes))
        wanted = self.labels[:, self.column].cpu().numpy()
        return {
            "fd": frechet_distance(features, self.real),
            "label_consistency": float((predicted == wanted).mean()),
        }
