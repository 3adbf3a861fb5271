"""stable-baselines3's own defaults, read from its constructors' signatures.

Every place that needs "what SB3 would use when the YAML leaves a key out" (the RLlib
backend mapping SB3's PPO onto RLlib's) reads them here, from the installed SB3, so a
new SB3 release's defaults are picked up instead of a hand copy drifting from them.
Importing this module does not import SB3; the first call does.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from typing import Any

from roadgym.agents.hyperparams import HyperparamError, algo_class

__all__ = ["sb3_defaults"]


def sb3_defaults(algo: str, names: Iterable[str]) -> dict[str, Any]:
    """SB3's default value of each constructor argument ``names`` of ``algo`` ('ppo', 'dqn').

    Raises :class:`HyperparamError` naming an argument that SB3's constructor does not
    have or that has no default there.
    """
    parameters = inspect.signature(algo_class(algo).__init__).parameters
    defaults: dict[str, Any] = {}
    for name in names:
        parameter = parameters.get(name)
        if parameter is None or parameter.default is inspect.Parameter.empty:
            raise HyperparamError(
                f"{name!r} is not an argument with a default of stable-baselines3's "
                f"{algo_class(algo).__name__}; allowed: "
                + ", ".join(
                    n for n, p in parameters.items() if p.default is not inspect.Parameter.empty
                )
            )
        defaults[name] = parameter.default
    return defaults
