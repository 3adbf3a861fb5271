"""``roadgym/Highway-v0`` and ``roadgym/Merge-v0``: multi-lane traffic, highway-env's interface."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from gymnasium import spaces

from roadgym.envs.core.spaces import observation_space
from roadgym.envs.core.world_env import WorldEnv
from roadgym.envs.highway.config import HighwayConfig, MergeConfig
from roadgym.envs.highway.observation import (
    GRID_CELLS,
    GRID_FEATURES,
    STATE_HIGH,
    STATE_LOW,
    kinematics_features,
)
from roadgym.envs.highway.render import birdseye_frame
from roadgym.envs.highway.world import HighwayWorld


def highway_observation_space(config: HighwayConfig) -> spaces.Space:
    """The single-world observation space: one Box, or a Dict when modes are joined by '+'."""
    shape = (config.kinematics_vehicles_count, len(kinematics_features(config)))
    grid = (len(GRID_FEATURES), GRID_CELLS, GRID_CELLS)
    world_modes = {
        "kinematics": spaces.Box(-1.0, 1.0, shape, np.float32),
        "occupancy_grid": spaces.Box(-1.0, 1.0, grid, np.float32),
    }
    return observation_space(config, STATE_LOW, STATE_HIGH, world_modes)


class HighwayWorldEnv(WorldEnv):
    """Drive fast and safely through multi-lane highway traffic, seen from above.

    ## Description
    Every seed draws a new road of ``lanes_count`` lanes (2 to 5) with gentle bends and
    ``vehicles_count`` NPC cars that follow the Intelligent Driver Model and change lanes
    with MOBIL (politeness, a safe braking limit, a keep-right bias), each with its own
    desired speed. Cars that fall too far behind or ahead of the ego car are moved to
    the other end of the window around it, so the traffic density holds. The interface
    is highway-env's: the same action, observation and reward names, and a policy
    frequency apart from the simulation's. The simulator is the batch of one of
    :class:`roadgym.envs.highway.world.HighwayWorld`.

    ## Action Space
    ``continuous`` (default): ``Box(-1, 1, (2,), float32)`` [steer, throttle] (steer +1
    full right), ``discrete``: ``Discrete(9)`` (``DISCRETE_ACTIONS``), both held for the
    action's simulation steps. ``meta``: ``Discrete(5)`` = LANE_LEFT 0, IDLE 1, LANE_RIGHT 2,
    FASTER 3, SLOWER 4 (highway-env's ``DiscreteMetaAction``): target lane and target
    speed (one of ``target_speeds_mps``), reached by a low-level controller (pure pursuit
    and a proportional speed loop) run at every simulation step. Each action lasts
    ``1 / policy_frequency_hz`` seconds, ``substeps`` simulation steps of ``dt_s``.

    ## Observation Space
    ``rgb`` (default): ``Box(0, 255, (H, W, 3), uint8)``, an ego-centric top-down camera.
    ``semantic``: ``Box(0, 13, (H, W), uint8)`` class ids. ``state``: ``Box((5 + D,),
    float32)`` = speed / top speed, offset from the lane centre / lane width, heading
    error (rad), steer / max steer, lane index / (lanes - 1), then the road curvature at
    ``curvature_lookahead_m``. ``kinematics``: highway-env's ``Kinematics``, ``(V, F)``
    float32 in [-1, 1], rows ego first then the nearest cars along the road, features
    presence, x, y, vx, vy (+ cos_h, sin_h with ``kinematics_heading``) in road
    coordinates (x along the road, y towards the right lanes), others relative to the
    ego, scaled as highway-env does (x / 200 m, y / (lane width x lanes), v / 80 m/s).
    ``occupancy_grid``: highway-env's ``OccupancyGrid`` ``(4, 11, 11)``: presence, vx,
    vy, on_road over 5 m cells around the ego car. Modes joined by '+' give a ``Dict``.

    ## Rewards
    highway-env's: ``collision_reward * crashed + right_lane_reward * lane / (lanes - 1) +
    high_speed_reward * clip((forward speed - low) / (high - low), 0, 1) +
    lane_change_reward * (changed lane)`` with ``reward_speed_range_mps`` = (low, high);
    mapped from [collision_reward, high_speed_reward + right_lane_reward] to [0, 1] with
    ``normalize_reward``; 0 off the road. For ``meta`` the lane is the target lane.

    ## Episode End
    Terminated on a collision (``info["crashed"]``) or when a corner of the car leaves
    the road (``info["off_road"]``). Truncated after ``duration_s`` simulated seconds.

    ## Info
    ``speed_mps``, ``crashed``, ``off_road``, ``lane_index`` (0 leftmost; the ramp is
    ``lanes_count``), ``lane_changes``, ``distance_m`` (along the road since reset),
    ``npc_collisions`` (overlaps between NPC cars since reset), and ``labels``:
    ``lane_index``, ``vehicle_ahead`` (0 none, 1 a car in the lane ahead in view),
    ``left_lane`` / ``right_lane`` (0 free, 1 a car alongside within 10 m, 2 no lane).

    ## Arguments
    ``gymnasium.make("roadgym/Highway-v0", render_mode=None, config=None, **fields)``
    where ``config`` is a :class:`HighwayConfig` or a mapping and ``fields`` override it.
    highway-env's own defaults are ``observation="kinematics", action_type="meta",
    policy_frequency_hz=1``.

    ## Version History
    * v0: first version.
    """

    config_class = HighwayConfig
    world_class = HighwayWorld
    make_observation_space = staticmethod(highway_observation_space)

    def __init__(self, render_mode: str | None = None, config: Any = None, **fields: Any) -> None:
        super().__init__(render_mode=render_mode, config=config, **fields)
        self.metadata = {**self.metadata, "render_fps": self.config.policy_frequency_hz}

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        observation, reward, terminated, _, info = super().step(action)
        return observation, reward, terminated, bool(self.world.truncated[0]), info

    def _progress_line(self) -> str:
        world = self.world
        distance = world.infos()["distance_m"][0]
        return f"lane {world.ego_lane_index[0]}  {distance:5.0f} m  t {world.time_s[0]:4.1f} s"

    def _birdseye(self, camera_rgb: np.ndarray, hud_lines: tuple[str, ...]) -> np.ndarray:
        return birdseye_frame(self.world, 0, self.config.render_size_px, camera_rgb, hud_lines)


class MergeWorldEnv(HighwayWorldEnv):
    """``roadgym/Merge-v0``: :class:`HighwayWorldEnv` with an on-ramp whose lane ends.

    ## Description
    As Highway-v0 (3 lanes, 30 s by default), with an on-ramp that joins from the right
    ``ramp_join_m`` ahead of the ego car's start, runs beside the road for
    ``ramp_merge_length_m`` and ends: ``ramp_vehicles_count`` NPC cars start on it and
    must merge (MOBIL, with the lane's end as a standing obstacle), and with
    ``ego_on_ramp`` the ego car starts there itself. Lane ``lanes_count`` is the ramp.
    Everything else is :class:`HighwayWorldEnv`'s.

    ## Version History
    * v0: first version.
    """

    config_class = MergeConfig


# roadgym 0.1 called these HighwayEnv and MergeEnv, the names of highway-env's own classes;
# the old names still work for one release, with a DeprecationWarning.
_DEPRECATED_NAMES = {"HighwayEnv": "HighwayWorldEnv", "MergeEnv": "MergeWorldEnv"}


def __getattr__(name: str) -> Any:
    """Old names of the env classes, kept for one release."""
    if name in _DEPRECATED_NAMES:
        new = _DEPRECATED_NAMES[name]
        warnings.warn(
            f"roadgym's {name} is renamed {new} (highway-env has a class named {name}); "
            "the old name goes in roadgym 0.3",
            DeprecationWarning,
            stacklevel=2,
        )
        return globals()[new]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
