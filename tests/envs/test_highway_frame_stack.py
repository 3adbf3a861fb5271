"""``frame_stack`` on the highway worlds stacks every mode, as the observation space says
(it was ignored: a (64, 64, 3) frame against a (64, 64, 6) space)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import roadgym  # noqa: F401  (registers the env ids)

IDS = ("roadgym/Highway-v0", "roadgym/Merge-v0")
MODES = ("rgb", "kinematics")


@pytest.mark.parametrize("env_id", IDS)
def test_frame_stack_fills_on_reset_and_shifts_oldest_first(env_id):
    k, fields = 3, {"observation": "rgb+kinematics", "action_type": "meta"}
    stacked = gym.make(env_id, frame_stack=k, **fields)
    plain = gym.make(env_id, **fields)
    first, _ = stacked.reset(seed=3)
    frame, _ = plain.reset(seed=3)
    assert stacked.observation_space.contains(first)
    for mode in MODES:
        np.testing.assert_array_equal(first[mode], np.concatenate([frame[mode]] * k, axis=-1))
    previous = first
    for action in (1, 3, 1, 4):
        current, *_ = stacked.step(action)
        frame, *_ = plain.step(action)
        assert stacked.observation_space.contains(current)
        for mode in MODES:
            channels = frame[mode].shape[-1]
            np.testing.assert_array_equal(
                current[mode][..., :-channels], previous[mode][..., channels:]
            )
            np.testing.assert_array_equal(current[mode][..., -channels:], frame[mode])
        previous = current


@pytest.mark.parametrize("env_id", IDS)
def test_stacked_vector_world_i_equals_a_single_env_across_episode_ends(env_id):
    fields = {"observation": "rgb+kinematics", "action_type": "meta", "frame_stack": 2}
    n, steps = 2, 24
    envs = gym.make_vec(
        env_id,
        num_envs=n,
        vectorization_mode="vector_entry_point",
        autoreset_mode=gym.vector.AutoresetMode.SAME_STEP,
        duration_s=2.0,
        **fields,
    )
    actions = np.random.default_rng(2).integers(0, 5, (steps, n))
    batched = [envs.reset(seed=30)]
    batched += [envs.step(a) for a in actions]
    ends = 0
    for i in range(n):
        env = gym.make(env_id, duration_s=2.0, **fields)
        observation, _ = env.reset(seed=30 + i)
        for mode in MODES:
            np.testing.assert_array_equal(batched[0][0][mode][i], observation[mode])
        for t, action in enumerate(actions[:, i]):
            observation, _, terminated, truncated, _ = env.step(action)
            if terminated or truncated:
                ends += 1
                observation, _ = env.reset()
            for mode in MODES:
                np.testing.assert_array_equal(batched[t + 1][0][mode][i], observation[mode])
    assert ends >= n  # the autoreset path was taken
