"""roadgym envs for RLlib: registry entries and the creator that hands out batched worlds.

RLlib's ``SingleAgentEnvRunner`` calls the registered creator with ``num_envs`` in the
env config when ``gym_env_vectorize_mode="vector_entry_point"``; the creator then builds
roadgym's native vector env (``gymnasium.make_vec(..., vectorization_mode=
"vector_entry_point")``): one numpy batch of M worlds per env runner. Without
``num_envs`` it builds the single env, so RLlib's ``"sync"`` mode works too.

The env config holds the world's config fields (``action_type``, ``camera_size`` ...)
plus two keys of ours, both optional:

- ``rllib_normalize_reward``: a discount factor; rewards are scaled by a running std of
  the discounted return (gymnasium's ``NormalizeReward``, what SB3's ``VecNormalize``
  does for ``norm_reward``). The raw reward stays in ``info["raw_reward"]``.
- ``rllib_spread_seeds`` (default True): RLlib resets env runner w with seed ``s + w``
  and roadgym gives world i of a reset seeded ``s`` the seed ``s + i``, so worlds of
  neighbouring runners would draw the same tracks; with this on, world i of runner seed
  ``s`` gets ``s * M + i`` instead (distinct across the runners of one run).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import VectorEnv, VectorWrapper
from gymnasium.wrappers.vector import NormalizeReward
from ray.tune.registry import register_env

import roadgym.envs
from roadgym.envs import ENV_IDS

__all__ = [
    "NORMALIZE_REWARD_KEY",
    "SPREAD_SEEDS_KEY",
    "RawRewardInInfo",
    "SpreadSeeds",
    "make_rllib_env",
    "register_rllib_envs",
]

NORMALIZE_REWARD_KEY = "rllib_normalize_reward"
SPREAD_SEEDS_KEY = "rllib_spread_seeds"
_OUR_KEYS = (NORMALIZE_REWARD_KEY, SPREAD_SEEDS_KEY, "num_envs")


class RawRewardInInfo(VectorWrapper):
    """Copies the env's reward into ``info["raw_reward"]`` before any reward scaling."""

    def step(self, actions: Any) -> tuple[Any, np.ndarray, np.ndarray, np.ndarray, dict]:
        """Step the batch; ``info["raw_reward"]`` is the unscaled (N,) reward."""
        observations, rewards, terminated, truncated, infos = self.env.step(actions)
        infos = dict(infos)
        infos["raw_reward"] = np.asarray(rewards, dtype=np.float64).copy()
        infos["_raw_reward"] = np.ones(self.num_envs, dtype=bool)
        return observations, rewards, terminated, truncated, infos


class SpreadSeeds(VectorWrapper):
    """``reset(seed=s)`` seeds world i with ``s * num_envs + i`` (see the module docstring)."""

    def reset(self, *, seed: Any = None, options: dict[str, Any] | None = None):
        """Reset; an int seed is spread so that runners seeded s and s + 1 never overlap."""
        if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
            seed = [int(seed) * self.num_envs + i for i in range(self.num_envs)]
        return self.env.reset(seed=seed, options=options)


def _split_config(env_config: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(world config fields, our keys) from RLlib's env config (an ``EnvContext`` or dict)."""
    fields = {key: value for key, value in dict(env_config).items() if key not in _OUR_KEYS}
    ours = {key: env_config[key] for key in _OUR_KEYS if key in env_config}
    return fields, ours


def make_rllib_env(env_id: str, env_config: Mapping[str, Any]) -> gym.Env | VectorEnv:
    """Build ``env_id`` for RLlib: the native vector env when ``env_config`` has ``num_envs``.

    :param env_config: world config fields, optionally ``num_envs`` (set by RLlib),
        ``rllib_normalize_reward`` (gamma) and ``rllib_spread_seeds``.
    """
    if env_id not in gym.registry:
        raise ValueError(f"env id {env_id!r} is not registered; allowed: {', '.join(ENV_IDS)}")
    fields, ours = _split_config(env_config)
    gamma = ours.get(NORMALIZE_REWARD_KEY)
    if "num_envs" not in ours:
        if gamma is not None:
            raise ValueError(
                f"{NORMALIZE_REWARD_KEY} = {gamma!r} needs the vector env; set "
                "gym_env_vectorize_mode='vector_entry_point' (roadgym train does)"
            )
        return gym.make(env_id, **fields)
    num_envs = ours["num_envs"]
    if gym.spec(env_id).vector_entry_point is None:
        raise ValueError(f"{env_id!r} registers no vector_entry_point; use 'sync' vectorization")
    env: VectorEnv = gym.make_vec(
        env_id, num_envs=num_envs, vectorization_mode="vector_entry_point", **fields
    )
    if ours.get(SPREAD_SEEDS_KEY, True):
        env = SpreadSeeds(env)
    env = RawRewardInInfo(env)
    if gamma is not None:
        if isinstance(gamma, bool) or not isinstance(gamma, (int, float)) or not 0 < gamma <= 1:
            raise ValueError(f"{NORMALIZE_REWARD_KEY} = {gamma!r}; allowed: a float in (0, 1]")
        env = NormalizeReward(env, gamma=float(gamma))
    return env


def _creator(env_id: str) -> Callable[[Mapping[str, Any]], gym.Env | VectorEnv]:
    def create(env_config: Mapping[str, Any]) -> gym.Env | VectorEnv:
        return make_rllib_env(env_id, env_config)

    return create


def register_rllib_envs() -> tuple[str, ...]:
    """Register every roadgym id (``roadgym.envs.ENV_IDS``) in RLlib's env registry.

    After this, ``PPOConfig().environment("roadgym/Track-v0", env_config={...})`` builds
    roadgym envs through :func:`make_rllib_env` in every env runner. Safe to repeat.
    Returns the registered ids.
    """
    roadgym.envs.register_envs()
    for env_id in ENV_IDS:
        register_env(env_id, _creator(env_id))
    return ENV_IDS
