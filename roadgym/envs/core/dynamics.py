"""Kinematic bicycle model, stepped for a batch of cars with array operations."""

from __future__ import annotations

import dataclasses

import numpy as np

from roadgym.envs.core.lane_graph import wrap_angle


@dataclasses.dataclass
class CarState:
    """Poses and controls of B cars; every array has shape (B,).

    Heading is counter-clockwise from +x (rad); ``steer_rad`` is the front wheel
    angle, positive to the right (the sign of the steer action, as in CarRacing).
    """

    x_m: np.ndarray
    y_m: np.ndarray
    heading_rad: np.ndarray
    speed_mps: np.ndarray
    steer_rad: np.ndarray

    @classmethod
    def zeros(cls, batch_size: int) -> CarState:
        return cls(*(np.zeros(batch_size) for _ in range(5)))


@dataclasses.dataclass(frozen=True)
class CarLimits:
    """Physical limits of the car model."""

    wheelbase_m: float
    max_steer_rad: float
    steer_rate_radps: float
    max_accel_mps2: float
    max_brake_mps2: float
    top_speed_mps: float

    @classmethod
    def from_config(cls, config: object) -> CarLimits:
        """The limits named alike in an env config (TrackConfig, TownConfig)."""
        return cls(**{f.name: getattr(config, f.name) for f in dataclasses.fields(cls)})


def step_bicycle(
    state: CarState, steer_cmd: np.ndarray, throttle_cmd: np.ndarray, limits: CarLimits, dt_s: float
) -> None:
    """Advance every car by ``dt_s`` in place.

    ``steer_cmd`` in [-1, 1] sets the target wheel angle (+1 full right), reached at the
    steering rate limit; ``throttle_cmd`` in [-1, 1] accelerates when positive and brakes
    when negative. Speed stays in [0, top speed]. The pose is integrated about the
    centre of the car with the slip angle of the kinematic bicycle model.
    """
    target = steer_cmd * limits.max_steer_rad
    max_change = limits.steer_rate_radps * dt_s
    state.steer_rad += np.clip(target - state.steer_rad, -max_change, max_change)
    accel = np.where(
        throttle_cmd >= 0.0,
        throttle_cmd * limits.max_accel_mps2,
        throttle_cmd * limits.max_brake_mps2,
    )
    new_speed = np.clip(state.speed_mps + accel * dt_s, 0.0, limits.top_speed_mps)
    mean_speed = 0.5 * (state.speed_mps + new_speed)
    # Positive steer turns right, i.e. decreases the counter-clockwise heading.
    slip = np.arctan(0.5 * np.tan(-state.steer_rad))
    state.x_m += mean_speed * np.cos(state.heading_rad + slip) * dt_s
    state.y_m += mean_speed * np.sin(state.heading_rad + slip) * dt_s
    state.heading_rad[:] = wrap_angle(
        state.heading_rad + mean_speed / (0.5 * limits.wheelbase_m) * np.sin(slip) * dt_s
    )
    state.speed_mps[:] = new_speed


def car_corners(
    x_m: np.ndarray, y_m: np.ndarray, heading_rad: np.ndarray, length_m: float, width_m: float
) -> np.ndarray:
    """The four corners (B, 4, 2) of cars centred at ``x_m``, ``y_m`` (B,)."""
    forward = np.stack([np.cos(heading_rad), np.sin(heading_rad)], axis=-1)  # (B, 2)
    left = np.stack([-forward[:, 1], forward[:, 0]], axis=-1)  # (B, 2)
    signs = np.array([[1, 1], [1, -1], [-1, -1], [-1, 1]], dtype=np.float64)  # (4, 2)
    centre = np.stack([x_m, y_m], axis=-1)  # (B, 2)
    return (
        centre[:, None, :]
        + (0.5 * length_m * signs[:, 0])[None, :, None] * forward[:, None, :]
        + (0.5 * width_m * signs[:, 1])[None, :, None] * left[:, None, :]
    )
