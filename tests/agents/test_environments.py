"""The training VecEnv: episode statistics written once, by the layer SB3 expects."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.vec_env import VecMonitor, is_vecenv_wrapped

from roadgym.agents.environments import make_training_vec_env


@pytest.mark.parametrize(
    ("env_id", "env_kwargs"),
    [("roadgym/Track-v0", {"observation": "state", "max_episode_steps": 12}), ("CartPole-v1", {})],
)
def test_each_finished_episode_gets_its_statistics_once(env_id, env_kwargs):
    venv = make_training_vec_env(env_id, 2, seed=0, env_kwargs=env_kwargs)
    assert not is_vecenv_wrapped(venv, VecMonitor)
    assert venv.env_is_wrapped(Monitor) == [True, True]
    venv.reset()
    returns, lengths, finished = np.zeros(2), np.zeros(2, dtype=int), []
    for _ in range(40):
        actions = np.stack([venv.action_space.sample() * 0 for _ in range(2)])
        _, rewards, dones, infos = venv.step(actions)
        returns += rewards
        lengths += 1
        for i in np.flatnonzero(dones):
            finished.append((infos[i]["episode"], returns[i], lengths[i]))
            returns[i], lengths[i] = 0.0, 0
    venv.close()
    assert finished
    for episode, total, length in finished:
        assert episode["l"] == length and episode["r"] == pytest.approx(total, abs=1e-4)


def test_sb3_evaluate_policy_reads_the_adapters_statistics_without_a_warning():
    from stable_baselines3.common.evaluation import evaluate_policy

    from roadgym.envs import make_sb3_vec_env

    class Coast:
        def predict(self, observation, state=None, episode_start=None, deterministic=True):
            return np.zeros((len(observation), 2), dtype=np.float32), None

    venv = make_sb3_vec_env(
        "roadgym/Track-v0", 2, seed=0, observation="state", max_episode_steps=10
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        returns, lengths = evaluate_policy(
            Coast(), venv, n_eval_episodes=2, return_episode_rewards=True
        )
    assert lengths == [10, 10] and all(np.isfinite(returns))


def test_env_frame_stack_is_recommended_and_matches_vec_frame_stack_once_filled():
    from stable_baselines3.common.vec_env import VecFrameStack

    from roadgym.envs import make_sb3_vec_env

    k, fields = 3, {"observation": "rgb+state", "max_episode_steps": 50}
    with pytest.warns(DeprecationWarning, match="env_kwargs.frame_stack=3"):
        make_training_vec_env("roadgym/Track-v0", 2, seed=4, env_kwargs=fields, frame_stack=k)
    in_env = make_sb3_vec_env("roadgym/Track-v0", 2, seed=4, frame_stack=k, **fields)
    wrapped = VecFrameStack(make_sb3_vec_env("roadgym/Track-v0", 2, seed=4, **fields), k)
    for key, space in in_env.observation_space.spaces.items():
        # Same shapes and dtypes. (SB3 repeats a vector's bounds element by element while
        # it concatenates the frames; the env's bounds follow the frames.)
        other = wrapped.observation_space[key]
        assert (space.shape, space.dtype) == (other.shape, other.dtype)
    first_a, first_b = in_env.reset(), wrapped.reset()
    # A new episode's stack: the first frame k times in the env, zeros then it in SB3's.
    np.testing.assert_array_equal(first_a["rgb"][..., -3:], first_b["rgb"][..., -3:])
    np.testing.assert_array_equal(first_a["rgb"][..., :3], first_a["rgb"][..., -3:])
    assert not first_b["rgb"][..., :3].any()
    actions = np.tile(np.array([[0.1, 0.5]], dtype=np.float32), (2, 1))
    for _ in range(k):
        obs_a, *_ = in_env.step(actions)
        obs_b, *_ = wrapped.step(actions)
    for key in ("rgb", "state"):  # once k frames were seen, the two stacks are equal
        np.testing.assert_array_equal(obs_a[key], obs_b[key])
