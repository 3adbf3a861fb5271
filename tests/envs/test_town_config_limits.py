"""Town configs inside the documented ranges build towns; contradictory ones are refused
at construction, naming the fields (issue 25: ``two_lane_fraction=1.0`` failed every
reset with an error about other fields; ``wheelbase_m=6.0, car_length_m=1.0`` passed)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import roadgym  # noqa: F401  (registers the env ids)
from roadgym.envs.core.config import ConfigError
from roadgym.envs.town import TownConfig, generate_town


@pytest.mark.parametrize(("grid_size", "street_removal_fraction"), [(3, 0.0), (5, 0.2)])
def test_two_lanes_everywhere_still_builds_towns(grid_size, street_removal_fraction):
    config = TownConfig(
        two_lane_fraction=1.0, grid_size=grid_size, street_removal_fraction=street_removal_fraction
    )
    for seed in range(2):
        assert generate_town(np.random.default_rng(seed), config).lane_graph.lanes


def test_a_town_env_with_two_lanes_everywhere_resets():
    env = gym.make("roadgym/Town-v0", two_lane_fraction=1.0)
    observation, _ = env.reset(seed=0)
    assert env.observation_space.contains(observation)
    env.close()


@pytest.mark.parametrize("env_id", ["roadgym/Town-v0", "roadgym/Track-v0", "roadgym/Highway-v0"])
def test_a_wheelbase_longer_than_the_car_is_refused_naming_both_fields(env_id):
    with pytest.raises(ConfigError, match=r"wheelbase_m = 6.0 .*car_length_m = 1.0.*allowed"):
        gym.make(env_id, wheelbase_m=6.0, car_length_m=1.0)
