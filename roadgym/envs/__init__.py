"""roadgym environments: batched top-down driving worlds with Gymnasium fronts.

Importing this module registers the env ids; registering again is harmless.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym

from roadgym.envs.core.config import ConfigError, WorldConfig
from roadgym.envs.core.semantic import PALETTE, SemanticClass
from roadgym.envs.core.spaces import DISCRETE_ACTION_NAMES, DISCRETE_ACTIONS
from roadgym.envs.core.vector_env import WorldVectorEnv
from roadgym.envs.town import TownConfig, TownEnv, TownVectorEnv, TownWorld
from roadgym.envs.track import TrackConfig, TrackEnv, TrackVectorEnv, TrackWorld

# Every env id with its Gymnasium registration; ENV_IDS and register_envs read this one table.
# A new world is a folder beside track/ and town/ and one row here.
_REGISTRATIONS = {
    "roadgym/Track-v0": {
        "entry_point": "roadgym.envs.track.env:TrackEnv",
        "vector_entry_point": "roadgym.envs.track.vector_env:TrackVectorEnv",
        "max_episode_steps": 1000,
    },
    "roadgym/Town-v0": {
        "entry_point": "roadgym.envs.town.env:TownEnv",
        "vector_entry_point": "roadgym.envs.town.vector_env:TownVectorEnv",
        "max_episode_steps": 2000,
    },
    # Highway and Merge truncate at their config's duration_s (simulated seconds).
    "roadgym/Highway-v0": {
        "entry_point": "roadgym.envs.highway.env:HighwayWorldEnv",
        "vector_entry_point": "roadgym.envs.highway.vector_env:HighwayVectorEnv",
    },
    "roadgym/Merge-v0": {
        "entry_point": "roadgym.envs.highway.env:MergeWorldEnv",
        "vector_entry_point": "roadgym.envs.highway.vector_env:MergeVectorEnv",
    },
    # highway-env's ids with its defaults and config API (docs/highway-env.md).
    "roadgym/highway-v0": {"entry_point": "roadgym.envs.highway.compat.env:HighwayEnvCompat"},
    "roadgym/highway-fast-v0": {
        "entry_point": "roadgym.envs.highway.compat.env:HighwayFastEnvCompat"
    },
    "roadgym/merge-v0": {"entry_point": "roadgym.envs.highway.compat.env:MergeEnvCompat"},
    # For clients that take only an id (CleanRL's --env-id): a flat vector observation and
    # discrete actions on each world (docs/highway-env.md, "Id-only variants").
    "roadgym/Track-state-discrete-v0": {
        "entry_point": "roadgym.envs.track.env:TrackEnv",
        "vector_entry_point": "roadgym.envs.track.vector_env:TrackVectorEnv",
        "max_episode_steps": 1000,
        "kwargs": {"observation": "state", "action_type": "discrete"},
    },
    "roadgym/Town-state-discrete-v0": {
        "entry_point": "roadgym.envs.town.env:TownEnv",
        "vector_entry_point": "roadgym.envs.town.vector_env:TownVectorEnv",
        "max_episode_steps": 2000,
        "kwargs": {"observation": "state", "action_type": "discrete"},
    },
    # Highway's vector observation is its (V, F) kinematics table, flattened to (V * F,).
    "roadgym/Highway-state-discrete-v0": {
        "entry_point": "roadgym.envs.highway.compat.flat:HighwayFlatEnv",
        "vector_entry_point": "roadgym.envs.highway.compat.flat:HighwayFlatVectorEnv",
        "kwargs": {"observation": "kinematics", "action_type": "meta"},
    },
    "roadgym/Merge-state-discrete-v0": {
        "entry_point": "roadgym.envs.highway.compat.flat:MergeFlatEnv",
        "vector_entry_point": "roadgym.envs.highway.compat.flat:MergeFlatVectorEnv",
        "kwargs": {"observation": "kinematics", "action_type": "meta"},
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

    See :func:`roadgym.envs.core.sb3_vec_env.make_sb3_vec_env`; imported on call so that
    ``roadgym.envs`` needs neither torch nor stable-baselines3.
    """
    from roadgym.envs.core.sb3_vec_env import make_sb3_vec_env as make

    return make(env_id, n_envs, seed=seed, **config)


register_envs()

__all__ = [
    "ConfigError",
    "WorldConfig",
    "WorldVectorEnv",
    "DISCRETE_ACTIONS",
    "DISCRETE_ACTION_NAMES",
    "ENV_IDS",
    "PALETTE",
    "SemanticClass",
    "TownConfig",
    "TownEnv",
    "TownVectorEnv",
    "TownWorld",
    "TrackConfig",
    "TrackEnv",
    "TrackVectorEnv",
    "TrackWorld",
    "make_sb3_vec_env",
    "register_envs",
]
