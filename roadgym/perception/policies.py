"""Driving policies that collect labelled frames: the expert where an env has one.

Random actions barely move a car, so a dataset driven by them is mostly the start
line. Envs backed by a roadgym world (Track-v0, Town-v0) have a privileged expert
(:class:`roadgym.drivers.expert.ExpertDriver`) that follows the route, stops at
lights and behind cars: it sees the situations the labels are about. A little
Gaussian noise on its steering and throttle varies the car's pose and speed so
frames of the same road are not all taken from the lane centre at cruise speed.

The expert is imported only when an expert policy is built, so ``import
roadgym.perception`` stays light.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = [
    "POLICY_NAMES",
    "PolicyFactory",
    "expert_policy",
    "has_expert",
    "resolve_policy_factory",
]

Policy = Callable[[Any, dict], Any]
"""``policy(observation, info) -> action``."""
PolicyFactory = Callable[[Any], "Policy | None"]
"""``factory(env) -> policy``, or None for uniform random actions."""

POLICY_NAMES = ("auto", "expert", "random")
"""Named data policies; anything else must be ``'package.module:factory'``."""


def has_expert(env: Any) -> bool:
    """Whether ``env`` exposes a roadgym world that :class:`ExpertDriver` can drive."""
    try:
        expert = importlib.import_module("roadgym.drivers.expert")
    except ImportError:  # pragma: no cover - the agents package ships with roadgym
        return False
    try:
        expert._world_of(env)  # noqa: SLF001 - the expert's own lookup, one source of truth
    except TypeError:
        return False
    return True


def expert_policy(
    env: Any, steer_noise: float = 0.0, throttle_noise: float = 0.0, seed: int = 0
) -> Policy:
    """A ``policy(observation, info)`` that drives ``env`` with the expert plus noise.

    ``steer_noise`` and ``throttle_noise`` are standard deviations of Gaussian noise
    added to the expert's continuous [steer, throttle] (clipped to [-1, 1]); discrete
    action envs get the expert's action unchanged. The noise generator is seeded by
    ``seed``, so the same episodes give the same frames.
    """
    if steer_noise < 0 or throttle_noise < 0:
        raise ValueError(
            f"steer_noise={steer_noise!r} and throttle_noise={throttle_noise!r} must be >= 0"
        )
    from roadgym.drivers.expert import ExpertDriver

    driver = ExpertDriver(env)
    scale = np.array([steer_noise, throttle_noise], dtype=np.float32)
    rng = np.random.default_rng(seed)
    noisy = bool(scale.any())

    def policy(observation: Any, info: dict) -> Any:
        action, _ = driver.predict(observation)
        if not noisy or np.ndim(action) == 0:  # discrete: an index, nothing to perturb
            return action
        noise = rng.standard_normal(np.shape(action)).astype(np.float32) * scale  # (..., 2)
        return np.clip(action + noise, -1.0, 1.0).astype(np.float32)

    policy.description = (  # type: ignore[attr-defined]  # recorded in dataset manifests
        f"expert(steer_noise={steer_noise}, throttle_noise={throttle_noise}, seed={seed})"
    )
    return policy


def resolve_policy_factory(
    name: str, steer_noise: float = 0.0, throttle_noise: float = 0.0, seed: int = 0
) -> PolicyFactory:
    """The factory behind a data-policy name.

    ``'auto'``: the expert (with the noise) when the env has one, else random actions;
    ``'expert'``: the expert, an error for envs without one; ``'random'``: uniform
    random actions; ``'package.module:factory'``: that callable, ``factory(env)``.
    """

    def expert(env: Any) -> Policy:
        if not has_expert(env):
            raise ValueError(
                f"data policy 'expert' needs a roadgym Track/Town env; {env!r} has no expert "
                "(use 'random' or a 'module:factory' policy)"
            )
        return expert_policy(env, steer_noise, throttle_noise, seed)

    if name == "expert":
        return expert
    if name == "auto":
        return lambda env: expert(env) if has_expert(env) else None
    if name == "random":
        return lambda env: None
    module_name, _, attribute = name.partition(":")
    if not module_name or not attribute:
        raise ValueError(
            f"data policy {name!r} is unknown; allowed: {list(POLICY_NAMES)} or "
            "'package.module:factory'"
        )
    try:
        return getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as error:
        raise ValueError(f"data policy {name!r} cannot be imported: {error}") from error
