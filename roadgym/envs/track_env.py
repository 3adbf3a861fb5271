"""``roadgym/Track-v0``: drive laps of a procedurally generated race track from pixels."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import gymnasium as gym
import numpy as np

from roadgym.envs.config import TrackConfig
from roadgym.envs.rendering import HumanWindow, birdseye_frame
from roadgym.envs.spaces import action_space, actions_to_controls, observation_space
from roadgym.envs.track_world import ROAD_LAYOUT_CLASSES, TrackWorld


class TrackEnv(gym.Env):
    """Drive laps of a procedurally generated closed-loop track, seen from above.

    ## Description
    Every seed draws a new smooth, non-self-intersecting loop of 1 to 3 lanes. The car
    starts on the start line, at rest, in a random lane, and must complete one lap
    (clockwise or counter-clockwise, by seed) without leaving the road. The simulator
    is the batch of one of :class:`roadgym.envs.track_world.TrackWorld`.

    ## Action Space
    ``continuous`` (default): ``Box(-1, 1, (2,), float32)`` = [steer, throttle]. Steer
    -1 is full left and +1 full right (as in CarRacing); throttle > 0 accelerates and
    < 0 brakes. Values outside [-1, 1] are clipped; NaN, inf or a wrong shape raise
    ``ValueError``. ``discrete``: ``Discrete(9)``, see ``DISCRETE_ACTIONS``.

    ## Observation Space
    ``rgb`` (default): ``Box(0, 255, (H, W, 3), uint8)``, an ego-centric top-down camera
    with the car pointing up and ``camera_ahead_fraction`` of the view ahead.
    ``semantic``: ``Box(0, 5, (H, W), uint8)`` class ids (see ``SemanticClass``).
    ``state``: ``Box(-inf, inf, (4 + D,), float32)`` = speed / top speed, lateral
    offset / road half-width, heading error (rad), steer / max steer, then the road
    curvature (1/m, + left) at each of ``curvature_lookahead_m``. Modes joined by '+'
    give a ``Dict``. ``frame_stack=k`` > 1 stacks the last k frames of each mode along
    its last axis, oldest first (rgb (H, W, 3k), semantic (H, W, k), state (k (4 + D),)).

    ## Rewards
    ``lap_reward * (progress along the centreline) / (track length)`` per step, so a
    full lap sums to ``lap_reward`` (100 by default); minus ``step_penalty`` each step;
    minus ``off_road_penalty`` on leaving the road.

    ## Episode End
    Terminated when a corner of the car leaves the road, or when the lap is complete
    (``info["lap_completed"]``). Truncated at ``max_episode_steps`` (1000 by default).

    ## Info
    ``progress`` (fraction of the lap, 0..1), ``lap_completed``, ``off_road``,
    ``speed_mps``, ``lateral_offset_m`` (from the road centre, + left), and ``labels``
    (``{"road_layout": 0 straight | 1 curve_left | 2 curve_right}``).

    ## Arguments
    ``gymnasium.make("roadgym/Track-v0", render_mode=None, config=None, **fields)``
    where ``config`` is a :class:`TrackConfig` or a mapping and ``fields`` override it.

    ## Version History
    * v0: first version.
    """

    metadata = {"render_modes": ["human", "rgb_array"], "render_fps": 10}

    def __init__(
        self,
        render_mode: str | None = None,
        config: TrackConfig | Mapping[str, Any] | None = None,
        **fields: Any,
    ) -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(
                f"render_mode = {render_mode!r} is not allowed; "
                f"allowed: None, {', '.join(map(repr, self.metadata['render_modes']))}"
            )
        self.config = TrackConfig.build(config, **fields)
        self.render_mode = render_mode
        self.metadata = {**self.metadata, "render_fps": round(1.0 / self.config.dt_s)}
        self.observation_space = observation_space(self.config)
        self.action_space = action_space(self.config)
        self.world = TrackWorld(self.config, batch_size=1)
        self.label_names = {"road_layout": ROAD_LAYOUT_CLASSES}
        self._needs_reset = True
        self._last_reward = 0.0
        self._episode_return = 0.0
        self._last_observation: dict[str, np.ndarray] = {}
        self._window: HumanWindow | None = None

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        super().reset(seed=seed)
        self.world.reset_world(0, self.np_random)
        self._needs_reset = False
        self._last_reward = 0.0
        self._episode_return = 0.0
        observation = self._observe()
        if self.render_mode == "human":
            self.render()
        return observation, self._info()

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        if self._needs_reset:
            raise RuntimeError("TrackEnv.step() called before reset(); call env.reset() first")
        controls = actions_to_controls(action, self.config, batch_size=None)
        reward, terminated = self.world.step(controls)
        self._last_reward = float(reward[0])
        self._episode_return += self._last_reward
        observation = self._observe()
        if self.render_mode == "human":
            self.render()
        return observation, self._last_reward, bool(terminated[0]), False, self._info()

    def get_labels(self) -> dict[str, int]:
        """Perception labels of the current frame, without stepping."""
        if self._needs_reset:
            raise RuntimeError(
                "TrackEnv.get_labels() called before reset(); call env.reset() first"
            )
        return {"road_layout": int(self.world.road_layout()[0])}

    def _observe(self) -> Any:
        self._last_observation = {k: v[0] for k, v in self.world.observe().items()}
        if isinstance(self.observation_space, gym.spaces.Dict):
            return dict(self._last_observation)
        return next(iter(self._last_observation.values()))

    def _info(self) -> dict[str, Any]:
        info = {k: v[0].item() for k, v in self.world.infos().items()}
        info["labels"] = {"road_layout": info.pop("road_layout")}
        return info

    def render(self) -> np.ndarray | None:
        if self.render_mode is None:
            gym.logger.warn("TrackEnv.render() called without a render_mode; nothing to draw")
            return None
        if self._needs_reset:
            raise RuntimeError("TrackEnv.render() called before reset(); call env.reset() first")
        camera = self._last_observation.get("rgb")
        if camera is not None:
            camera = camera[..., -3:]  # the newest frame when frames are stacked
        else:
            camera = self.world.camera.rgb(self.world.semantic_view())[0]
        world = self.world
        hud = (
            f"speed {world.car.speed_mps[0] * 3.6:5.1f} km/h",
            f"progress {100 * min(world.progress_m[0] / world.track_length_m[0], 1.0):5.1f} %",
            f"reward {self._last_reward:+.2f}  return {self._episode_return:+.1f}",
        )
        frame = birdseye_frame(world, 0, self.config.render_size_px, camera, hud)
        if self.render_mode == "rgb_array":
            return frame
        if self._window is None:
            self._window = HumanWindow("roadgym Track-v0", self.metadata["render_fps"])
        self._window.show(frame)
        return None

    def close(self) -> None:
        if self._window is not None:
            self._window.close()
            self._window = None
