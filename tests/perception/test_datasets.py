"""Labelled dataset generation from an env, loading, CIFAR-10 reader, and bad inputs."""

from __future__ import annotations

import dataclasses
import json
import pickle

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from roadgym.perception import (
    FrameDataset,
    LabelledDatasetConfig,
    generate_labelled_dataset,
    labelled_frame_dataset,
    load_cifar10,
    load_labelled_split,
    load_manifest,
)
from tests.perception.conftest import TOY_CONFIG
from tests.perception.fake_env import FAKE_LABEL_NAMES, FakeLabelledEnv, UnlabelledEnv


def test_generated_dataset_has_splits_shards_and_manifest(toy_dataset):
    manifest = load_manifest(toy_dataset)
    assert manifest["tasks"] == {k: list(v) for k, v in FAKE_LABEL_NAMES.items()}
    assert manifest["frame_shape"] == [36, 36, 3]
    for split, frames in (("train", 96), ("val", 32), ("test", 32)):
        info = manifest["splits"][split]
        assert info["frames"] == frames
        assert sum(shard["frames"] for shard in info["shards"]) == frames
        assert len(info["shards"]) == -(-frames // TOY_CONFIG.frames_per_shard)
        images = load_labelled_split(toy_dataset, split, "road_layout")
        assert images.frames.shape == (frames, 36, 36, 3) and images.frames.dtype == np.uint8
        assert images.class_counts().tolist() == info["class_counts"]["road_layout"]


def test_splits_come_from_disjoint_seed_ranges(toy_dataset):
    seeds = {}
    for split in ("train", "val", "test"):
        shard = load_manifest(toy_dataset)["splits"][split]["shards"][0]["file"]
        with np.load(f"{toy_dataset}/{shard}") as data:
            seeds[split] = set(data["seeds"].tolist())
    assert not seeds["train"] & seeds["val"] and not seeds["train"] & seeds["test"]
    assert not seeds["val"] & seeds["test"]
    assert min(seeds["val"]) >= 100 and min(seeds["test"]) >= 150


def test_frames_are_exactly_what_the_agent_sees(toy_dataset):
    images = load_labelled_split(toy_dataset, "train", "light_state")
    env = FakeLabelledEnv()
    observation, info = env.reset(seed=0)  # the first train frame is seed 0, step 0
    np.testing.assert_array_equal(images.frames[0], observation)
    assert images.labels[0] == info["labels"]["light_state"]


def test_generation_is_deterministic_given_the_seeds(tmp_path):
    config = dataclasses.replace(TOY_CONFIG, train_frames=30, val_frames=8, test_frames=8)
    for name in ("a", "b"):
        generate_labelled_dataset(
            config, tmp_path / name, env_factory=FakeLabelledEnv, show_progress=False
        )
    for split in ("train", "val", "test"):
        a = load_labelled_split(tmp_path / "a", split, "road_layout")
        b = load_labelled_split(tmp_path / "b", split, "road_layout")
        np.testing.assert_array_equal(a.frames, b.frames)
        np.testing.assert_array_equal(a.labels, b.labels)


def test_batched_generation_keeps_what_the_agent_sees_and_is_deterministic(tmp_path):
    import gymnasium

    config = LabelledDatasetConfig(
        env_id="roadgym/Track-v0",
        train_seeds=(0, 50),
        val_seeds=(50, 60),
        test_seeds=(60, 70),
        train_frames=24,
        val_frames=6,
        test_frames=6,
        max_episode_steps=5,
        frame_stride=2,
        policy="random",
        num_envs=4,
    )
    first, again = (
        generate_labelled_dataset(config, tmp_path / name, show_progress=False)
        for name in ("a", "b")
    )
    assert first["splits"] == again["splits"]
    # Steps 0, 2, 4 of each episode, four worlds at a time: 8 train seeds for 24 frames.
    assert first["splits"]["train"]["seeds_used"] == 8
    env = gymnasium.make("roadgym/Track-v0")
    for split, (low, high) in (("train", (0, 50)), ("test", (60, 70))):
        a = load_labelled_split(tmp_path / "a", split, "road_layout")
        b = load_labelled_split(tmp_path / "b", split, "road_layout")
        np.testing.assert_array_equal(a.frames, b.frames)
        with np.load(tmp_path / "a" / f"{split}-00000.npz") as shard:
            seeds, steps = shard["seeds"], shard["steps"]
        assert ((seeds >= low) & (seeds < high)).all() and set(steps) <= {0, 2, 4}
        for i in np.flatnonzero(steps == 0):  # a world's first frame is its seed's reset
            observation, info = env.reset(seed=int(seeds[i]))
            np.testing.assert_array_equal(a.frames[i], observation)
            assert a.labels[i] == info["labels"]["road_layout"]
    env.close()


def test_class_cap_balances_and_policy_is_used(tmp_path):
    config = dataclasses.replace(
        TOY_CONFIG,
        train_frames=60,
        val_frames=6,
        test_frames=6,
        balance_task="road_layout",
        max_class_fraction=1 / 3,
    )
    calls = []

    def policy(observation, info):
        calls.append(info["labels"]["road_layout"])
        return 1

    manifest = generate_labelled_dataset(
        config, tmp_path, env_factory=FakeLabelledEnv, policy=policy, show_progress=False
    )
    assert manifest["splits"]["train"]["class_counts"]["road_layout"] == [20, 20, 20]
    assert calls, "the policy callable was never asked for an action"


def test_frame_dataset_works_with_a_dataloader(toy_dataset):
    dataset = labelled_frame_dataset(toy_dataset, "val", "road_layout")
    frames, labels = next(iter(DataLoader(dataset, batch_size=8)))
    assert frames.shape == (8, 36, 36, 3) and frames.dtype == torch.uint8
    assert labels.shape == (8,)
    assert isinstance(dataset, FrameDataset)


def test_existing_dataset_is_not_overwritten_silently(toy_dataset):
    with pytest.raises(FileExistsError, match="overwrite"):
        generate_labelled_dataset(TOY_CONFIG, toy_dataset, env_factory=FakeLabelledEnv)


def test_bad_configs_and_envs_are_rejected(tmp_path):
    with pytest.raises(ValueError, match="overlaps"):
        LabelledDatasetConfig(train_seeds=(0, 100), val_seeds=(50, 150), test_seeds=(200, 300))
    with pytest.raises(ValueError, match="max_class_fraction"):
        LabelledDatasetConfig(max_class_fraction=0.0)
    with pytest.raises(ValueError, match="num_envs = 0; allowed: >= 1"):
        LabelledDatasetConfig(num_envs=0)
    no_batch = LabelledDatasetConfig(env_id="Pendulum-v1", num_envs=2)
    with pytest.raises(ValueError, match="num_envs=2 needs an env with a batched"):
        generate_labelled_dataset(no_batch, tmp_path / "z", show_progress=False)
    with pytest.raises(ValueError, match="info\\['labels'\\]"):
        generate_labelled_dataset(
            TOY_CONFIG, tmp_path / "x", env_factory=UnlabelledEnv, show_progress=False
        )
    bad_task = dataclasses.replace(TOY_CONFIG, balance_task="weather")
    with pytest.raises(ValueError, match="'weather'.*allowed"):
        generate_labelled_dataset(
            bad_task, tmp_path / "y", env_factory=FakeLabelledEnv, show_progress=False
        )
    assert not (tmp_path / "x" / "manifest.json").exists()


def test_missing_or_malformed_dataset_paths_give_clear_errors(tmp_path, toy_dataset):
    with pytest.raises(FileNotFoundError, match=str(tmp_path / "nowhere")):
        load_labelled_split(tmp_path / "nowhere", "train", "road_layout")
    (tmp_path / "half").mkdir()
    with pytest.raises(FileNotFoundError, match="manifest.json is missing"):
        load_manifest(tmp_path / "half")
    (tmp_path / "half" / "manifest.json").write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        load_manifest(tmp_path / "half")
    (tmp_path / "half" / "manifest.json").write_text(json.dumps({"format": "other"}))
    with pytest.raises(ValueError, match="roadgym.labelled_frames"):
        load_manifest(tmp_path / "half")
    with pytest.raises(ValueError, match="'weather'.*allowed"):
        load_labelled_split(toy_dataset, "train", "weather")
    with pytest.raises(ValueError, match="'holdout'"):
        load_labelled_split(toy_dataset, "holdout", "road_layout")


def test_truncated_shard_is_reported(tmp_path):
    config = dataclasses.replace(TOY_CONFIG, train_frames=8, val_frames=4, test_frames=4)
    generate_labelled_dataset(config, tmp_path, env_factory=FakeLabelledEnv, show_progress=False)
    shard = tmp_path / load_manifest(tmp_path)["splits"]["train"]["shards"][0]["file"]
    shard.write_bytes(shard.read_bytes()[:100])
    with pytest.raises(ValueError, match="malformed"):
        load_labelled_split(tmp_path, "train", "road_layout")
    assert not list(tmp_path.glob(".*tmp*")), "atomic writes left a temporary file behind"


# ---- CIFAR-10 ----

CIFAR_NAMES = [
    b"airplane",
    b"automobile",
    b"bird",
    b"cat",
    b"deer",
    b"dog",
    b"frog",
    b"horse",
    b"ship",
    b"truck",
]


def _write_cifar(root, per_batch: int = 4) -> np.ndarray:
    """Write a tiny copy of the python-pickle CIFAR-10 release; return the test images."""
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    with open(root / "batches.meta", "wb") as file:
        pickle.dump({b"label_names": CIFAR_NAMES, b"num_vis": 3072}, file)
    test_images = None
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        images = rng.integers(0, 256, (per_batch, 32, 32, 3), dtype=np.uint8)  # HWC
        planar = images.transpose(0, 3, 1, 2).reshape(per_batch, 3072)  # CHW rows as released
        batch = {
            b"data": planar,
            b"labels": rng.integers(0, 10, per_batch).tolist(),
            b"batch_label": name.encode(),
        }
        with open(root / name, "wb") as file:
            pickle.dump(batch, file)
        test_images = images
    return test_images


def test_cifar_reader_returns_hwc_frames_and_names(tmp_path):
    test_images = _write_cifar(tmp_path / "cifar")
    train = load_cifar10(tmp_path / "cifar", "train")
    test = load_cifar10(tmp_path / "cifar", "test")
    assert train.frames.shape == (20, 32, 32, 3) and train.frames.dtype == np.uint8
    assert test.class_names[0] == "airplane" and test.num_classes == 10
    np.testing.assert_array_equal(test.frames, test_images)


def test_cifar_reader_errors_name_the_path_and_expectation(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"does not exist.*data_batch_1"):
        load_cifar10(tmp_path / "missing")
    _write_cifar(tmp_path / "cifar")
    (tmp_path / "cifar" / "data_batch_3").unlink()
    with pytest.raises(FileNotFoundError, match=r"lacks \['data_batch_3'\]"):
        load_cifar10(tmp_path / "cifar", "train")
    (tmp_path / "cifar" / "test_batch").write_bytes(b"not a pickle")
    with pytest.raises(ValueError, match="test_batch is not a CIFAR-10"):
        load_cifar10(tmp_path / "cifar", "test")
    with open(tmp_path / "cifar" / "test_batch", "wb") as file:
        pickle.dump({b"data": np.zeros((2, 100), np.uint8), b"labels": [0, 1]}, file)
    with pytest.raises(ValueError, match=r"expected uint8 \(N, 3072\)"):
        load_cifar10(tmp_path / "cifar", "test")
    with pytest.raises(ValueError, match="'valid'"):
        load_cifar10(tmp_path / "cifar", "valid")
