"""GAN scores, sampling grids and editing at toy sizes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from roadgym.perception.gan.edit import edit_frames, invert_frames
from roadgym.perception.gan.images import frame_grid
from roadgym.perception.gan.models import Generator, to_uint8_frames
from roadgym.perception.gan.sample import grid_labels, parse_fixed_labels
from roadgym.perception.gan.score import (
    frechet_distance,
    generate_frames,
    kernel_distance,
    label_consistency,
)
from tests.perception.test_gan_train import toy_frames


def test_frechet_distance_of_a_set_with_itself_is_zero_and_grows_with_a_shift():
    features = np.random.default_rng(0).normal(size=(500, 8))
    assert frechet_distance(features, features) == pytest.approx(0.0, abs=1e-6)
    shifted = features + 2.0
    assert frechet_distance(features, shifted) == pytest.approx(8 * 4.0, rel=1e-6)  # |mu|^2
    wider = features * 3.0  # tr(S1 + S2 - 2 sqrt(S1 S2)) = tr(S)(1 + 9 - 6)
    expected = 4 * np.trace(np.cov(features, rowvar=False)) + ((2 * features.mean(0)) ** 2).sum()
    assert frechet_distance(features, wider) == pytest.approx(expected, rel=1e-6)
    other = np.random.default_rng(1).normal(size=(400, 8))
    assert frechet_distance(features, other) == pytest.approx(frechet_distance(other, features))
    with pytest.raises(ValueError, match=r"\(N, F\)"):
        frechet_distance(features, features[:, :4])


def test_kernel_distance_is_near_zero_for_one_distribution_and_positive_for_two():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(600, 8)), rng.normal(size=(600, 8))
    same, _ = kernel_distance(a, b, subsets=10, subset_size=300)
    apart, spread = kernel_distance(a, b + 1.0, subsets=10, subset_size=300)
    assert abs(same) < 0.05 and apart > 0.5 and spread >= 0


class _ColourJudge(torch.nn.Module):
    """Predicts the light from which colour channel dominates the top-left bar pixels."""

    def __init__(self) -> None:
        super().__init__()
        self.unused = torch.nn.Parameter(torch.zeros(1))  # gives the judge a device

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        bar = frames[:, 2:6, 2:14].float().mean(dim=(1, 2))  # (B, 3)
        red, green = bar[:, 0], bar[:, 1]
        return torch.stack([red - green, (red > 60) & (green > 60), green - red], 1).float()


def test_label_consistency_counts_agreement_per_class():
    data = toy_frames()
    judge = _ColourJudge()
    names = ["red", "yellow", "green"]
    result = label_consistency(judge, data.frames, data.labels[:, 0], names)
    assert set(result["recall"]) == set(names)
    wrong = label_consistency(judge, data.frames, (data.labels[:, 0] + 1) % 3, names)
    assert wrong["accuracy"] < result["accuracy"]


def _toy_generator(palette: bool = True) -> Generator:
    torch.manual_seed(0)
    colours = torch.tensor([[0.0, 0.35, 0.0], [1.0, 0.0, 0.0], [1.0, 0.63, 0.0], [0.0, 1.0, 0.0]])
    generator = Generator(
        [3, 2],
        frame_size=16,
        z_dim=8,
        embed_dim=4,
        channels=4,
        palette=colours if palette else None,
    ).eval()
    with torch.no_grad():  # larger weights than DCGAN's init, so latents visibly matter
        for param in generator.parameters():
            param.normal_(0.0, 0.5)
    return generator


def test_generated_frames_are_seeded_and_shaped():
    generator = _toy_generator()
    labels = toy_frames().labels[:10]
    a = generate_frames(generator, labels, seed=3, batch_size=4, hard=False)
    assert a.shape == (10, 16, 16, 3) and a.dtype == np.uint8
    assert np.array_equal(a, generate_frames(generator, labels, seed=3, batch_size=7, hard=False))
    assert not np.array_equal(a, generate_frames(generator, labels, seed=4, hard=False))


def test_inversion_lowers_the_error_and_edits_keep_the_shape():
    generator = _toy_generator(palette=False)
    labels = toy_frames().labels[:3]
    with torch.no_grad():
        target = to_uint8_frames(generator(torch.randn(3, 8), torch.from_numpy(labels))).numpy()
    _, error_short = invert_frames(generator, target, labels, steps=1, restarts=1)
    _, error_long = invert_frames(generator, target, labels, steps=60, restarts=1, lr=0.1)
    assert error_long.mean() < error_short.mean()
    result = edit_frames(generator, target, labels, 0, np.array([2, 2, 0]), steps=3, restarts=2)
    assert result.edits.shape == target.shape == result.reconstructions.shape
    assert result.edits.dtype == np.uint8
    with pytest.raises(ValueError, match="class ids"):
        edit_frames(generator, target, labels, 0, np.array([5, 0, 0]), steps=1)


def test_grid_labels_rows_and_fixed_labels():
    data = toy_frames()
    labels, rows = grid_labels(
        data, "light_state", 4, parse_fixed_labels(["road_layout=right"], data.class_names)
    )
    assert rows == ["red", "yellow", "green"] and labels.shape == (12, 2)
    assert (labels[:, 0] == np.repeat([0, 1, 2], 4)).all() and (labels[:, 1] == 1).all()
    with pytest.raises(ValueError, match="not one of"):
        parse_fixed_labels(["light_state=blue"], data.class_names)
    grid = frame_grid(data.frames[:5], columns=2, gap_px=1, scale=2)
    assert grid.shape == (3 * 32 + 2, 2 * 32 + 1, 3)


def test_augmented_sets_keep_the_count_and_add_the_rare_class():
    from tests.experiment_scripts import load_experiment

    augmented_set = load_experiment("gan/augment.py").augmented_set

    data = toy_frames()
    generator = _toy_generator()
    base = data.image_set("light_state").class_counts()
    for source in (generator, None):  # generated frames, or real yellow frames repeated
        images = augmented_set(source, data, "light_state", ["yellow"], 10, seed=0)
        counts = images.class_counts()
        assert len(images) == len(data) and counts[1] == base[1] + 10
    repeated = augmented_set(None, data, "light_state", ["yellow"], 10, seed=0)
    real_yellow = {f.tobytes() for f in data.frames[data.labels[:, 0] == 1]}
    assert all(f.tobytes() in real_yellow for f in repeated.frames[-10:])
    with pytest.raises(ValueError, match="rare_classes"):
        augmented_set(None, data, "light_state", ["purple"], 10)
