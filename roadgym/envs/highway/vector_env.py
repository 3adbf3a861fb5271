"""``roadgym/Highway-v0`` and ``Merge-v0`` as native Gymnasium vector envs.

Seeding, autoreset modes and the info layout are
:class:`roadgym.envs.core.vector_env.WorldVectorEnv`'s; truncation comes from each
world's simulated time (``duration_s``), as in the single env.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from roadgym.envs.core.vector_env import WorldVectorEnv
from roadgym.envs.highway.config import HighwayConfig, MergeConfig
from roadgym.envs.highway.env import highway_observation_space
from roadgym.envs.highway.render import birdseye_frame
from roadgym.envs.highway.world import HighwayWorld


class HighwayVectorEnv(WorldVectorEnv):
    """N independent Highway-v0 worlds stepped together; see :class:`HighwayWorldEnv`.

    World ``i`` behaves exactly like a single ``gymnasium.make("roadgym/Highway-v0")``
    reset with seed ``s + i`` when this env is reset with seed ``s``. Arguments as
    :class:`WorldVectorEnv`, with a :class:`HighwayConfig`; episodes are truncated after
    ``duration_s`` simulated seconds (and after ``max_episode_steps`` when given).
    """

    config_class = HighwayConfig
    world_class = HighwayWorld
    make_observation_space = staticmethod(highway_observation_space)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.metadata = {**self.metadata, "render_fps": self.config.policy_frequency_hz}

    def _truncated(self) -> np.ndarray:
        return super()._truncated() | self.world.truncated

    def render_world(self, index: int, agent: int = 0) -> np.ndarray:
        """The bird's-eye frame (size, size, 3) of world ``index`` around its controlled
        car ``agent``, with that car's HUD."""
        world = self.world
        car = index * world.num_agents + agent
        camera = None if self._last_rgb is None else self._last_rgb[car]
        if camera is None:
            camera = world.camera.rgb(world.semantic_view())[car]
        hud = (
            f"speed {world.car.speed_mps[car] * 3.6:5.1f} km/h",
            f"lane {world.ego_lane_index[car]}  t {world.time_s[index]:4.1f} s",
            f"reward {self._last_reward[car]:+.2f}  return {self._episode_return[car]:+.1f}",
        )
        size = self.config.render_size_px
        return birdseye_frame(world, index, size, camera, hud, agent=agent)


class MergeVectorEnv(HighwayVectorEnv):
    """N independent Merge-v0 worlds stepped together; see :class:`MergeWorldEnv`."""

    config_class = MergeConfig
