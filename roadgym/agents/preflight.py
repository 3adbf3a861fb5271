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

from roadgym.agents.extensions import ExtensionContext, require_continuous_actions
from roadgym.agents.hyperparams import TrainSettings
from roadgym.agents.run_config import RunConfig
from roadgym.agents.typed_config import ConfigError

__all__ = ["check_resume", "check_run", "start_from"]


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


def check_run(config: RunConfig) -> ExtensionContext:
    """Build the env once (its id and config are checked), refuse ``action_std`` on
    discrete actions, and let each extension check the run: all before any file."""
    import gymnasium as gym

    settings = config.settings
    where = f"env_id = {settings.env_id!r} with env_kwargs {settings.env_kwargs!r}"
    try:
        env = gym.make(settings.env_id, **settings.env_kwargs)
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
        action_space=env.action_space,
        observation_space=env.observation_space,
        world=getattr(env.unwrapped, "world", None),
        init_from=config.init_from,
    )
    env.close()
    if settings.action_std is not None:
        require_continuous_actions(
            context.action_space, where, f"action_std = {settings.action_std}"
        )
    for extension in config.extensions:
        extension.check(context)
    return context
