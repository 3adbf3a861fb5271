"""Tiny-budget settings shared by the agent tests: short episodes, few steps, small nets."""

from __future__ import annotations

import pytest
import torch

from roadgym.agents.hyperparams import resolve_settings

# Episodes of at most this many steps keep evaluation of an untrained policy (which may
# never move) to a fraction of a second.
SHORT_EPISODE_STEPS = 40


def tiny_overrides(algo: str, **extra):
    """Overrides that make a full train() call take seconds."""
    common = {
        "n_timesteps": 128,
        "n_envs": 2,
        "env_kwargs": {"max_episode_steps": SHORT_EPISODE_STEPS},
        "encoder_options": {"features_dim": 32, "channels": [8, 16, 16]},
        "eval_freq": 64,
        "eval_episodes": 2,
        "checkpoint_freq": 64,
        "video_freq": 64,
    }
    per_algo = {
        "ppo": {"n_steps": 32, "batch_size": 32, "n_epochs": 1},
        "dqn": {"learning_starts": 16, "buffer_size": 500, "batch_size": 16, "train_freq": 4},
    }
    return {**common, **per_algo[algo], **extra}


@pytest.fixture
def tiny_settings():
    """``tiny_settings(algo, **overrides)`` -> validated TrainSettings for Track-v0."""

    def make(algo: str, **extra):
        return resolve_settings(algo, "roadgym/Track-v0", overrides=tiny_overrides(algo, **extra))

    return make


@pytest.fixture
def one_torch_thread():
    """torch on one thread for the test (small CNNs run faster so), restored after."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
