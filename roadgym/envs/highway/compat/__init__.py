"""highway-env compatibility: ``roadgym/highway-v0``, ``roadgym/highway-fast-v0`` and
``roadgym/merge-v0`` take highway-env's config dicts, spaces and info keys, so a
highway-env script runs with only the id changed.

A translation layer over :class:`roadgym.envs.highway.HighwayWorldEnv`: ``keys`` maps
highway-env's keys onto :class:`HighwayConfig` fields (which validate them) and refuses
what roadgym cannot do; ``observations``, ``grayscale`` and ``actions`` are its
observation and action types (typed option sets, batched arrays); ``view`` is the
``env.unwrapped.config`` mapping; ``env`` the Gymnasium envs. See docs/highway-env.md.
"""

from roadgym.envs.highway.compat.env import (
    HighwayEnvCompat,
    HighwayFastEnvCompat,
    MergeEnvCompat,
)
from roadgym.envs.highway.compat.keys import DEFAULTS, translate

__all__ = ["DEFAULTS", "HighwayEnvCompat", "HighwayFastEnvCompat", "MergeEnvCompat", "translate"]
