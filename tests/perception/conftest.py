"""Fixtures shared by the perception tests: a tiny generated dataset and toy image sets."""

from __future__ import annotations

import numpy as np
import pytest

from roadgym.perception.datasets import ImageSet
from roadgym.perception.labelled import LabelledDatasetConfig, generate_labelled_dataset
from tests.perception.fake_env import FakeLabelledEnv

TOY_CONFIG = LabelledDatasetConfig(
    env_id="fake/Labelled-v0",
    train_seeds=(0, 100),
    val_seeds=(100, 150),
    test_seeds=(150, 200),
    train_frames=96,
    val_frames=32,
    test_frames=32,
    max_episode_steps=10,
    frames_per_shard=40,
)


@pytest.fixture(scope="session")
def toy_dataset(tmp_path_factory) -> str:
    """A generated fake-env dataset folder (train 96 / val 32 / test 32 frames, 36x36)."""
    root = tmp_path_factory.mktemp("toy_dataset")
    generate_labelled_dataset(TOY_CONFIG, root, env_factory=FakeLabelledEnv, show_progress=False)
    return str(root)


def make_image_set(n: int, seed: int, size: int = 36) -> ImageSet:
    """Frames whose dominant colour channel is the class (easy to learn in one epoch)."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, n)
    frames = rng.integers(0, 60, (n, size, size, 3)).astype(np.uint8)
    frames[np.arange(n), :, :, labels] += 150
    return ImageSet(frames, labels, ("red", "green", "blue"), "colour")
