"""Track's ``action_repeat`` (frame skip): one env step is k simulation steps."""

import gymnasium as gym
import numpy as np
import pytest

import roadgym  # noqa: F401  (registers the env ids)
from roadgym.envs import TrackConfig
from roadgym.envs.core.config import ConfigError


def test_one_step_with_repeat_k_is_k_steps_holding_the_action():
    repeated = gym.make("roadgym/Track-v0", action_type="discrete", action_repeat=4)
    plain = gym.make("roadgym/Track-v0", action_type="discrete")
    repeated.reset(seed=7)
    plain.reset(seed=7)
    for action in (1, 1, 1, 0, 2, 1):
        observation, reward, terminated, truncated, info = repeated.step(action)
        total = 0.0
        for _ in range(4):
            plain_observation, plain_reward, plain_terminated, _, plain_info = plain.step(action)
            total += plain_reward
        np.testing.assert_array_equal(observation, plain_observation)  # the last frame
        assert reward == pytest.approx(total, abs=1e-12)
        assert (terminated, truncated) == (plain_terminated, False)
        assert info["progress"] == plain_info["progress"] > 0
        assert info["speed_mps"] == plain_info["speed_mps"]


def test_an_episode_that_ends_part_way_stops_there_and_pays_its_end_once():
    # 0.5 s stall timeout = 5 simulation steps; coasting from rest makes no progress, so
    # the second env step (sub-steps 5 to 8) ends at its first sub-step.
    env = gym.make("roadgym/Track-v0", action_type="discrete", action_repeat=4, stall_timeout_s=0.5)
    env.reset(seed=3)
    _, reward, terminated, _, info = env.step(0)
    assert not terminated and reward == pytest.approx(-4 * 0.02)
    _, reward, terminated, _, info = env.step(0)
    assert terminated and info["stalled"]
    assert reward == pytest.approx(-0.02 - 50.0)  # one sub-step, one stall penalty


def test_the_stall_timeout_stays_in_seconds():
    # 5 s at dt 0.1 s = 50 simulation steps = 13 env steps of 4 (ending in the 13th).
    env = gym.make("roadgym/Track-v0", action_type="discrete", action_repeat=4)
    env.reset(seed=5)
    for step in range(1, 14):
        _, _, terminated, _, info = env.step(2)  # brake: never moves
        assert terminated == (step == 13), step
    assert info["stalled"]


@pytest.mark.parametrize("bad", [0, 17, 2.5, True, "4"])
def test_action_repeat_is_validated(bad):
    with pytest.raises(ConfigError, match="TrackConfig.action_repeat"):
        TrackConfig(action_repeat=bad)


def test_vector_worlds_match_single_envs_when_episodes_end_part_way():
    num_envs, seed, steps = 4, 11, 40
    fields = {"action_type": "discrete", "action_repeat": 3, "frame_stack": 2}
    envs = gym.make_vec(
        "roadgym/Track-v0", num_envs=num_envs, vectorization_mode="vector_entry_point", **fields
    )
    singles = [gym.make("roadgym/Track-v0", **fields) for _ in range(num_envs)]
    rng = np.random.default_rng(0)
    observation, _ = envs.reset(seed=seed)
    for i, env in enumerate(singles):
        np.testing.assert_array_equal(observation[i], env.reset(seed=seed + i)[0])
    ends, restarting = 0, np.zeros(num_envs, bool)
    for _ in range(steps):
        actions = rng.integers(0, 9, num_envs)
        observation, reward, terminated, _, info = envs.step(actions)
        for i, env in enumerate(singles):
            if restarting[i]:  # NEXT_STEP autoreset: this step started a new episode
                np.testing.assert_array_equal(observation[i], env.reset()[0])
                continue
            single_observation, single_reward, single_terminated, _, single_info = env.step(
                actions[i]
            )
            np.testing.assert_array_equal(observation[i], single_observation)
            assert reward[i] == single_reward
            assert terminated[i] == single_terminated
            assert info["progress"][i] == single_info["progress"]
            ends += single_terminated
        restarting = terminated.copy()
    assert ends >= 3  # episodes did end, in some worlds while others drove on
