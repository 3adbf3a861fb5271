"""roadgym environments: batched top-down driving worlds with Gymnasium fronts.

Importing this module registers the env ids; registering again is harmless.
"""

from __future__ import annotations

import gymnasium as gym

from roadgym.envs.config import ConfigError, TrackConfig
from roadgym.envs.semantic import PALETTE, SemanticClass
from roadgym.envs.track_env import TrackEnv
from roadgym.envs.track_world import DISCRETE_ACTION_NAMES, DISCRETE_ACTIONS, TrackWorld

ENV_IDS = ("roadgym/Track-v0",)


def register_envs() -> None:
    """Register every roadgym env id with Gymnasium (safe to call repeatedly)."""
    if "roadgym/Track-v0" not in gym.registry:
        gym.register(
            id="roadgym/Track-v0",
            entry_point="roadgym.envs.track_env:TrackEnv",
            vector_entry_point="roadgym.envs.vector_env:TrackVectorEnv",
            max_episode_steps=1000,
        )


register_envs()

__all__ = [
    "ConfigError",
    "DISCRETE_ACTIONS",
    "DISCRETE_ACTION_NAMES",
    "ENV_IDS",
    "PALETTE",
    "SemanticClass",
    "TrackConfig",
    "TrackEnv",
    "TrackWorld",
    "register_envs",
]
