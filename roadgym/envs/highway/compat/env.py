"""``roadgym/highway-v0``, ``roadgym/highway-fast-v0``, ``roadgym/merge-v0``: roadgym's
highway with highway-env's defaults, configuration API, spaces and info keys."""

from __future__ import annotations

import copy
import dataclasses
import warnings
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
from gymnasium import spaces

from roadgym.envs.core.spaces import actions_to_controls
from roadgym.envs.highway.compat.actions import DiscreteMetaAction
from roadgym.envs.highway.compat.grayscale import GrayscaleObservation, push_frames
from roadgym.envs.highway.compat.keys import (
    MERGE_END_AFTER_RAMP_M,
    ROADGYM_KEY,
    Translation,
    default_config,
    translate,
)
from roadgym.envs.highway.compat.observations import (
    KinematicsObservation,
    observe_kinematics,
    observe_occupancy_grid,
)
from roadgym.envs.highway.compat.view import HighwayEnvConfig
from roadgym.envs.highway.config import MergeConfig
from roadgym.envs.highway.env import HighwayWorldEnv
from roadgym.envs.highway.world import HighwayWorld


class HighwayEnvCompat(HighwayWorldEnv):
    """roadgym's highway behind highway-env's interface (its ``highway-v0``).

    ## Arguments
    ``gymnasium.make("roadgym/highway-v0", config=None, render_mode=None)``: ``config``
    is a highway-env config dict (its key names, nested ``{"type": ...}`` observation and
    action dicts). ``env.unwrapped.configure(dict)``, ``env.unwrapped.config[key] = value``
    and ``config.update(...)`` take effect at the next ``reset()``, as in highway-env;
    ``reset(options={"config": {...}})`` too. Keyword arguments are roadgym
    ``HighwayConfig`` fields, as under the ``"roadgym"`` key. See ``docs/highway-env.md``
    for every key, its roadgym field, and what is not supported (refused with an error
    naming the key).

    ## Observation Space
    highway-env's ``Kinematics`` (default), ``OccupancyGrid`` or ``GrayscaleObservation``,
    with their options; see ``roadgym.envs.highway.compat.observations`` and ``grayscale``.

    ## Action Space
    ``DiscreteMetaAction`` (default) or ``ContinuousAction`` ([acceleration, steering]).

    ## Info
    highway-env's ``speed`` (m/s), ``crashed``, ``action`` (the action taken; None after
    reset) and ``rewards`` (the reward's terms before weighting), beside roadgym's keys.

    ## Version History
    * v0: first version.
    """

    env_name: ClassVar[str] = "highway-v0"

    def __init__(
        self,
        config: Mapping[str, Any] | None = None,
        render_mode: str | None = None,
        **fields: Any,
    ) -> None:
        values = default_config(self.env_name)
        values.update(dict(config or {}))
        if fields:  # roadgym's own field names (roadgym's tools pass them): the roadgym key
            values[ROADGYM_KEY] = {**dict(values.get(ROADGYM_KEY) or {}), **fields}
        translation = translate(self.env_name, values)
        # The single-agent front builds with one car; _apply makes the world of several.
        single = dataclasses.replace(translation.world, num_agents=1)
        super().__init__(render_mode=render_mode, config=single)
        self.config = HighwayEnvConfig(self.env_name, values, translation)
        self._apply(translation)
        self._record_video_wrapper = None

    @classmethod
    def default_config(cls) -> dict[str, Any]:
        """highway-env's defaults of this id (a fresh dict)."""
        return default_config(cls.env_name)

    def configure(self, config: Mapping[str, Any] | None) -> None:
        """highway-env's ``configure``: update the config; it takes effect at the next reset."""
        if config:
            self.config.update(config)

    @property
    def translation(self) -> Translation:
        """The roadgym configuration in effect (world config, observation, action options)."""
        return self.config.translation

    def _apply(self, translation: Translation) -> None:
        """Use ``translation``: a new world when roadgym's config changed, new spaces."""
        if translation.world != self.world.config:
            self.world = HighwayWorld(translation.world, batch_size=1)
        self.config.translation = translation
        observation = translation.observation
        if isinstance(observation, KinematicsObservation):
            single = observation.space(observation.ranges(self.world))
        else:
            single = observation.space()
        cars = translation.world.num_agents
        # MultiAgentObservation / MultiAgentAction: a Tuple, one space per controlled car.
        self.observation_space = (
            spaces.Tuple([copy.deepcopy(single) for _ in range(cars)])
            if translation.multi_agent_observation
            else single
        )
        action = translation.action.space()
        self.action_space = (
            spaces.Tuple([copy.deepcopy(action) for _ in range(cars)])
            if translation.multi_agent_action
            else action
        )
        self.metadata = {**self.metadata, "render_fps": translation.world.policy_frequency_hz}
        self._frames: np.ndarray | None = None  # the grayscale stacks, (C, K, W, H)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        if options and "config" in options:
            self.configure(options["config"])
        self._apply(translate(self.env_name, self.config.values_dict()))
        observation, info = super().reset(seed=seed)
        return observation, self._highway_info(info, None)

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        self._require_reset("step")
        if self.world.num_agents > 1:
            return self._step_cars(action)
        observation, reward, terminated, truncated, info = super().step(
            self.translation.action.to_world(action)
        )
        if self.translation.merge:
            cfg = self.world.config
            # highway-env's merge-v0 ends once the ego car is past the ramp (x > 370 m).
            end_m = cfg.ramp_join_m + cfg.ramp_merge_length_m + MERGE_END_AFTER_RAMP_M
            terminated = terminated or info["distance_m"] > end_m
            self._terminated = terminated
            terms = self._reward_terms(action)
            reward = self._merge_reward(terms)
            self._episode_return += reward - self._last_reward
            self._last_reward = reward
        return observation, reward, terminated, truncated, self._highway_info(info, action)

    # ------------------------------------------------------------------ highway-env's parts

    def _observe(self) -> Any:
        """highway-env's observation: car 0's, or a tuple of every car's (MultiAgent)."""
        per_car = self._observe_cars()
        if self.translation.multi_agent_observation:
            return tuple(per_car[i].copy() for i in range(len(per_car)))
        return per_car[0].copy()

    def _observe_cars(self) -> np.ndarray:
        """The observation of every controlled car (C, ...)."""
        world, options = self.world, self.translation.observation
        self._last_observation = {}
        if isinstance(options, KinematicsObservation):
            return observe_kinematics(world, options, self.np_random)
        if isinstance(options, GrayscaleObservation):
            rgb = world.observe()["rgb"]  # (C, S, S, 3): every car's camera
            self._last_observation = {"rgb": rgb[0]}
            if self._frames is None:  # reset: highway-env starts from a zero stack
                self._frames = np.zeros((len(rgb), *options.space().shape), np.uint8)
            self._frames = push_frames(self._frames, options.grey(rgb))
            return self._frames
        return observe_occupancy_grid(world, options)

    def _step_cars(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        """A step with several controlled cars: ``action`` is a tuple of one action per
        car (MultiAgentAction), or car 0's alone (the others then keep their lane and
        speed, or coast, as highway-env's controlled cars without an action do).

        As highway-env's highway-v0, the reward and ``terminated`` are car 0's; every
        car's are in ``info["agents_rewards"]`` and ``info["agents_terminated"]`` (what
        highway-env's ``MultiAgentWrapper`` reads).
        """
        translation, cars = self.translation, self.world.num_agents
        if translation.multi_agent_action:
            if not isinstance(action, (tuple, list)) or len(action) != cars:
                raise ValueError(
                    f"action = {action!r} is not allowed; MultiAgentAction takes a tuple of "
                    f"{cars} actions, one per controlled car"
                )
            actions = [translation.action.to_world(a) for a in action]
        else:
            rest = translation.action.to_world(
                1 if isinstance(translation.action, DiscreteMetaAction) else
                np.zeros(translation.action.size)
            )  # fmt: skip
            actions = [translation.action.to_world(action)] + [rest] * (cars - 1)
        controls = actions_to_controls(np.asarray(actions), self.world.config, batch_size=cars)
        rewards, ended = self.world.step(controls)
        self._terminated = bool(ended[0])
        self._last_reward = float(rewards[0])
        self._episode_return += self._last_reward
        observation = self._observe()
        if self.render_mode == "human":
            self.render()
        info = self._highway_info(self._info(), action)
        info["agents_rewards"] = tuple(float(r) for r in rewards)
        info["agents_terminated"] = tuple(bool(e) for e in ended)
        truncated = bool(self.world.truncated[0])
        return observation, self._last_reward, self._terminated, truncated, info

    def _reward_terms(self, action: Any) -> dict[str, float]:
        """highway-env's ``_rewards``: the reward's terms before weighting."""
        world, cfg = self.world, self.world.config
        n = world.num_npcs
        low, high = cfg.reward_speed_range_mps
        speed = float(world.car.speed_mps[0])
        if not self.translation.merge:
            lane = world.ego_target_lane if cfg.action_type == "meta" else world.ego_lane_index
            forward = speed * float(np.cos(world.own(world.veh_heading_error)[0]))
            return {
                "collision_reward": float(world.crashed[0]),
                "right_lane_reward": min(int(lane[0]), cfg.lanes_count - 1)
                / max(cfg.lanes_count - 1, 1),
                "high_speed_reward": float(np.clip((forward - low) / (high - low), 0.0, 1.0)),
                "on_road_reward": float(not world.off_road[0]),
            }
        on_ramp = (world.veh_lane[0, :n] == cfg.lanes_count) & world.ramp_beside(
            np.zeros(n, dtype=np.int64), world.veh_s[0, :n]
        )
        desired = world.veh_desired_mps[0, :n]
        merging = (desired - world.veh_speed[0, :n]) / desired
        names = getattr(self.translation.action, "names", ())
        lane_change = action is not None and bool(names) and names[int(action)] in (
            "LANE_LEFT", "LANE_RIGHT"
        )  # fmt: skip
        return {
            "collision_reward": float(world.crashed[0]),
            "right_lane_reward": float(world.ego_lane_index[0]),
            "high_speed_reward": (speed - low) / (high - low),
            "lane_change_reward": float(lane_change),
            "merging_speed_reward": float(merging[on_ramp].sum()),
        }

    def _merge_reward(self, terms: dict[str, float]) -> float:
        """highway-env's merge reward: the weighted terms mapped from [collision +
        merging speed, high speed + right lane] to [0, 1]."""
        hw = self.config.values_dict()
        total = sum(float(hw.get(name, 0.0)) * value for name, value in terms.items())
        worst = float(hw["collision_reward"]) + float(hw["merging_speed_reward"])
        best = float(hw["high_speed_reward"]) + float(hw["right_lane_reward"])
        return (total - worst) / (best - worst)

    def _highway_info(self, info: dict[str, Any], action: Any) -> dict[str, Any]:
        info["speed"] = info["speed_mps"]
        info["crashed"] = bool(info["crashed"])
        info["action"] = action
        info["rewards"] = self._reward_terms(action)
        return info

    def get_available_actions(self) -> list[int]:
        """highway-env's ``get_available_actions`` (DiscreteMetaAction, car 0): IDLE, the
        lane changes towards lanes that exist beside the car, FASTER / SLOWER unless at
        the top / bottom target speed; indices in this env's action table, ascending."""
        action = self.translation.action
        if not isinstance(action, DiscreteMetaAction):
            raise TypeError(
                "get_available_actions() needs a DiscreteMetaAction action type; this env "
                f"has {type(action).__name__}"
            )
        self._require_reset("get_available_actions")
        world, cfg = self.world, self.world.config
        lane, speed = int(world.ego_target_lane[0]), int(world.ego_speed_index[0])
        s = world.own(world.veh_s)[:1]
        ramp = bool(cfg.on_ramp and world.ramp_beside(np.zeros(1, dtype=np.int64), s)[0])
        right_limit = cfg.lanes_count if ramp else cfg.lanes_count - 1
        available = {
            "IDLE": True,
            "LANE_LEFT": 0 < lane <= right_limit and (lane < cfg.lanes_count or ramp),
            "LANE_RIGHT": lane < right_limit,
            "FASTER": speed < len(cfg.target_speeds_mps) - 1,
            "SLOWER": speed > 0,
        }
        return [i for i, name in enumerate(action.names) if available[name]]

    def set_record_video_wrapper(self, wrapper: Any) -> None:
        """highway-env's hook for recording the frames between actions.

        roadgym steps the simulation inside one batched call, so a video gets one frame
        per action; this sets the wrapper's frame rate to the policy frequency and says so.
        """
        warnings.warn(
            "roadgym records one video frame per action (highway-env also records the "
            "simulation steps between actions); frames_per_sec set to the policy frequency",
            stacklevel=2,
        )
        self._record_video_wrapper = wrapper
        wrapper.frames_per_sec = self.metadata["render_fps"]


class HighwayFastEnvCompat(HighwayEnvCompat):
    """highway-env's ``highway-fast-v0`` on roadgym: 5 Hz simulation, 3 lanes, 20 cars, 30 s.

    ## Version History
    * v0: first version.
    """

    env_name: ClassVar[str] = "highway-fast-v0"


class MergeEnvCompat(HighwayEnvCompat):
    """highway-env's ``merge-v0`` on roadgym: two lanes, an on-ramp 200 m ahead whose
    merge lane runs 80 m, three cars on the road and one on the ramp; the episode ends on
    a collision or 60 m past the ramp's end (roadgym also truncates at 40 s).

    ## Rewards
    highway-env's merge reward: collision, right lane (the lane index), speed (unclipped),
    lane-change actions and the merging cars' lost speed, mapped from [collision +
    merging_speed_reward, high_speed_reward + right_lane_reward] to [0, 1].

    ## Version History
    * v0: first version.
    """

    env_name: ClassVar[str] = "merge-v0"
    config_class = MergeConfig
