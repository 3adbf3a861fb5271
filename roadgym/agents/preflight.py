"""Checks of a run before any of its files is written.

:func:`check_run` builds the env once (so an unknown id or a bad env config is refused
here), refuses ``action_std`` on discrete actions and lets each training extension check
the run; :func:`start_from` loads the policy ``init_from`` names. A refused run leaves no
folder behind.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from gymnasium import spaces

from roadgym.agents.environments import num_agents_of
from roadgym.agents.extensions import ExtensionContext, require_continuous_actions
from roadgym.agents.hyperparams import TrainSettings
from roadgym.agents.run_config import RunConfig
from roadgym.agents.typed_config import ConfigError

__all__ = ["check_resume", "check_run", "start_from", "with_extension_arguments"]


def check_resume(resume: Path, algo: str) -> None:
    """Refuse a ``resume`` model that is missing or of another algorithm."""
    if not resume.is_file():
        raise FileNotFoundError(f"resume {str(resume)!r}: no such model file")
    from roadgym.agents.loading import detect_algo

    found = detect_algo(resume)
    if found != algo:
        raise ConfigError(
            f"resume {str(resume)!r} is a {found.upper()} model, but algo is {algo!r}; "
            f"allowed: algo {found!r} to continue it, or no resume to start a new {algo} run"
        )


def start_from(init_from: str, settings: TrainSettings) -> tuple[Any, TrainSettings]:
    """The student ``init_from`` names, loaded, and ``settings`` with its env settings."""
    from roadgym.agents.imitation.finetune import load_student, student_env_kwargs

    student = load_student(init_from, device="cpu")
    return student, dataclasses.replace(
        settings,
        policy="MultiInputPolicy",
        env_kwargs={**settings.env_kwargs, **student_env_kwargs(init_from)},
    )


def with_extension_arguments(config: RunConfig) -> RunConfig:
    """``config`` with the algorithm arguments its extensions need in its hyperparameters
    (so ``config.yaml`` shows them); a value set otherwise is refused, naming both."""
    arguments = dict(config.settings.algo_kwargs)
    for extension in config.extensions:
        for key, value in extension.algo_arguments().items():
            if key in arguments and arguments[key] != value:
                raise ConfigError(
                    f"{key} = {arguments[key]!r} with {extension.where}; allowed: {key} = "
                    f"{value!r} (the extension needs it), or leave {key} unset"
                )
            arguments[key] = value
    settings = dataclasses.replace(config.settings, algo_kwargs=arguments)
    return dataclasses.replace(config, settings=settings)


def check_run(config: RunConfig, initial_model: Any = None) -> ExtensionContext:
    """Build the env once (its id and config are checked), refuse ``action_std`` on
    discrete actions, a starting policy (``initial_model``, from ``init_from``) whose
    observations are not the env's, and let each extension check the run: all before
    any file is written."""
    import gymnasium as gym

    settings = config.settings
    where = f"env_id = {settings.env_id!r} with env_kwargs {settings.env_kwargs!r}"
    try:
        num_agents = num_agents_of(settings.env_kwargs)
    except ValueError as error:
        raise ConfigError(str(error)) from None
    if num_agents > 1:
        _check_multi_agent_settings(settings, num_agents)
    try:
        env = _make_env(settings.env_id, settings.env_kwargs, num_agents)
    except gym.error.Error as error:  # unknown id, namespace or version
        ids = sorted(i for i in gym.registry if i.startswith("roadgym/"))
        raise ConfigError(
            f"env_id = {settings.env_id!r} is not a registered gymnasium id ({error}); "
            f"roadgym's ids: {', '.join(ids)}"
        ) from None
    except (ValueError, TypeError) as error:  # the env's config refused a field
        raise ConfigError(f"env_kwargs: {error}") from None
    context = ExtensionContext(
        algo=settings.algo,
        env_id=settings.env_id,
        env_kwargs=dict(settings.env_kwargs),
        action_space=getattr(env, "single_action_space", env.action_space),
        observation_space=getattr(env, "single_observation_space", env.observation_space),
        world=getattr(env.unwrapped, "world", None),
        init_from=config.init_from,
        initial_model=initial_model,
    )
    env.close()
    if initial_model is not None:
        _check_same_observations(config.init_from, initial_model.observation_space, context)
    if settings.action_std is not None:
        require_continuous_actions(
            context.action_space, where, f"action_std = {settings.action_std}"
        )
    for extension in config.extensions:
        extension.check(context)
    return context


def _shapes(space: Any) -> dict[str, list[int]]:
    """Shapes by observation key, dimension order aside (SB3 stores images CHW)."""
    parts = space.spaces if isinstance(space, spaces.Dict) else {"": space}
    return {key: sorted(getattr(part, "shape", None) or ()) for key, part in parts.items()}


def _check_same_observations(init_from: str | None, trained: Any, run: ExtensionContext) -> None:
    if _shapes(trained) != _shapes(run.observation_space):
        raise ConfigError(
            f"init_from = {init_from!r} was trained on observations of shapes "
            f"{_shapes(trained)}, but env_id {run.env_id!r} with env_kwargs {run.env_kwargs!r} "
            f"gives {_shapes(run.observation_space)} (dimension order aside); allowed: the env "
            "settings the student was trained with (the config.yaml beside it)"
        )


def _make_env(env_id: str, env_kwargs: dict[str, Any], num_agents: int) -> Any:
    """The env a run trains on, built once to check it: the single env, or with several
    cars a world one world of the multi-agent vector env (its ``single_*`` spaces)."""
    import gymnasium as gym

    if num_agents == 1:
        return gym.make(env_id, **env_kwargs)
    from roadgym.envs.multiagent import make_multi_agent_vector_env

    fields = {k: v for k, v in env_kwargs.items() if k != "num_agents"}
    return make_multi_agent_vector_env(env_id, 1, num_agents, **fields)


def _check_multi_agent_settings(settings: Any, num_agents: int) -> None:
    """What a run of several cars a world cannot do yet, refused before any file."""
    if settings.eval_freq > 0:
        raise ConfigError(
            f"eval_freq = {settings.eval_freq} with env_kwargs.num_agents = {num_agents}: "
            "the held-out evaluation during training plays one car a world; allowed: "
            "eval_freq 0 (evaluate every car with experiments/multiagent/evaluate_all_cars.py)"
        )
    if settings.frame_stack > 1:
        raise ConfigError(
            f"frame_stack = {settings.frame_stack} with env_kwargs.num_agents = {num_agents}; "
            "allowed: 1 (stack frames in the env: env_kwargs.frame_stack)"
        )
