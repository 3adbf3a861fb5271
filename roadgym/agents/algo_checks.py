"""Checks of SB3 constructor arguments and ``policy_kwargs`` against the algorithm's and
the policy's signatures: types (ints, finite floats, bools, ``lin_<x>`` schedules, no
classes from YAML) and the ranges SB3 would otherwise check with ``assert`` or not at all.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Mapping
from typing import Any

from roadgym.agents.typed_config import ConfigError, check_value, close_matches

__all__ = ["algo_class", "check_algo_ranges", "check_algo_types", "check_policy_kwargs"]

ALGOS = ("ppo", "dqn")


def algo_class(algo: str) -> type:
    """The stable-baselines3 class of ``algo`` ('ppo' or 'dqn')."""
    from stable_baselines3 import DQN, PPO

    classes = {"ppo": PPO, "dqn": DQN}
    if algo not in classes:
        raise ConfigError(f"algo = {algo!r} is not supported; allowed: {', '.join(ALGOS)}")
    return classes[algo]


# Allowed ranges of the SB3 arguments that have one, checked before SB3 sees them (SB3
# checks some with ``assert``, which gives no field name and vanishes under python -O).
# name -> (low, high, low inclusive, whole number). Upper bounds where a larger value is
# a typo that would run for days (n_epochs=1e9) rather than a choice.
_ALGO_RANGES: dict[str, tuple[float, float, bool, bool]] = {
    "n_steps": (1, 10**6, True, True),
    "batch_size": (1, 10**6, True, True),
    "n_epochs": (1, 1000, True, True),
    "gradient_steps": (-1, 1000, True, True),
    "buffer_size": (1, math.inf, True, True),
    "learning_starts": (0, math.inf, True, True),
    "target_update_interval": (1, math.inf, True, True),
    "gamma": (0.0, 1.0, False, False),
    "gae_lambda": (0.0, 1.0, True, False),
    "learning_rate": (0.0, math.inf, True, False),  # 0: weights stay put (tests)
    "clip_range": (0.0, math.inf, False, False),
    "ent_coef": (0.0, math.inf, True, False),
    "vf_coef": (0.0, math.inf, True, False),
    "max_grad_norm": (0.0, math.inf, False, False),
    "tau": (0.0, 1.0, False, False),
    "exploration_fraction": (0.0, 1.0, True, False),
    "exploration_initial_eps": (0.0, 1.0, True, False),
    "exploration_final_eps": (0.0, 1.0, True, False),
}


def check_algo_types(algo: str, entry: dict[str, Any]) -> None:
    """Each constructor argument in ``entry`` against the type in the SB3 signature
    (ints, finite floats, bools, ``lin_<x>`` for a schedule); converted in place."""
    parameters = inspect.signature(algo_class(algo).__init__).parameters
    for name, value in entry.items():
        annotation = parameters[name].annotation if name in parameters else Any
        if annotation is inspect.Parameter.empty:
            continue
        entry[name] = check_value(name, value, annotation)


def check_algo_ranges(source: str, entry: Mapping[str, Any]) -> None:
    for name, (low, high, low_inclusive, whole) in _ALGO_RANGES.items():
        value = entry.get(name)
        if value is None or isinstance(value, (str, tuple, list)):  # absent, lin_, train_freq
            continue
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        bad = not number or (whole and value != int(value))
        if not bad:
            bad = value < low or (value == low and not low_inclusive) or value > high
        if bad:
            kind = "an int" if whole else "a number"
            bounds = f"{'>=' if low_inclusive else '>'} {low}" + (
                f" and <= {high}" if math.isfinite(high) else ""
            )
            raise ConfigError(f"{source}: {name} = {value!r}; allowed: {kind} {bounds}")


def check_policy_kwargs(algo: str, policy: str, policy_kwargs: dict[str, Any]) -> None:
    aliases = algo_class(algo).policy_aliases
    if policy not in aliases:
        raise ConfigError(
            f"policy = {policy!r} is not allowed for {algo}; allowed: {', '.join(aliases)}"
        )
    parameters = inspect.signature(aliases[policy].__init__).parameters
    accepted = set(parameters) - {"self", "observation_space", "action_space", "lr_schedule"}
    unknown = sorted(set(policy_kwargs) - accepted)
    if unknown:
        raise ConfigError(
            f"policy_kwargs has unknown key(s) {', '.join(map(repr, unknown))} for {policy}"
            f"{close_matches(unknown, sorted(accepted))}; allowed: {', '.join(sorted(accepted))}"
        )
    for key, value in policy_kwargs.items():
        annotation = parameters[key].annotation
        if annotation is not inspect.Parameter.empty:
            policy_kwargs[key] = check_value(f"policy_kwargs.{key}", value, annotation)
