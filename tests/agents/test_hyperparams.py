"""The shipped YAML hyperparameters: present in the package, valid, overridable, strict."""

from __future__ import annotations

from importlib import resources

import pytest

from roadgym.agents.hyperparams import (
    HyperparamError,
    load_hyperparams,
    parse_overrides,
    resolve_settings,
)


@pytest.mark.parametrize("algo", ["ppo", "dqn"])
def test_shipped_files_resolve_for_track(algo):
    path = resources.files("roadgym.agents").joinpath(f"hyperparams/{algo}.yml")
    assert path.is_file()
    settings = resolve_settings(algo, "roadgym/Track-v0")
    assert settings.n_timesteps > 0 and settings.n_envs >= 1
    assert settings.env_kwargs["action_type"] == "discrete"


def test_unknown_env_falls_back_to_default_entry():
    assert load_hyperparams("ppo", "SomeOther-v0")["policy"] == "CnnPolicy"


def test_unknown_key_names_the_key(tmp_path):
    config = tmp_path / "bad.yml"
    config.write_text("roadgym/Track-v0:\n  n_timesteps: 10\n  lerning_rate: 0.1\n")
    with pytest.raises(HyperparamError, match="'lerning_rate'.*allowed keys:.*learning_rate"):
        resolve_settings("ppo", "roadgym/Track-v0", config_path=config)


def test_unknown_override_and_policy_kwarg_are_errors():
    with pytest.raises(HyperparamError, match="'n_step'"):
        resolve_settings("ppo", "roadgym/Track-v0", overrides={"n_step": 3})
    with pytest.raises(HyperparamError, match="'net_arc'"):
        resolve_settings("ppo", "roadgym/Track-v0", overrides={"policy_kwargs": {"net_arc": []}})


def test_bad_values_name_field_and_allowed():
    with pytest.raises(HyperparamError, match=r"n_envs = 0 .*allowed: an int >= 1"):
        resolve_settings("ppo", "roadgym/Track-v0", overrides={"n_envs": 0})
    with pytest.raises(HyperparamError, match="learning_rate = 'fast'"):
        resolve_settings("ppo", "roadgym/Track-v0", overrides={"learning_rate": "fast"})
    with pytest.raises(HyperparamError, match="normalize has unknown key"):
        resolve_settings("ppo", "roadgym/Track-v0", overrides={"normalize": {"norm_rew": True}})


def test_dqn_refuses_continuous_actions():
    with pytest.raises(HyperparamError, match="action_type = 'continuous' .* dqn"):
        resolve_settings(
            "dqn", "roadgym/Track-v0", overrides={"env_kwargs": {"action_type": "continuous"}}
        )


def test_overrides_parse_yaml_values_and_dotted_keys():
    parsed = parse_overrides(
        ["learning_rate=3e-4", "n_epochs=3", "env_kwargs.frame_stack=2", "policy=CnnPolicy"]
    )
    assert parsed == {
        "learning_rate": 3e-4,
        "n_epochs": 3,
        "env_kwargs": {"frame_stack": 2},
        "policy": "CnnPolicy",
    }
    with pytest.raises(HyperparamError, match="key=value"):
        parse_overrides(["learning_rate"])


def test_nested_override_keeps_other_env_kwargs():
    settings = resolve_settings(
        "ppo", "roadgym/Track-v0", overrides=parse_overrides(["env_kwargs.camera_size_px=48"])
    )
    assert settings.env_kwargs == {"action_type": "discrete", "camera_size_px": 48}


def test_linear_schedule_strings_become_callables():
    from roadgym.agents.hyperparams import algo_arguments

    settings = resolve_settings("ppo", "roadgym/Track-v0", overrides={"learning_rate": "lin_1e-3"})
    schedule = algo_arguments(settings)["learning_rate"]
    assert schedule(1.0) == pytest.approx(1e-3) and schedule(0.5) == pytest.approx(5e-4)


def test_track_dqn_entry_builds_the_measured_recipe():
    """SB3 must honour every key of the Track DQN recipe (README: 3-step returns, 21 actions,
    a learning rate that ends at 0); an SB3 without n-step replay, or a renamed key,
    would otherwise train a different agent than the one measured."""
    import gymnasium as gym
    from stable_baselines3 import DQN
    from stable_baselines3.common.buffers import NStepReplayBuffer

    from roadgym.agents.hyperparams import algo_arguments
    from roadgym.agents.training import build_policy_kwargs
    from roadgym.envs.core.spaces import FINE_STEER_ACTIONS

    settings = resolve_settings("dqn", "roadgym/Track-v0", overrides={"buffer_size": 100})
    env = gym.make("roadgym/Track-v0", **settings.env_kwargs)
    assert env.action_space.n == len(FINE_STEER_ACTIONS)
    assert env.observation_space.shape == (64, 64, 6)  # two stacked frames
    model = DQN(
        settings.policy,
        env,
        policy_kwargs=build_policy_kwargs(settings),
        device="cpu",
        **algo_arguments(settings),
    )
    assert model.n_steps == 3 and isinstance(model.replay_buffer, NStepReplayBuffer)
    assert model.lr_schedule(1.0) == pytest.approx(2.5e-4) and model.lr_schedule(0.0) == 0.0
