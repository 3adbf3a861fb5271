"""A small lane-keeping controller over the ``state`` observation, for tests."""

from __future__ import annotations

import numpy as np


def centreline_controller(state: np.ndarray, target_speed_mps: float = 12.0) -> np.ndarray:
    """Steer back to the road centre with curvature feed-forward; hold a speed.

    ``state`` is the Track-v0 ``state`` vector (or a batch of them); returns actions
    [steer, throttle] of matching batch shape.
    """
    speed_fraction, lateral, heading_error = state[..., 0], state[..., 1], state[..., 2]
    curvature_ahead = state[..., 5]  # 10 m ahead with the default lookahead
    steer = 2.0 * heading_error + 0.8 * lateral - np.arctan(2.7 * curvature_ahead) / 0.5
    throttle = np.where(speed_fraction * 30.0 < target_speed_mps, 1.0, 0.0)
    return np.stack([steer, throttle], axis=-1).astype(np.float32)
