"""``roadgym/Town-v0`` as a native Gymnasium vector env: N towns in one batched simulator.

Everything about seeding, autoreset modes and the info layout is
:class:`roadgym.envs.core.vector_env.WorldVectorEnv`'s; only the config, spaces, world,
labels and the bird's-eye frames are Town's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from roadgym.envs.core.vector_env import WorldVectorEnv
from roadgym.envs.town.config import TownConfig
from roadgym.envs.town.env import town_observation_space
from roadgym.envs.town.world import TownWorld


class TownVectorEnv(WorldVectorEnv):
    """N independent Town-v0 worlds stepped together; see :class:`TownEnv` for the task.

    World ``i`` behaves like a single ``gymnasium.make("roadgym/Town-v0")`` reset with
    seed ``s + i`` when this env is reset with seed ``s``. Arguments as
    :class:`WorldVectorEnv`, with a :class:`TownConfig`.
    """

    config_class = TownConfig
    world_class = TownWorld
    make_observation_space = staticmethod(town_observation_space)
    default_max_episode_steps = 2000  # as registered for the single env

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._renderers: dict[tuple[int, int], Any] = {}  # (world, agent) -> renderer

    def _reset_worlds(self, indices: np.ndarray, seeds: Sequence[int | None] | None = None) -> None:
        super()._reset_worlds(indices, seeds)
        self.forget_renders(indices)

    def forget_renders(self, indices: np.ndarray) -> None:
        """Drop the cached bird's-eye maps of worlds ``indices`` (their towns are new)."""
        for key in [key for key in self._renderers if key[0] in set(indices.tolist())]:
            del self._renderers[key]

    def render_world(self, index: int, agent: int = 0) -> np.ndarray:
        """The bird's-eye frame (size, size, 3) of world ``index`` around its controlled
        car ``agent``, with that car's HUD."""
        from roadgym.envs.town.render import TownRenderer

        world = self.world
        car = index * world.num_agents + agent
        if (index, agent) not in self._renderers:
            size = self.config.render_size_px
            self._renderers[index, agent] = TownRenderer(world, index, size, agent)
        camera = None if self._last_rgb is None else self._last_rgb[car]
        if camera is None:
            camera = world.camera.rgb(world.semantic_view())[car]
        completion = world.infos()["route_completion"][car]
        hud = (
            f"speed {world.car.speed_mps[car] * 3.6:5.1f} km/h",
            f"route {100 * completion:5.1f} %",
            f"reward {self._last_reward[car]:+.2f}  return {self._episode_return[car]:+.1f}",
        )
        return self._renderers[index, agent].frame(camera, hud)
