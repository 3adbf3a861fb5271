"""``TrackConfig``: every knob of ``roadgym/Track-v0``, typed, documented and validated."""

from __future__ import annotations

import dataclasses

from roadgym.envs.core.config import ConfigError, RouteFields, WorldConfig, option, world_default


@dataclasses.dataclass(frozen=True)
class TrackConfig(RouteFields, WorldConfig):
    """Configuration of ``roadgym/Track-v0``: road, car, camera, observation, reward.

    The car, camera, observation and action fields are :class:`WorldConfig`'s, with its
    defaults: a race car on open track (top speed 30 m/s, 4 m/s^2, 0.5 rad of wheel angle).
    The speed limit, step cost, off-road and stall fields are :class:`RouteFields`', with
    its defaults but for the stall rule's rationale.
    """

    num_lanes: int = option(2, "Lanes on the track.", low=1, high=3)
    track_length_min_m: float = option(
        300.0,
        "Shortest centreline length of a generated track (m); at most track_length_max_m.",
        low=100.0,
        high=3000.0,
    )
    track_length_max_m: float = option(
        600.0,
        "Longest centreline length of a generated track (m); at least track_length_min_m.",
        low=100.0,
        high=3000.0,
    )
    lap_reward: float = option(
        100.0, "Progress reward summed over one full lap.", low=0.0, high=1e6
    )
    stall_timeout_s: float = world_default(
        "stall_timeout_s",
        5.0,
        "A track has no reason to wait, and the car covers 1 m from rest in under a second, "
        "so 5 s is never a legitimate stop.",
    )
    stall_penalty: float = world_default(
        "stall_penalty",
        50.0,
        "Even discounted over the timeout (0.99^50 x 50 = 30 at the defaults) it exceeds "
        "off_road_penalty, so that standing still is never a cheaper end than driving off "
        "the road, for a learner's discounted return too.",
    )
    action_repeat: int = option(
        1,
        "Simulation steps of dt_s that each action is held for (frame skip): one env step "
        "advances action_repeat steps, checks the road and the stall rule after each, "
        "returns their summed reward and the last frame, and ends early when the episode "
        "ends. The agent decides every action_repeat * dt_s seconds, so a value-based "
        "learner (DQN) sees larger differences between actions; the stall timeout stays in "
        "seconds, max_episode_steps counts env steps.",
        low=1,
        high=16,
    )
    discrete_actions: str = option(
        "basic",
        "Action table of action_type='discrete': 'basic' the 9 DISCRETE_ACTIONS; "
        "'fine_steer' the 21 FINE_STEER_ACTIONS, steer 0, +-0.15, +-0.4 or +-1 with brake, "
        "coast or full throttle (the basic set's smallest steer, 0.5, cannot hold a bend "
        "at speed).",
        choices=("basic", "fine_steer"),
    )

    def validate(self) -> None:
        super().validate()
        if self.track_length_min_m > self.track_length_max_m:
            raise ConfigError(
                f"TrackConfig.track_length_min_m = {self.track_length_min_m} is larger than "
                f"track_length_max_m = {self.track_length_max_m}; allowed: min <= max"
            )
