"""The base of training extensions: settings that validate themselves and plug into SB3.

An extension is a frozen dataclass (a docstring under each field) with a ``name`` under
which run configs list it. Before any file of a run is written, :meth:`TrainingExtension.
check` refuses a run it cannot work with (wrong algorithm, discrete actions, a world
without stop signs); once the model exists, :meth:`TrainingExtension.callbacks` gives the
SB3 callbacks that do its work; :meth:`TrainingExtension.algo_arguments` names the
algorithm arguments it needs. The trainer calls these and nothing else, so it never names
an extension.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, ClassVar

from gymnasium import spaces

from roadgym.agents.typed_config import ConfigError

__all__ = ["ExtensionContext", "TrainingExtension", "require_continuous_actions"]


@dataclasses.dataclass
class ExtensionContext:
    """What an extension may look at: the run's settings, its env, the model."""

    algo: str
    """'ppo' or 'dqn'."""
    env_id: str
    """The training env's id."""
    env_kwargs: dict[str, Any]
    """The env's config fields."""
    action_space: spaces.Space
    """The env's action space (one world)."""
    observation_space: spaces.Space
    """The env's observation space (one world)."""
    world: Any = None
    """The unwrapped env's ``world`` (a Town world has stop signs), or None."""
    init_from: str | None = None
    """The model the policy starts from (``init_from`` of the run config), if any."""
    initial_model: Any = None
    """That model, loaded (SB3), when the callbacks are built; None before."""


def require_continuous_actions(action_space: spaces.Space, where: str, what: str) -> None:
    """Refuse an action space that ``what`` cannot work with (a pull on action means, a
    fixed ``action_std``: a Gaussian over a Box only)."""
    if not isinstance(action_space, spaces.Box):
        raise ConfigError(
            f"{what} needs continuous actions (a Box action space); {where} has "
            f"{action_space!r}: set env_kwargs.action_type=continuous"
        )


@dataclasses.dataclass(frozen=True)
class TrainingExtension:
    """One training extension's settings; subclasses add fields and the two hooks."""

    name: ClassVar[str] = ""
    """The name run configs list it under (``extensions: [{name: ..., ...}]``)."""
    old_names: ClassVar[tuple[str, ...]] = ()
    """Names older configs used; read with a deprecation warning."""
    old_fields: ClassVar[Mapping[str, str]] = {}
    """Old field name -> field, read with a deprecation warning."""
    algos: ClassVar[tuple[str, ...]] = ("ppo", "dqn")
    """Algorithms it works with."""

    @property
    def where(self) -> str:
        """How errors name it: ``extensions.{name}``."""
        return f"extensions.{self.name}"

    def fail(self, field: str, value: Any, allowed: str) -> ConfigError:
        """An error naming ``extensions.{name}.{field}``, its value and what is allowed."""
        return ConfigError(f"{self.where}.{field} = {value!r}; allowed: {allowed}")

    def check(self, run: ExtensionContext) -> None:
        """Refuse a run this extension cannot work with (called before any file is written).

        The default checks the algorithm; subclasses call it and add their own checks.
        """
        if run.algo not in self.algos:
            raise ConfigError(
                f"{self.where} needs algo {' or '.join(map(repr, self.algos))}; the run's "
                f"algo is {run.algo!r}"
            )

    def algo_arguments(self) -> dict[str, Any]:
        """Arguments of the SB3 algorithm this extension needs (e.g. ``normalize_advantage:
        False``); they are written into the run's hyperparameters, so the run's
        ``config.yaml`` shows them, and a run setting them otherwise is refused."""
        return {}

    def callbacks(self, run: ExtensionContext) -> list[Any]:
        """The SB3 callbacks that do the work (``run.initial_model`` is set by now)."""
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        """Plain data for the run's ``config.yaml``: ``{name: ..., field: value, ...}``."""
        return {"name": self.name, **dataclasses.asdict(self)}
