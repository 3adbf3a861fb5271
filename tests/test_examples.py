"""Every script in examples/ runs, with tiny step counts, and does what its docstring says."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path
from types import ModuleType

import gymnasium as gym
import pytest

from roadgym.envs import ConfigError

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_every_example_is_tested():
    tested = {"gymnasium_loop", "sb3_ppo", "cleanrl_ppo", "custom_config", "multiagent_merge"}
    assert {path.stem for path in EXAMPLES.glob("*.py")} == tested


def test_gymnasium_loop_finishes_episodes():
    # Random actions either leave the road or are truncated at 1000 steps.
    returns = load("gymnasium_loop").main(["--steps", "1001", "--seed", "0"])
    assert len(returns) >= 1 and all(math.isfinite(r) for r in returns)


def test_custom_config_registers_ids_that_apply_their_kwargs():
    example = load("custom_config")
    shapes = example.main(["--steps", "5"])
    assert shapes == {"my/NarrowTrack-v0": (4, 84, 84, 3), "my/QuietTown-v0": (4, 64, 64, 3)}
    env = gym.make("my/NarrowTrack-v0")
    assert env.unwrapped.config.num_lanes == 1 and env.spec.max_episode_steps == 600
    assert env.unwrapped.world.config.lane_width_m == 3.0
    town = gym.make("my/QuietTown-v0")
    assert town.unwrapped.config.num_vehicles == 0


def test_a_registered_typo_fails_when_made():
    gym.register(
        id="my/TypoTrack-v0", entry_point="roadgym.envs.track.env:TrackEnv", kwargs={"num_lane": 1}
    )
    try:
        with pytest.raises(ConfigError, match="num_lane"):
            gym.make("my/TypoTrack-v0")
    finally:
        del gym.registry["my/TypoTrack-v0"]


def test_sb3_ppo_learns_a_few_steps():
    model = load("sb3_ppo").main(["--timesteps", "64", "--n-envs", "2", "--n-steps", "32"])
    assert model.num_timesteps >= 64


def test_cleanrl_ppo_runs_and_same_seed_gives_the_same_result():
    tiny = ["--total-timesteps", "128", "--num-envs", "2", "--num-steps", "32"]
    tiny += ["--update-epochs", "1", "--num-minibatches", "2"]
    example = load("cleanrl_ppo")
    first = example.main(tiny)
    assert len(first) == 2
    assert example.main(tiny) == pytest.approx(first, nan_ok=True)


def test_multiagent_merge_drives_every_car_and_trains_shared_ppo():
    summary = load("multiagent_merge").main(["--agents", "3", "--steps", "20", "--timesteps", "64"])
    assert summary["steps"] == 20 and summary["ppo_timesteps"] >= 64
