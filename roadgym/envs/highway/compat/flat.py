"""Highway and Merge with the kinematics table flattened to one vector, for clients that
take only an id and feed observations to an MLP on 1-D input (CleanRL's ``--env-id``).

``roadgym/Highway-state-discrete-v0`` and ``roadgym/Merge-state-discrete-v0``: roadgym's
Highway-v0 / Merge-v0 with ``observation="kinematics"`` (the (V, F) table flattened row
by row to (V * F,)) and ``action_type="meta"`` (highway-env's DiscreteMetaAction), single
and native vector env alike.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces

from roadgym.envs.core.config import ConfigError
from roadgym.envs.highway.config import HighwayConfig, MergeConfig
from roadgym.envs.highway.env import HighwayWorldEnv, highway_observation_space
from roadgym.envs.highway.vector_env import HighwayVectorEnv


def flat_kinematics_space(config: HighwayConfig) -> spaces.Box:
    """The kinematics Box (V, F) flattened to (V * F,); only ``observation="kinematics"``."""
    if config.observation != "kinematics":
        raise ConfigError(
            f"{type(config).__name__}.observation = {config.observation!r} is not allowed on "
            "the state-discrete ids; allowed: 'kinematics' (use roadgym/Highway-v0 for others)"
        )
    return spaces.flatten_space(highway_observation_space(config))


def _flat(array: np.ndarray) -> np.ndarray:
    return array.reshape(*array.shape[:-2], -1)  # (..., V, F) -> (..., V * F)


class HighwayFlatEnv(HighwayWorldEnv):
    """:class:`HighwayWorldEnv` whose kinematics observation is one vector (V * F,)."""

    make_observation_space = staticmethod(flat_kinematics_space)

    def _observe(self) -> Any:
        return _flat(super()._observe())


class MergeFlatEnv(HighwayFlatEnv):
    """:class:`MergeWorldEnv`'s world with the flattened kinematics observation."""

    config_class = MergeConfig


class HighwayFlatVectorEnv(HighwayVectorEnv):
    """N worlds of :class:`HighwayFlatEnv`, batched (B, V * F)."""

    make_observation_space = staticmethod(flat_kinematics_space)

    def _format(self, observations: dict[str, np.ndarray]) -> Any:
        return _flat(super()._format(observations))


class MergeFlatVectorEnv(HighwayFlatVectorEnv):
    """N worlds of :class:`MergeFlatEnv`, batched."""

    config_class = MergeConfig
