"""roadgym environments: batched top-down driving worlds with Gymnasium fronts.

Importing this module registers the env ids; registering again is harmless.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym

from roadgym.envs.config import ConfigError, TrackConfig
from roadgym.envs.semantic import PALETTE, SemanticClass
from roadgym.envs.town import TownConfig, TownEnv, TownWorld
from roadgym.envs.track_env import TrackEnv
from roadgym.envs.track_world import DISCRETE_ACTION_NAMES, DISCRETE_ACTIONS, TrackWorld
from roadgym.envs.vector_env import TrackVectorEnv

# Every env id with its Gymnasium registration; ENV_IDS and register_envs read this one table.
_REGISTRATIONS = {
    "roadgym/Track-v0": {
        "entry_point": "roadgym.envs.track_env:TrackEnv",
        "vector_entry_point": "roadgym.envs.vector_env:TrackVectorEnv",
        "max_episode_steps": 1000,
    },
    "roadgym/Town-v0": {
        "entry_point": "roadgym.envs.town.env:TownEnv",
        "vector_entry_point": "roadgym.envs.town.vector_env:TownVectorEnv",
        "max_episode_steps": 2000,
    },
}
ENV_IDS = tuple(_REGISTRATIONS)


def register_envs() -> None:
    """Register every roadgym env id with Gymnasium (safe to call repeatedly)."""
    for env_id, registration in _REGISTRATIONS.items():
        if env_id not in gym.registry:
            gym.register(id=env_id, **registration)


def make_sb3_vec_env(
    env_id: str = "roadgym/Track-v0", n_envs: int = 8, seed: int | None = None, **config: Any
) -> Any:
    """A stable-baselines3 ``VecEnv`` of ``n_envs`` worlds in one batched simulator.

    See :func:`roadgym.envs.sb3_vec_env.make_sb3_vec_env`; imported on call so that
    ``roadgym.envs`` needs neither torch nor stable-baselines3.
    """
    from roadgym.envs.sb3_vec_env import make_sb3_vec_env as make

    return make(env_id, n_envs, seed=seed, **config)


register_envs()

__all__ = [
    "ConfigError",
    "DISCRETE_ACTIONS",
    "DISCRETE_ACTION_NAMES",
    "ENV_IDS",
    "PALETTE",
    "SemanticClass",
    "TownConfig",
    "TownEnv",
    "TownWorld",
    "TrackConfig",
    "TrackEnv",
    "TrackVectorEnv",
    "TrackWorld",
    "make_sb3_vec_env",
    "register_envs",
]
