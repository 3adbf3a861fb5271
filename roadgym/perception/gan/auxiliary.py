"""The GAN's own label classifier: a label-consistency loss on the generator, and the
feature space in which checkpoints are selected on the validation split.

Why: the projection discriminator's label signal is one inner product per task on
pooled features, and the light state is a 2-pixel bar at the stop line ahead, under
2% of the frame. On a CPU budget the hinge game alone never paints it (the earlier
runs: label consistency 48%). A classifier that has learnt where the light is gives
the generator a direct gradient towards "a frame this classifier reads as the
conditioning label" (the AC-GAN idea, Odena et al. 2017, with a separate, frozen
classifier in place of a head on the discriminator, so the discriminator's game is
unchanged and the classifier cannot learn to favour easy fakes).

The classifier is trained at the start of ``gan train`` on real train-split frames
only, at the networks' resolution (the same random-phase subsampling as the
discriminator sees), then frozen. It is small, fast and independent of the judge
that :mod:`roadgym.perception.gan.score` uses: a different architecture (this 4-layer
CNN at 32x32, the judge a ResNet at 64x64), trained separately from its own seed.
So label consistency measured by the judge is not the loss the generator minimised.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from roadgym.perception.device import conv_input

__all__ = ["LabelClassifier", "label_loss", "pretrain_classifier", "translate"]


class LabelClassifier(nn.Module):
    """``images (B, 3, s, s) in [-1, 1] -> [logits (B, K_t) for each task]``; with
    ``in_channels = K`` it reads palette one-hot maps ``(B, K, s, s)`` instead.

    3x3 convolutions (one full-resolution layer, so single pixels stay visible, then
    three stride-2 layers down to s/8), flattened (where the bar is matters: it is the
    light on the route ahead, not any light in view), one ``features_dim`` layer and a
    linear head per task.
    """

    def __init__(
        self,
        num_classes: Sequence[int],
        frame_size: int,
        channels: int = 16,
        features_dim: int = 64,
        in_channels: int = 3,
    ) -> None:
        super().__init__()
        if frame_size % 8 or frame_size < 8:
            raise ValueError(f"frame_size={frame_size!r} must be a multiple of 8")
        c = channels
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, c, 3, 1, 1),
            nn.ReLU(),
            nn.Conv2d(c, 2 * c, 3, 2, 1),
            nn.ReLU(),
            nn.Conv2d(2 * c, 4 * c, 3, 2, 1),
            nn.ReLU(),
            nn.Conv2d(4 * c, 4 * c, 3, 2, 1),
            nn.ReLU(),
            nn.Flatten(),
            nn.Linear(4 * c * (frame_size // 8) ** 2, features_dim),
            nn.ReLU(),
        )
        self.heads = nn.ModuleList(nn.Linear(features_dim, int(k)) for k in num_classes)

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """Penultimate features ``(B, features_dim)`` (the selection feature space)."""
        return self.body(conv_input(images))

    def forward(self, images: torch.Tensor) -> list[torch.Tensor]:
        h = self.body(conv_input(images))  # (B, F); NCHW on the CPU, see conv_input
        return [head(h) for head in self.heads]


def label_loss(
    logits: Sequence[torch.Tensor], labels: torch.Tensor, columns: Sequence[int]
) -> torch.Tensor:
    """Mean over ``columns`` (task indices) of the cross-entropy of ``logits[t]`` against
    ``labels[:, t]`` (``labels (B, T)`` class ids)."""
    losses = [F.cross_entropy(logits[t].float(), labels[:, t]) for t in columns]
    return torch.stack(losses).mean()


def translate(images: torch.Tensor, max_shift: int, rng: torch.Generator) -> torch.Tensor:
    """Shift each image by its own random integer offset in ``[-max_shift, max_shift]``
    per axis, filling with 0 (DiffAugment's translation, Zhao et al. 2020). Differentiable
    in ``images``; applied to real and generated frames alike before the discriminator,
    so it cannot leak into the samples."""
    if max_shift <= 0:
        return images
    b, _, h, w = images.shape
    shift_y = torch.randint(-max_shift, max_shift + 1, (b, 1, 1), generator=rng)
    shift_x = torch.randint(-max_shift, max_shift + 1, (b, 1, 1), generator=rng)
    rows = torch.arange(h)[None, :, None] + max_shift - shift_y  # (B, H, 1) into padded
    cols = torch.arange(w)[None, None, :] + max_shift - shift_x  # (B, 1, W)
    padded = F.pad(images, [max_shift] * 4)  # (B, C, H + 2m, W + 2m)
    batch = torch.arange(b)[:, None, None]
    device = images.device
    out = padded[batch.to(device), :, rows.to(device), cols.to(device)]  # (B, H, W, C)
    return out.permute(0, 3, 1, 2)


def pretrain_classifier(
    classifier: LabelClassifier,
    next_batch: Callable[[], tuple[torch.Tensor, torch.Tensor]],
    columns: Sequence[int],
    steps: int,
    lr: float = 2e-3,
) -> list[float]:
    """Train ``classifier`` for ``steps`` Adam steps on ``next_batch() -> (images, labels)``,
    then freeze it (eval mode, no gradients); returns the loss every 25 steps."""
    optimizer = torch.optim.Adam(classifier.parameters(), lr=lr)
    # Cosine decay to 0: the last steps settle instead of jumping between minima.
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda t: 0.5 * (1 + torch.cos(torch.tensor(torch.pi * t / steps)).item())
    )
    classifier.train()
    losses = []
    for step in range(steps):
        images, labels = next_batch()
        loss = label_loss(classifier(images), labels, columns)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
        if step % 25 == 0 or step == steps - 1:
            losses.append(float(loss.item()))
    classifier.eval()
    classifier.requires_grad_(False)
    return losses


@torch.no_grad()
def classifier_accuracy(
    classifier: LabelClassifier, images: torch.Tensor, labels: torch.Tensor, column: int
) -> float:
    """Accuracy of ``classifier``'s head ``column`` on ``images`` against ``labels[:, column]``."""
    correct = 0
    for start in range(0, len(images), 256):
        logits = classifier(images[start : start + 256])[column]
        correct += int((logits.argmax(dim=1) == labels[start : start + 256, column]).sum())
    return correct / max(len(images), 1)
