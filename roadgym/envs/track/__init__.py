"""``roadgym/Track-v0``: laps of a procedurally generated race track.

``generator`` draws the track and its lane graph, ``world`` holds and steps a batch of
them, ``raster`` and ``render`` draw them, ``env`` and ``vector_env`` are the Gymnasium
fronts. What every world shares lives in :mod:`roadgym.envs.core`.
"""

from roadgym.envs.track.config import TrackConfig
from roadgym.envs.track.env import TrackEnv
from roadgym.envs.track.generator import TrackMap, generate_track
from roadgym.envs.track.vector_env import TrackVectorEnv
from roadgym.envs.track.world import TrackWorld

__all__ = ["TrackConfig", "TrackEnv", "TrackMap", "TrackVectorEnv", "TrackWorld", "generate_track"]
