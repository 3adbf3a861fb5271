"""Track's ``discrete_actions``: the basic 9 actions or the 21 of ``fine_steer``."""

import gymnasium as gym
import numpy as np
import pytest

import roadgym  # noqa: F401  (registers the env ids)
from roadgym.drivers.expert import ExpertDriver
from roadgym.envs import DISCRETE_ACTIONS, TrackConfig
from roadgym.envs.core.config import ConfigError
from roadgym.envs.core.spaces import FINE_STEER_ACTIONS, discrete_action_table


def test_fine_steer_has_21_distinct_actions_and_executes_its_rows():
    assert len({tuple(row) for row in FINE_STEER_ACTIONS.tolist()}) == 21
    assert FINE_STEER_ACTIONS[0].tolist() == [0.0, 0.0]  # coast, as in the basic set
    env = gym.make("roadgym/Track-v0", action_type="discrete", discrete_actions="fine_steer")
    assert env.action_space.n == 21
    assert discrete_action_table(env.unwrapped.config) is FINE_STEER_ACTIONS
    env.reset(seed=1)
    steer_right = int(np.flatnonzero((FINE_STEER_ACTIONS == [0.15, 1.0]).all(1))[0])
    for _ in range(3):
        env.step(steer_right)
    world = env.unwrapped.world
    assert world.car.speed_mps[0] == pytest.approx(3 * 0.1 * 4.0)
    assert world.car.steer_rad[0] == pytest.approx(0.15 * 0.5)  # reached at 2 rad/s
    with pytest.raises(ValueError, match=r"\[0, 20\]"):
        env.step(21)


def test_the_basic_set_stays_the_default():
    env = gym.make("roadgym/Track-v0", action_type="discrete")
    assert env.action_space.n == len(DISCRETE_ACTIONS) == 9
    assert discrete_action_table(env.unwrapped.config) is DISCRETE_ACTIONS


def test_expert_mapped_to_the_nearest_fine_action_finishes_laps():
    # The reason the set exists: the basic set's steering (0, 0.5, 1) cannot follow a
    # bend at speed; nearest fine_steer actions can.
    results = {}
    for name in ("basic", "fine_steer"):
        envs = gym.make_vec(
            "roadgym/Track-v0",
            num_envs=4,
            vectorization_mode="vector_entry_point",
            action_type="discrete",
            discrete_actions=name,
        )
        expert = ExpertDriver(envs)
        envs.reset(seed=1000)
        done, laps = np.zeros(4, bool), np.zeros(4, bool)
        for _ in range(1000):
            _, _, terminated, truncated, info = envs.step(expert.predict()[0])
            laps |= ~done & info["lap_completed"]
            done |= terminated | truncated
            if done.all():
                break
        results[name] = laps.mean()
    assert results["fine_steer"] >= 0.75 and results["basic"] <= 0.25, results


def test_discrete_actions_is_validated():
    with pytest.raises(ConfigError, match="TrackConfig.discrete_actions = 'fine'"):
        TrackConfig(discrete_actions="fine")
