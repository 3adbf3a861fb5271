"""The world metrics of a multi-agent world in ``info`` (controlled-controlled collisions,
routes finished, junction throughput) and its render with every controlled car: counts
checked in constructed scenes and against a count made car by car."""

from __future__ import annotations

import numpy as np

from roadgym.envs.core.rendering import agent_colour
from roadgym.envs.multiagent import make_multi_agent_vector_env

SMALL_TOWN = {"camera_size_px": 16, "num_vehicles": 6, "num_pedestrians": 2}


def _place_behind(car, behind: int, ahead: int, gap_m: float) -> None:
    """Put car ``behind`` ``gap_m`` behind car ``ahead``, nose to its tail, same speed."""
    forward = np.array([np.cos(car.heading_rad[ahead]), np.sin(car.heading_rad[ahead])])
    car.x_m[behind], car.y_m[behind] = np.array([car.x_m[ahead], car.y_m[ahead]]) - gap_m * forward
    car.heading_rad[behind], car.speed_mps[behind] = car.heading_rad[ahead], 5.0


def test_two_controlled_cars_forced_to_collide_count_one_collision_in_every_slot():
    env = make_multi_agent_vector_env("roadgym/Town-v0", 2, 3, **SMALL_TOWN)
    env.reset(seed=11)
    world = env.world
    _place_behind(world.car, behind=1, ahead=0, gap_m=2.0)  # world 0: car_1 into car_0
    world._locate(np.arange(world.num_cars))
    _, _, terminated, _, info = env.step(np.zeros((6, 2), np.float32))
    assert terminated.tolist()[:3] == [True, True, False]
    assert info["controlled_collisions"].tolist() == [1, 1, 1, 0, 0, 0]  # one pair, world 0
    assert info["agents_driving"].tolist() == [1, 1, 1, 3, 3, 3]
    assert info["agent_collisions"].tolist()[:3] == [1, 1, 0]


def test_a_route_finished_increments_routes_finished_of_its_world_only():
    env = make_multi_agent_vector_env("roadgym/Town-v0", 2, 2, **SMALL_TOWN)
    _, info = env.reset(seed=3)
    assert info["routes_finished"].tolist() == [0, 0, 0, 0]
    world, k = env.world, 3  # car_1 of world 1, put 1 m before its goal
    last = int(world.route_segments[k])
    end, before = world.route_xy[k, last], world.route_xy[k, last - 1]
    direction = (end - before) / np.linalg.norm(end - before)
    world.car.x_m[k], world.car.y_m[k] = end - 1.0 * direction
    world.car.heading_rad[k] = np.arctan2(direction[1], direction[0])
    world.car.speed_mps[k] = 5.0
    world.route_segment[k] = last - 1
    world._locate(np.array([k]))
    _, _, terminated, _, info = env.step(np.zeros((4, 2), np.float32))
    assert bool(info["success"][k]) and bool(terminated[k])
    assert info["routes_finished"].tolist() == [0, 0, 1, 1]


def test_junction_exits_match_a_count_made_car_by_car():
    from roadgym.drivers.expert import ExpertDriver

    env = make_multi_agent_vector_env("roadgym/Town-v0", 1, 3, **SMALL_TOWN)
    observation, _ = env.reset(seed=21)
    world, expert = env.world, ExpertDriver(env)
    npc_exits = np.zeros(1, dtype=int)
    for _ in range(200):
        lanes_before = world.veh_lane[..., 0].copy()
        actions, _ = expert.predict(observation)
        observation, _, terminated, truncated, info = env.step(actions)
        if (terminated | truncated).any():
            break
        for b in range(1):  # an NPC leaves a connector lane: it cleared a junction
            for v, lane in enumerate(lanes_before[b]):
                if world.lane_is_connector[b, lane] and world.veh_lane[b, v, 0] != lane:
                    npc_exits[b] += 1
    controlled = np.zeros(1, dtype=int)
    for car in range(world.num_cars):
        rear_s = world.s_m[car] - 0.5 * world.config.car_length_m
        ends = world.route_connector_end_s[car]
        controlled[car // 3] += sum(1 for end in ends if np.isfinite(end) and end <= rear_s)
    expected = npc_exits + controlled
    assert npc_exits.sum() > 0 and controlled.sum() > 0  # both kinds cleared junctions
    assert info["junction_exits"].tolist() == np.repeat(expected, 3).tolist()
    minutes = world.step_count * world.config.dt_s / 60.0
    np.testing.assert_allclose(
        info["junction_throughput_per_min"], np.repeat(expected / minutes, 3)
    )


def test_render_shows_every_controlled_car_in_its_own_colour_and_a_roster():
    env = make_multi_agent_vector_env(
        "roadgym/Merge-v0", 1, 3, render_mode="rgb_array", camera_size_px=16
    )
    env.reset(seed=0)
    around_car_1 = env.render_world(1)
    around_car_2 = env.render_world(2)
    for frame in (around_car_1, around_car_2):
        pixels = frame.reshape(-1, 3)
        for j in range(3):  # a car keeps its colour whichever car the view follows
            assert (pixels == agent_colour(j)).all(axis=1).any(), j
    assert not np.array_equal(around_car_1, around_car_2)
