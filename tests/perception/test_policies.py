"""Data policies: the expert drives roadgym envs by default; rare classes recorded densely."""

from __future__ import annotations

import dataclasses

import gymnasium
import numpy as np
import pytest

import roadgym.envs  # noqa: F401  (registers the roadgym envs)
from roadgym.perception import LabelledDatasetConfig, generate_labelled_dataset, load_manifest
from roadgym.perception.policies import expert_policy, has_expert, resolve_policy_factory
from tests.perception.conftest import TOY_CONFIG
from tests.perception.fake_env import FakeLabelledEnv

TINY = dict(
    train_seeds=(0, 10),
    val_seeds=(10, 20),
    test_seeds=(20, 30),
    train_frames=12,
    val_frames=4,
    test_frames=4,
    max_episode_steps=40,
    frame_stride=5,
)


@pytest.mark.parametrize("env_id", ["roadgym/Track-v0", "roadgym/Town-v0"])
def test_expert_is_the_default_driver_and_moves_the_car(env_id, tmp_path):
    config = LabelledDatasetConfig(env_id=env_id, **TINY)
    manifest = generate_labelled_dataset(config, tmp_path / "data", show_progress=False)
    assert manifest["driver"].startswith("expert(")
    with np.load(tmp_path / "data" / manifest["splits"]["train"]["shards"][0]["file"]) as data:
        first_episode = data["frames"][data["seeds"] == 0]  # steps 0, 5, ..., 35
    # Random actions leave the camera almost still; the expert drives on.
    assert len(first_episode) == 8
    assert not np.array_equal(first_episode[0], first_episode[-1])
    env = gymnasium.make(env_id)
    env.reset(seed=0)
    policy = expert_policy(env)
    speed = 0.0
    for _ in range(30):
        _, _, terminated, truncated, info = env.step(policy(None, {}))
        speed = info["speed_mps"]
        assert not terminated and not truncated
    assert speed > 2.0


def test_expert_noise_is_seeded_and_bounded():
    env = gymnasium.make("roadgym/Track-v0")
    actions = []
    for _ in range(2):
        env.reset(seed=3)
        policy = expert_policy(env, steer_noise=0.3, throttle_noise=0.3, seed=7)
        actions.append(np.stack([policy(None, {}) for _ in range(5)]))
    np.testing.assert_array_equal(actions[0], actions[1])
    assert actions[0].dtype == np.float32 and np.abs(actions[0]).max() <= 1.0
    with pytest.raises(ValueError, match="must be >= 0"):
        expert_policy(env, steer_noise=-1.0)


def test_policy_names_resolve_and_bad_names_are_refused():
    fake = FakeLabelledEnv()
    assert not has_expert(fake) and has_expert(gymnasium.make("roadgym/Track-v0"))
    assert resolve_policy_factory("auto")(fake) is None  # no expert: random actions
    assert resolve_policy_factory("random")(gymnasium.make("roadgym/Track-v0")) is None
    with pytest.raises(ValueError, match="needs a roadgym"):
        resolve_policy_factory("expert")(fake)
    with pytest.raises(ValueError, match="unknown"):
        resolve_policy_factory("pilot")
    with pytest.raises(ValueError, match="cannot be imported"):
        resolve_policy_factory("tests.perception.fake_env:no_such_factory")
    steady = resolve_policy_factory("tests.perception.fake_env:make_steady_policy")(fake)
    assert steady(None, {}) == 1


def test_rare_classes_are_recorded_at_the_rare_stride(tmp_path):
    config = dataclasses.replace(
        TOY_CONFIG, frame_stride=4, balance_task="road_layout", max_episode_steps=12
    )
    sparse = generate_labelled_dataset(
        config, tmp_path / "sparse", env_factory=FakeLabelledEnv, show_progress=False
    )
    assert sparse["driver"] == "random"
    with np.load(tmp_path / "sparse" / sparse["splits"]["train"]["shards"][0]["file"]) as data:
        assert (data["steps"] % 4 == 0).all()
    dense_config = dataclasses.replace(config, rare_frame_stride=1)
    generate_labelled_dataset(
        dense_config, tmp_path / "dense", env_factory=FakeLabelledEnv, show_progress=False
    )
    manifest = load_manifest(tmp_path / "dense")
    steps, labels = [], []
    for shard in manifest["splits"]["train"]["shards"]:
        with np.load(tmp_path / "dense" / shard["file"]) as data:
            steps.append(data["steps"])
            labels.append(data["label_road_layout"])
    steps, labels = np.concatenate(steps), np.concatenate(labels)
    off_stride = steps % 4 != 0
    assert off_stride.any()
    # A frame off the common stride is kept only while its class is under an equal share.
    equal_share = config.train_frames / 3
    for index in np.flatnonzero(off_stride):
        assert (labels[:index] == labels[index]).sum() < equal_share
    with pytest.raises(ValueError, match="rare_frame_stride"):
        LabelledDatasetConfig(rare_frame_stride=0)
