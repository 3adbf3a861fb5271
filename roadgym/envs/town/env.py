"""``roadgym/Town-v0``: drive a planned route through a procedural town, from pixels."""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces

from roadgym.envs.core.spaces import observation_space
from roadgym.envs.core.world_env import WorldEnv
from roadgym.envs.town.config import TownConfig
from roadgym.envs.town.ego import NAV_HIGH, NAV_LOW, STATE_HIGH, STATE_LOW
from roadgym.envs.town.world import TownWorld


def town_observation_space(config: TownConfig) -> spaces.Space:
    """The single-world observation space: one Box, or a Dict when modes are joined by '+'."""
    nav = spaces.Box(NAV_LOW.astype(np.float32), NAV_HIGH.astype(np.float32), dtype=np.float32)
    return observation_space(config, STATE_LOW, STATE_HIGH, {"nav": nav})


class TownEnv(WorldEnv):
    """Drive a planned route through a town with traffic lights, stop signs, cars and people.

    ## Description
    Every seed draws a new town: an irregular street grid (some streets removed) of
    two-way roads with 1 or 2 lanes each way, sidewalks, crosswalks, traffic lights
    (east-west then north-south phases, then a walk phase; left turns yield to oncoming
    traffic) at some junctions and all-way stop signs at the others; NPC cars that follow
    random routes with IDM car following,
    stop for lights, stop signs and pedestrians; pedestrians who walk the sidewalks and
    cross at crosswalks when the signal allows (a share also jaywalk). The ego car gets a
    route planned with A* over the lane graph and must follow it to the goal. The
    simulator is the batch of one of :class:`roadgym.envs.town.world.TownWorld`.

    ## Action Space
    As Track-v0: ``continuous`` (default) ``Box(-1, 1, (2,), float32)`` = [steer,
    throttle], steer +1 full right, throttle < 0 brakes; values outside [-1, 1] are
    clipped, NaN / inf / a wrong shape raise ``ValueError``. ``discrete``:
    ``Discrete(9)``, see ``roadgym.envs.DISCRETE_ACTIONS``.

    ## Observation Space
    ``rgb`` (default): ``Box(0, 255, (H, W, 3), uint8)``, an ego-centric top-down camera,
    car pointing up, showing roads, sidewalks, crosswalks, the route (teal), stop lines
    coloured by their light's state, stop-sign lines, cars and pedestrians.
    ``semantic``: ``Box(0, 13, (H, W), uint8)`` class ids (``SemanticClass``).
    ``state``: ``Box((7 + D,), float32)`` = speed / top speed, lateral offset from the
    route / ``route_tolerance_m``, heading error (rad), steer / max steer, direction of the
    next turn (-1 left, 0 none, +1 right), its distance / 100 m (clipped to 1), route
    completion, then the route's curvature (1/m, + left) at ``curvature_lookahead_m``.
    ``nav``: ``Box((3,), float32)`` = speed / top speed, direction of the next turn and
    its distance / 100 m: what a real car knows besides its camera (speedometer and
    navigation), used by the pixel students (``observation="rgb+nav"``).
    Modes joined by '+' give a ``Dict``.

    ## Rewards
    ``route_reward * progress / route length`` per step (the whole route sums to
    ``route_reward``), minus ``step_penalty``; minus ``collision_penalty`` on hitting a car
    or pedestrian, ``red_light_penalty`` per red light run, ``stop_sign_penalty`` per stop
    sign run, ``off_road_penalty`` on leaving the road, ``off_route_penalty`` on leaving
    the route; minus ``stall_penalty`` when the stall rule ends the episode; plus
    ``success_reward`` at the goal.

    ## Episode End
    Terminated on a collision, off-road, off-route (further than ``route_tolerance_m``
    from the route), at the goal (``info["success"]``), or by the stall rule: less than
    1 m of progress along the route in ``stall_timeout_s`` (``info["stalled"]``).
    Truncated at ``max_episode_steps`` (2000 by default).

    ## Info
    ``route_completion`` (0..1), ``collisions_vehicle``, ``collisions_pedestrian``,
    ``red_light_violations``, ``stop_sign_violations`` (counts), ``off_road``,
    ``off_route``, ``success``, ``stalled``, ``average_speed_mps``, ``driving_score``
    (route completion x 0.5 per pedestrian hit x 0.6 per car hit x 0.7 per red light x 0.8
    per stop sign, the
    CARLA leaderboard's form), ``speed_mps``, and ``labels``: ``light_state`` (0 none,
    1 red, 2 yellow, 3 green: the light of the stop line ahead on the route, when in
    view), ``object_ahead`` (0 none, 1 vehicle, 2 pedestrian: nearest on the route ahead
    in view), ``object_distance_m`` (front bumper to it; the view's reach when none),
    ``road_layout`` (0 straight, 1 curve, 2 intersection ahead in view).

    ## Arguments
    ``gymnasium.make("roadgym/Town-v0", render_mode=None, config=None, **fields)`` where
    ``config`` is a :class:`TownConfig` or a mapping and ``fields`` override it.

    ## Version History
    * v0: first version.
    """

    config_class = TownConfig
    world_class = TownWorld
    make_observation_space = staticmethod(town_observation_space)
    _renderer: Any = None  # a TownRenderer, built on the first render of each town

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        self._renderer = None  # a new town: the renderer's cached map is stale
        return super().reset(seed=seed, options=options)

    def _progress_line(self) -> str:
        completion = self.world.infos()["route_completion"][0]
        return f"route {100 * completion:5.1f} %"

    def _birdseye(self, camera_rgb: np.ndarray, hud_lines: tuple[str, ...]) -> np.ndarray:
        from roadgym.envs.town.render import TownRenderer  # only rendering needs it

        if self._renderer is None:
            self._renderer = TownRenderer(self.world, 0, self.config.render_size_px)
        return self._renderer.frame(camera_rgb, hud_lines)
