"""The GAN's networks, losses and EMA at toy sizes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from roadgym.perception.gan.config import GanConfig
from roadgym.perception.gan.data import LabelledFrames, extract_palette
from roadgym.perception.gan.models import Discriminator, Generator, to_uint8_frames
from roadgym.perception.gan.train import (
    discriminator_hinge_loss,
    ema_update,
    generator_hinge_loss,
    recalibrate_batchnorm,
)

PALETTE = torch.tensor([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.2, 0.8, 0.2]])


def _labels(n: int, classes=(3, 2), seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.stack([torch.randint(k, (n,), generator=g) for k in classes], dim=1)


@pytest.mark.parametrize("palette", [None, PALETTE])
def test_generator_and_discriminator_shapes(palette):
    torch.manual_seed(0)
    generator = Generator([3, 2], frame_size=16, z_dim=8, embed_dim=4, channels=4, palette=palette)
    discriminator = Discriminator([3, 2], frame_size=16, channels=4)
    images = generator(torch.randn(5, 8), _labels(5))
    assert images.shape == (5, 3, 16, 16)
    assert images.min() >= -1 and images.max() <= 1
    assert discriminator(images, _labels(5)).shape == (5,)
    frames = to_uint8_frames(images)
    assert frames.dtype == torch.uint8 and frames.shape == (5, 16, 16, 3)


def test_hard_palette_output_uses_only_palette_colours():
    torch.manual_seed(0)
    generator = Generator([3, 2], frame_size=16, z_dim=8, embed_dim=4, channels=4, palette=PALETTE)
    frames = to_uint8_frames(generator(torch.randn(4, 8), _labels(4), mode="hard")).numpy()
    colours = {tuple(c) for c in frames.reshape(-1, 3)}
    allowed = {tuple(np.round(c * 255).astype(np.uint8)) for c in PALETTE.numpy()}
    assert colours <= allowed


def test_labels_condition_both_networks():
    torch.manual_seed(0)
    generator = Generator([3, 2], frame_size=16, z_dim=8, embed_dim=4, channels=4).eval()
    discriminator = Discriminator([3, 2], frame_size=16, channels=4)
    z = torch.randn(1, 8).repeat(3, 1)
    labels = torch.tensor([[0, 0], [1, 0], [0, 0]])
    for norm in [m for m in generator.modules() if hasattr(m, "gain")]:
        torch.nn.init.normal_(norm.gain.weight, 0, 0.5)  # conditioning starts at zero
    images = generator(z, labels)
    assert torch.equal(images[0], images[2])  # same z, same labels: same frame
    assert not torch.allclose(images[0], images[1])  # another light: another frame
    with torch.no_grad():
        discriminator.embeds[0].parametrizations.weight.original.normal_()
    scores = discriminator(images[:1].repeat(2, 1, 1, 1), torch.tensor([[0, 0], [1, 0]]))
    assert scores[0] != scores[1]  # the projection reads the label


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match="power of two"):
        Generator([3], frame_size=36)
    generator = Generator([3, 2], frame_size=16, z_dim=8, embed_dim=4, channels=4)
    with pytest.raises(ValueError, match=r"\(B, 2\)"):
        generator(torch.randn(2, 8), torch.zeros(2, 1, dtype=torch.long))
    with pytest.raises(ValueError, match="output"):
        GanConfig(output="jpeg")
    with pytest.raises(ValueError, match="balance_task"):
        GanConfig(balance_task="weather")
    with pytest.raises(ValueError, match="ema_decay"):
        GanConfig(ema_decay=1.0)


def test_hinge_losses_have_the_right_sign_and_margin():
    confident = discriminator_hinge_loss(torch.full((4,), 2.0), torch.full((4,), -2.0))
    assert confident.item() == 0.0  # beyond the margins: no gradient, no loss
    fooled = discriminator_hinge_loss(torch.full((4,), -1.0), torch.full((4,), 1.0))
    assert fooled.item() == pytest.approx(4.0)  # (1 + 1) + (1 + 1)
    # The generator's loss falls as the critic scores its samples higher.
    assert generator_hinge_loss(torch.full((4,), 3.0)) < generator_hinge_loss(torch.zeros(4))


def test_ema_update_moves_towards_the_model():
    ema, model = torch.nn.Linear(2, 1), torch.nn.Linear(2, 1)
    with torch.no_grad():
        for p in ema.parameters():
            p.fill_(0.0)
        for p in model.parameters():
            p.fill_(1.0)
    ema_update(ema, model, decay=0.9)
    assert all(torch.allclose(p, torch.full_like(p, 0.1)) for p in ema.parameters())
    ema_update(ema, model, decay=0.0)
    assert all(torch.allclose(p, torch.ones_like(p)) for p in ema.parameters())


def test_batchnorm_recalibration_is_deterministic_and_sets_statistics():
    torch.manual_seed(0)
    generator = Generator([3, 2], frame_size=16, z_dim=8, embed_dim=4, channels=4)
    labels = _labels(32)
    recalibrate_batchnorm(generator, labels, seed=3, batches=2, batch_size=8)
    first = generator.stem_norm.norm.running_mean.clone()
    assert not torch.allclose(first, torch.zeros_like(first))
    assert not generator.training
    recalibrate_batchnorm(generator, labels, seed=3, batches=2, batch_size=8)
    assert torch.equal(first, generator.stem_norm.norm.running_mean)


def test_palette_and_labelled_frames_checks():
    frames = np.zeros((2, 8, 8, 3), np.uint8)
    frames[0, :4] = (255, 0, 0)
    assert extract_palette(frames).tolist() == [[0.0, 0.0, 0.0], [1.0, 0.0, 0.0]]
    noisy = np.random.default_rng(0).integers(0, 255, (2, 8, 8, 3), dtype=np.uint8)
    with pytest.raises(ValueError, match="output='rgb'"):
        extract_palette(noisy, max_colours=16)
    with pytest.raises(ValueError, match="labels shape"):
        LabelledFrames(frames, np.zeros((2, 1)), ("a", "b"), {"a": ("x", "y"), "b": ("x", "y")})
