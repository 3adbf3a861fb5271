"""``TrackConfig``: every knob of ``roadgym/Track-v0``, typed, documented and validated."""

from __future__ import annotations

import dataclasses

from roadgym.envs.core.config import ConfigError, WorldConfig, option


@dataclasses.dataclass(frozen=True)
class TrackConfig(WorldConfig):
    """Configuration of ``roadgym/Track-v0``: road, car, camera, observation, reward.

    The car, camera, observation and action fields are :class:`WorldConfig`'s, with its
    defaults: a race car on open track (top speed 30 m/s, 4 m/s^2, 0.5 rad of wheel angle).
    """

    num_lanes: int = option(2, "Lanes on the track.", low=1, high=3)
    lane_width_m: float = option(4.0, "Width of each lane in meters.", low=2.5, high=6.0)
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
    speed_limit_mps: float = option(
        25.0, "Speed limit stored on every lane of the lane graph (m/s).", low=1.0, high=60.0
    )
    lap_reward: float = option(
        100.0, "Progress reward summed over one full lap.", low=0.0, high=1e6
    )
    step_penalty: float = option(0.02, "Cost paid every step.", low=0.0, high=1e3)
    off_road_penalty: float = option(
        20.0,
        "Penalty when a corner of the car leaves the road (ends the episode).",
        low=0.0,
        high=1e6,
    )
    stall_timeout_s: float = option(
        5.0,
        "No progress along the lap (less than 1 m) for this long ends the episode "
        "(terminated, info['stalled']); 0 disables. A track has no reason to wait, and the "
        "car covers 1 m from rest in under a second, so 5 s is never a legitimate stop.",
        low=0.0,
        high=1e4,
    )
    stall_penalty: float = option(
        50.0,
        "Penalty when the stall rule ends the episode. Even discounted over the timeout "
        "(0.99^50 x 50 = 30 at the defaults) it exceeds off_road_penalty, so that standing "
        "still is never a cheaper end than driving off the road, for a learner's discounted "
        "return too.",
        low=0.0,
        high=1e6,
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
    curvature_lookahead_m: tuple[float, ...] = option(
        (0.0, 10.0, 20.0, 40.0),
        "Distances ahead (m) at which the state vector samples road curvature.",
        low=0.0,
        high=500.0,
    )

    def validate(self) -> None:
        super().validate()
        if self.track_length_min_m > self.track_length_max_m:
            raise ConfigError(
                f"TrackConfig.track_length_min_m = {self.track_length_min_m} is larger than "
                f"track_length_max_m = {self.track_length_max_m}; allowed: min <= max"
            )
