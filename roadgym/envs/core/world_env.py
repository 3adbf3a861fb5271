"""The single Gymnasium env over the batch of one of a roadgym world.

:class:`TrackEnv` and :class:`TownEnv` differ only in their config, world, observation
space and bird's-eye frame; reset, step, labels, info and the window live here once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

from roadgym.envs.core.config import BaseConfig, require_single_agent
from roadgym.envs.core.rendering import HumanWindow
from roadgym.envs.core.spaces import action_space, actions_to_controls, discrete_action_table


class WorldEnv(gym.Env):
    """A Gymnasium env whose simulator is a roadgym world of batch size one.

    Subclasses set ``config_class``, ``world_class`` and ``make_observation_space``, and
    implement :meth:`_progress_line` and :meth:`_birdseye` for the render.
    """

    metadata = {"render_modes": ["human", "rgb_array"], "render_fps": 10}
    config_class: ClassVar[type[BaseConfig]]
    world_class: ClassVar[type]
    make_observation_space: ClassVar[Callable[[Any], gym.spaces.Space]]

    def __init__(
        self,
        render_mode: str | None = None,
        config: BaseConfig | Mapping[str, Any] | None = None,
        **fields: Any,
    ) -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(
                f"render_mode = {render_mode!r} is not allowed; "
                f"allowed: None, {', '.join(map(repr, self.metadata['render_modes']))}"
            )
        self.config = self.config_class.build(config, **fields)
        require_single_agent(self.config, type(self).__name__)
        self.render_mode = render_mode
        self.metadata = {
            **self.metadata,
            "render_fps": max(
                1, round(1.0 / (self.config.dt_s * getattr(self.config, "action_repeat", 1)))
            ),
        }
        self.observation_space = type(self).make_observation_space(self.config)
        self.action_space = action_space(self.config)
        self.world = self.world_class(self.config, batch_size=1)
        self.label_names = dict(self.world_class.LABEL_NAMES)
        self._needs_reset = True
        self._terminated = False  # the episode ended: step() refuses until reset()
        self._last_reward = 0.0
        self._episode_return = 0.0
        self._last_observation: dict[str, np.ndarray] = {}
        self._window: HumanWindow | None = None

    def _require_reset(self, method: str) -> None:
        if self._needs_reset:
            raise RuntimeError(
                f"{type(self).__name__}.{method}() called before reset(); call env.reset() first"
            )

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        super().reset(seed=seed)
        self.world.reset_world(0, self.np_random)
        self._needs_reset = False
        self._terminated = False
        self._last_reward = 0.0
        self._episode_return = 0.0
        observation = self._observe()
        if self.render_mode == "human":
            self.render()
        return observation, self._info()

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        self._require_reset("step")
        if self._terminated:
            # Stepping on would pay the ending penalty again every step (a collision is
            # still a collision); Gymnasium leaves this undefined, roadgym refuses it.
            raise RuntimeError(
                f"{type(self).__name__}.step() called after the episode terminated; "
                "call env.reset() to start the next episode"
            )
        controls = actions_to_controls(action, self.config, batch_size=None)
        reward, terminated = self.world.step(controls)
        self._terminated = bool(terminated[0])
        self._last_reward = float(reward[0])
        self._episode_return += self._last_reward
        observation = self._observe()
        if self.render_mode == "human":
            self.render()
        return observation, self._last_reward, bool(terminated[0]), False, self._info()

    def get_labels(self) -> dict[str, int | float]:
        """Perception labels of the current frame, without stepping."""
        self._require_reset("get_labels")
        return {k: v[0].item() for k, v in self.world.labels().items()}

    def _observe(self) -> Any:
        self._last_observation = {k: v[0] for k, v in self.world.observe().items()}
        if isinstance(self.observation_space, gym.spaces.Dict):
            return dict(self._last_observation)
        return next(iter(self._last_observation.values()))

    def _info(self) -> dict[str, Any]:
        info: dict[str, Any] = {k: v[0].item() for k, v in self.world.infos().items()}
        labels = self.get_labels()
        if self.config.flat_labels:
            info.update({f"label_{task}": value for task, value in labels.items()})
        else:
            info["labels"] = labels
        return info

    def render(self) -> np.ndarray | None:
        if self.render_mode is None:
            gym.logger.warn(
                f"{type(self).__name__}.render() called without a render_mode; nothing to draw"
            )
            return None
        self._require_reset("render")
        camera = self._last_observation.get("rgb")
        if camera is not None:
            camera = camera[..., -3:]  # the newest frame when frames are stacked
        else:
            camera = self.world.camera.rgb(self.world.semantic_view())[0]
        hud = (
            f"speed {self.world.car.speed_mps[0] * 3.6:5.1f} km/h",
            self._progress_line(),
            f"reward {self._last_reward:+.2f}  return {self._episode_return:+.1f}",
        )
        frame = self._birdseye(camera, hud)
        if self.render_mode == "rgb_array":
            return frame
        if self._window is None:
            title = f"roadgym {self.spec.id if self.spec else type(self).__name__}"
            self._window = HumanWindow(title, self.metadata["render_fps"])
        self._window.show(frame)
        return None

    def get_keys_to_action(self) -> dict[tuple[int, ...], Any]:
        """Arrow keys -> action, for ``gymnasium.utils.play.play``.

        Make the env with ``render_mode="rgb_array"``; a continuous env needs
        ``noop=np.zeros(2, np.float32)`` (``play``'s default no-op is the integer 0)::

            env = gymnasium.make("roadgym/Track-v0", render_mode="rgb_array")
            play(env, noop=np.zeros(2, np.float32))
        """
        from roadgym.envs.core.manual_control import keys_to_action

        return keys_to_action(self.config.action_type, discrete_action_table(self.config))

    def _progress_line(self) -> str:
        """The HUD line that says how far along the task the car is."""
        raise NotImplementedError

    def _birdseye(self, camera_rgb: np.ndarray, hud_lines: tuple[str, ...]) -> np.ndarray:
        """The bird's-eye RGB frame of the world with the camera inset and the HUD."""
        raise NotImplementedError

    def close(self) -> None:
        if self._window is not None:
            self._window.close()
            self._window = None
