"""``roadgym/Track-v0`` as a native Gymnasium vector env: N tracks in one batched simulator.

``gymnasium.make_vec("roadgym/Track-v0", num_envs=N, vectorization_mode="vector_entry_point")``
builds a :class:`TrackVectorEnv`; everything about seeding, autoreset modes and the info
layout is :class:`roadgym.envs.core.vector_env.WorldVectorEnv`'s.
"""

from __future__ import annotations

import numpy as np

from roadgym.envs.core.vector_env import WorldVectorEnv
from roadgym.envs.track.config import TrackConfig
from roadgym.envs.track.env import track_observation_space
from roadgym.envs.track.render import birdseye_frame
from roadgym.envs.track.world import TrackWorld


class TrackVectorEnv(WorldVectorEnv):
    """N independent Track-v0 worlds stepped together; see :class:`TrackEnv` for the task.

    World ``i`` behaves exactly like a single ``gymnasium.make("roadgym/Track-v0")``
    reset with seed ``s + i`` when this env is reset with seed ``s``. Arguments as
    :class:`WorldVectorEnv`, with a :class:`TrackConfig`.

    ## Info
    ``progress``, ``lap_completed``, ``off_road``, ``stalled``, ``speed_mps``,
    ``lateral_offset_m`` and ``labels`` (a dict with ``road_layout``), in Gymnasium's vector layout.
    """

    config_class = TrackConfig
    world_class = TrackWorld
    make_observation_space = staticmethod(track_observation_space)
    default_max_episode_steps = 1000  # as registered for the single env

    def render_world(self, index: int) -> np.ndarray:
        """The bird's-eye frame (size, size, 3) of world ``index``, with its HUD."""
        world = self.world
        camera = None if self._last_rgb is None else self._last_rgb[index]
        if camera is None:
            camera = world.camera.rgb(world.semantic_view(np.array([index])))[0]
        progress = min(world.progress_m[index] / world.track_length_m[index], 1.0)
        hud = (
            f"speed {world.car.speed_mps[index] * 3.6:5.1f} km/h",
            f"progress {100 * progress:5.1f} %",
            f"reward {self._last_reward[index]:+.2f}  return {self._episode_return[index]:+.1f}",
        )
        return birdseye_frame(world, index, self.config.render_size_px, camera, hud)
