import numpy as np
import pytest

from roadgym.envs.core.dynamics import CarLimits, CarState, car_corners, step_bicycle

LIMITS = CarLimits(
    wheelbase_m=2.7,
    max_steer_rad=0.5,
    steer_rate_radps=2.0,
    max_accel_mps2=4.0,
    max_brake_mps2=8.0,
    top_speed_mps=30.0,
)


def run(state: CarState, steer: float, throttle: float, steps: int) -> None:
    b = len(state.x_m)
    for _ in range(steps):
        step_bicycle(state, np.full(b, steer), np.full(b, throttle), LIMITS, 0.1)


def test_straight_acceleration_braking_and_top_speed():
    state = CarState.zeros(3)
    run(state, 0.0, 1.0, 10)
    np.testing.assert_allclose(state.speed_mps, 4.0)
    np.testing.assert_allclose(state.x_m, 0.5 * 4.0 * 1.0**2)  # a t^2 / 2
    np.testing.assert_allclose(state.y_m, 0.0)
    run(state, 0.0, 1.0, 200)
    np.testing.assert_allclose(state.speed_mps, LIMITS.top_speed_mps)
    run(state, 0.0, -1.0, 100)
    np.testing.assert_allclose(state.speed_mps, 0.0)  # brakes to rest, never reverses


def test_positive_steer_turns_right_at_the_rate_limit():
    state = CarState.zeros(2)
    state.speed_mps[:] = 10.0
    step_bicycle(state, np.array([1.0, -1.0]), np.zeros(2), LIMITS, 0.1)
    np.testing.assert_allclose(state.steer_rad, [0.2, -0.2])  # 2 rad/s for 0.1 s
    step_bicycle(state, np.array([1.0, -1.0]), np.zeros(2), LIMITS, 0.1)
    assert state.heading_rad[0] < 0 < state.heading_rad[1]
    assert state.y_m[0] < 0 < state.y_m[1]


def test_steady_turn_radius_matches_the_bicycle_model():
    state = CarState.zeros(1)
    state.speed_mps[:] = 5.0
    run(state, 0.4, 0.0, 400)  # settles at 0.2 rad of wheel angle
    steer = 0.4 * LIMITS.max_steer_rad
    slip = np.arctan(0.5 * np.tan(steer))
    expected_yaw_rate = 5.0 * np.sin(slip) / (0.5 * LIMITS.wheelbase_m)
    before = state.heading_rad.copy()
    run(state, 0.4, 0.0, 1)
    yaw_rate = -((state.heading_rad - before + np.pi) % (2 * np.pi) - np.pi) / 0.1
    assert yaw_rate[0] == pytest.approx(expected_yaw_rate, rel=1e-3)


def test_batch_rows_are_independent():
    batch = CarState.zeros(16)
    rng = np.random.default_rng(0)
    steer, throttle = rng.uniform(-1, 1, (2, 50, 16))
    singles = [CarState.zeros(1) for _ in range(16)]
    for t in range(50):
        step_bicycle(batch, steer[t], throttle[t], LIMITS, 0.1)
        for i, single in enumerate(singles):
            step_bicycle(single, steer[t, i : i + 1], throttle[t, i : i + 1], LIMITS, 0.1)
    for i, single in enumerate(singles):
        for name in ("x_m", "y_m", "heading_rad", "speed_mps", "steer_rad"):
            assert getattr(batch, name)[i] == getattr(single, name)[0]


def test_corners_of_a_car_pointing_up():
    corners = car_corners(np.array([1.0]), np.array([2.0]), np.array([np.pi / 2]), 4.0, 2.0)[0]
    np.testing.assert_allclose(
        sorted(map(tuple, np.round(corners, 9))), [(0, 0), (0, 4), (2, 0), (2, 4)], atol=1e-9
    )
