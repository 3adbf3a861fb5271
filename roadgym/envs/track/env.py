"""``roadgym/Track-v0``: drive laps of a procedurally generated race track from pixels."""

from __future__ import annotations

import numpy as np
from gymnasium import spaces

from roadgym.envs.core.spaces import observation_space
from roadgym.envs.core.world_env import WorldEnv
from roadgym.envs.track.config import TrackConfig
from roadgym.envs.track.render import birdseye_frame
from roadgym.envs.track.world import STATE_HIGH, STATE_LOW, TrackWorld


def track_observation_space(config: TrackConfig) -> spaces.Space:
    """The single-world observation space: one Box, or a Dict when modes are joined by '+'."""
    return observation_space(config, STATE_LOW, STATE_HIGH)


class TrackEnv(WorldEnv):
    """Drive laps of a procedurally generated closed-loop track, seen from above.

    ## Description
    Every seed draws a new smooth, non-self-intersecting loop of 1 to 3 lanes. The car
    starts on the start line, at rest, in a random lane, and must complete one lap
    (clockwise or counter-clockwise, by seed) without leaving the road. The simulator
    is the batch of one of :class:`roadgym.envs.track.world.TrackWorld`.

    ## Action Space
    ``continuous`` (default): ``Box(-1, 1, (2,), float32)`` = [steer, throttle]. Steer
    -1 is full left and +1 full right (as in CarRacing); throttle > 0 accelerates and
    < 0 brakes. Values outside [-1, 1] are clipped; NaN, inf or a wrong shape raise
    ``ValueError``. ``discrete``: ``Discrete(9)``, see ``DISCRETE_ACTIONS``, or
    ``Discrete(21)`` with ``discrete_actions="fine_steer"`` (``FINE_STEER_ACTIONS``).

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
    minus ``off_road_penalty`` on leaving the road; minus ``stall_penalty`` when the stall
    rule ends the episode. With ``action_repeat=k`` > 1 one step holds the action for k
    simulation steps of ``dt_s`` and returns their summed reward and the last frame.

    ## Episode End
    Terminated when a corner of the car leaves the road, when the lap is complete
    (``info["lap_completed"]``), or when the car has made less than 1 m of progress along
    the lap for ``stall_timeout_s`` (``info["stalled"]``; 0 disables the rule). Truncated
    at ``max_episode_steps`` (1000 by default, counted in env steps). The road and the
    stall rule are checked after every simulation step, also within a repeated action,
    and the episode ends at the simulation step where one of them fires.

    ## Info
    ``progress`` (fraction of the lap, 0..1), ``lap_completed``, ``off_road``, ``stalled``,
    ``speed_mps``, ``lateral_offset_m`` (from the road centre, + left), and ``labels``
    (``{"road_layout": 0 straight | 1 curve_left | 2 curve_right}``).

    ## Arguments
    ``gymnasium.make("roadgym/Track-v0", render_mode=None, config=None, **fields)``
    where ``config`` is a :class:`TrackConfig` or a mapping and ``fields`` override it.

    ## Version History
    * v0: first version.
    """

    config_class = TrackConfig
    world_class = TrackWorld
    make_observation_space = staticmethod(track_observation_space)

    def _progress_line(self) -> str:
        world = self.world
        return f"progress {100 * min(world.progress_m[0] / world.track_length_m[0], 1.0):5.1f} %"

    def _birdseye(self, camera_rgb: np.ndarray, hud_lines: tuple[str, ...]) -> np.ndarray:
        return birdseye_frame(self.world, 0, self.config.render_size_px, camera_rgb, hud_lines)
