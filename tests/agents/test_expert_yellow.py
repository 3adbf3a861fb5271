"""The expert's yellow-light rule: stop if you can, go on only if you cannot."""

import gymnasium as gym
import numpy as np
import pytest

import roadgym  # noqa: F401
from roadgym.drivers.expert import ExpertDriver, stops_for_yellow
from roadgym.envs.town import ego as town_ego
from roadgym.envs.town.generator import CONTROL_LIGHT
from roadgym.envs.town.junctions import LIGHT_GREEN, LIGHT_RED, LIGHT_YELLOW
from roadgym.envs.town.state import gather_rows


def test_a_car_that_can_stop_for_a_yellow_stops_one_that_cannot_goes_on():
    speed = np.array([0.0, 0.0, 0.3, 10.0, 10.0, 1.5, 0.0])
    line = np.array([0.03, 0.4, 0.2, 30.0, 10.0, 0.4, -0.1])
    # standing just short, standing, creeping, far at speed: stop; at speed too close
    # (16.7 m to stop), rolling at walking pace 0.4 m short, already over the line: go.
    expected = np.array([True, True, True, True, False, False, False])
    np.testing.assert_array_equal(stops_for_yellow(speed, line, 3.0), expected)


@pytest.mark.parametrize("over_m", [-0.05, 0.19])
def test_the_expert_standing_at_a_light_stays_there_through_yellow_and_red(over_m):
    """A car stopped in the yellow by a jammed exit, its front bumper just short of the line
    (4800422: 0.03 m) or just over it (4900259: 0.19 m), moved off when the exit cleared
    and its centre crossed on red. It holds, centre behind the line, until the green."""
    envs = gym.make_vec(
        "roadgym/Town-v0",
        num_envs=1,
        vectorization_mode="vector_entry_point",
        observation="state",
        num_vehicles=0,
        num_pedestrians=0,
    )
    envs.reset(seed=[1_000_000])
    world, half = envs.world, 0.5 * envs.world.config.car_length_m
    kind = gather_rows(world.approach_kind, world.route_stop_approach)[0]
    event = int(np.flatnonzero(kind == CONTROL_LIGHT)[0])
    line_s = world.route_stop_s[0, event]
    # Stand the car on its route with its front bumper over_m past the line.
    centre_s = line_s - half + over_m
    here, ahead = town_ego.route_points(world, np.array([[centre_s, centre_s + 0.5]]))[0]
    world.car.x_m[0], world.car.y_m[0] = here
    world.car.heading_rad[0] = np.arctan2(*(ahead - here)[::-1])
    world.car.speed_mps[0] = 0.0
    world.route_segment[0] = np.searchsorted(world.route_cum_s[0], centre_s) - 1
    world._locate(np.arange(1))  # noqa: SLF001
    # Its light 2 s into the 3 s yellow (past a left-turner's clearing start of it).
    q = world.route_stop_approach[0, event]
    phase = world.approach_slot[0, q] * world.phase_steps + world.green_steps + 20
    world.approach_offset[0, q] = (phase - world.step_count[0]) % world.approach_cycle[0, q]
    world._update_lights()  # noqa: SLF001
    expert, seen, start_s = ExpertDriver(envs), [], world.s_m[0]
    for _ in range(world.approach_cycle[0, q]):
        seen.append(gather_rows(world.light_state, world.route_stop_approach)[0, event])
        _, _, terminated, _, info = envs.step(expert.predict()[0])
        assert info["red_light_violations"][0] == 0 and not terminated[0]
        if seen[-1] == LIGHT_GREEN:
            break
        assert world.s_m[0] < start_s + 0.05, f"moved off on light {seen[-1]}"
    assert LIGHT_RED in seen and seen[-1] == LIGHT_GREEN
    assert seen[1] == LIGHT_YELLOW
    for _ in range(50):  # and on green it goes
        envs.step(expert.predict()[0])
    assert world.s_m[0] - half > line_s
    envs.close()
