"""``roadgym/Highway-v0`` and ``roadgym/Merge-v0``: multi-lane traffic with IDM and MOBIL.

``generator`` draws the road as a lane graph, ``state`` holds a batch of worlds' arrays,
``traffic`` steps the NPC cars, ``ego`` the ego car, ``observation`` makes the vector
observations and labels, ``raster`` and ``render`` draw, ``world`` ties them together,
``env`` and ``vector_env`` are the Gymnasium fronts with highway-env's interface.
"""

from roadgym.envs.highway import env as _env
from roadgym.envs.highway.config import HighwayConfig, MergeConfig
from roadgym.envs.highway.env import HighwayWorldEnv, MergeWorldEnv
from roadgym.envs.highway.generator import HighwayMap, generate_highway
from roadgym.envs.highway.vector_env import HighwayVectorEnv, MergeVectorEnv
from roadgym.envs.highway.world import HighwayWorld

__all__ = [
    "HighwayConfig",
    "HighwayMap",
    "HighwayVectorEnv",
    "HighwayWorldEnv",
    "HighwayWorld",
    "MergeConfig",
    "MergeVectorEnv",
    "MergeWorldEnv",
    "generate_highway",
]


def __getattr__(name: str) -> type:
    """``HighwayEnv`` and ``MergeEnv``: the 0.1 names, deprecated (see ``env``)."""
    return _env.__getattr__(name)
