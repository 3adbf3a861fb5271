import gymnasium as gym
import numpy as np
import pytest

import roadgym  # noqa: F401
from roadgym.drivers.expert import ExpertDriver


def drive(env_id: str, seed: int, max_steps: int = 2000, **fields):
    env = gym.make(env_id, **fields)
    observation, info = env.reset(seed=seed)
    expert = ExpertDriver(env)
    for _ in range(max_steps):
        action, state = expert.predict(observation)
        assert state is None
        observation, _, terminated, truncated, info = env.step(action)
        if terminated or truncated:
            break
    return info


@pytest.mark.parametrize("seed", [0, 1])
def test_expert_completes_track_laps(seed):
    info = drive("roadgym/Track-v0", seed, observation="state")
    assert info["lap_completed"] and not info["off_road"]


@pytest.mark.parametrize("seed", [4, 9, 12])
def test_expert_completes_town_routes_without_infractions(seed):
    info = drive("roadgym/Town-v0", seed, observation="state")
    assert info["success"] and info["route_completion"] == 1.0
    for key in ("collisions_vehicle", "collisions_pedestrian", "red_light_violations"):
        assert info[key] == 0, key
    assert info["stop_sign_violations"] == 0 and not info["off_road"]


def test_expert_acts_like_an_sb3_model_for_single_and_vector_envs():
    single = gym.make("roadgym/Town-v0", action_type="discrete")
    observation, _ = single.reset(seed=0)
    action, _ = ExpertDriver(single).predict(observation)
    assert single.action_space.contains(action)
    vector = gym.make_vec("roadgym/Track-v0", num_envs=3, vectorization_mode="vector_entry_point")
    observations, _ = vector.reset(seed=0)
    expert = ExpertDriver(vector)
    completed = np.zeros(3, dtype=bool)
    for _ in range(1000):
        actions, _ = expert.predict(observations)
        assert actions.shape == (3, 2) and actions.dtype == np.float32
        observations, _, terminated, truncated, infos = vector.step(actions)
        completed |= infos["lap_completed"]
        assert not infos["off_road"].any()
        if completed.all():
            break
    assert completed.all()


def test_expert_rejects_envs_without_a_roadgym_world():
    with pytest.raises(TypeError, match="exposes no roadgym world"):
        ExpertDriver(gym.make("CartPole-v1"))


@pytest.mark.expensive
def test_expert_on_held_out_town_seeds():
    infos = [drive("roadgym/Town-v0", 1_000_000 + k, observation="state") for k in range(20)]
    assert np.mean([i["route_completion"] for i in infos]) >= 0.98
    assert sum(i["collisions_vehicle"] + i["collisions_pedestrian"] for i in infos) == 0
    assert sum(i["red_light_violations"] for i in infos) == 0


def test_expert_stands_at_stop_signs_in_the_middle_of_the_counted_stretch():
    """It brakes to its mark 1.2 m before a stop sign's line rather than creeping up to it,
    so a student copying it with a metre's error still stands where the stop counts."""
    from roadgym.envs.town import ego as town_ego
    from roadgym.envs.town.generator import CONTROL_STOP

    envs = gym.make_vec(
        "roadgym/Town-v0", num_envs=8, vectorization_mode="vector_entry_point", observation="state"
    )
    envs.reset(seed=list(range(1_000_000, 1_000_008)))
    expert, world = ExpertDriver(envs), envs.world
    b = np.arange(world.batch_size)
    stops, creeping = [], 0
    for _ in range(400):
        action, _ = expert.predict()
        scene = town_ego.scene_ahead(world)
        done = world.route_stop_done.copy()
        at_sign = (scene["line_kind"] == CONTROL_STOP) & ~done[b, scene["line_event"]]
        near = at_sign & (scene["line_distance_m"] < 2.0)
        creeping += int((near & (world.car.speed_mps > 0.3) & (action[:, 1] > -0.05)).sum())
        envs.step(action)
        # Where the stop was counted (below 0.3 m/s), front bumper to the line.
        counted = (world.route_stop_done & ~done).any(axis=1)
        stops.extend(town_ego.scene_ahead(world)["line_distance_m"][counted].tolist())
    envs.close()
    assert len(stops) >= 5, "too few stop signs met in 400 steps of 8 towns"
    assert 0.8 < min(stops) and max(stops) < 1.8
    assert creeping == 0


def test_expert_stops_for_a_pedestrian_who_steps_onto_its_route():
    """Someone who walks out anyway, 20 m ahead of the car at speed: it stands before them."""
    from roadgym.envs.town import ego as town_ego

    envs = gym.make_vec(
        "roadgym/Town-v0",
        num_envs=1,
        vectorization_mode="vector_entry_point",
        observation="state",
        num_vehicles=0,
    )
    envs.reset(seed=[1_000_003])
    expert, world = ExpertDriver(envs), envs.world
    while world.car.speed_mps[0] < 5.0:
        envs.step(expert.predict()[0])
    # Pedestrian 0 stands on the route: both ends of its edge moved to one point there.
    spot = town_ego.route_points(world, world.s_m[:, None] + 20.0)[0, 0]
    a, b = world.ped_from[0, 0], world.ped_to[0, 0]
    world.walk_xy[0, a] = world.walk_xy[0, b] = spot
    world.ped_edge_length_m[0, 0], world.ped_speed_mps[0, 0] = 1e9, 0.0  # and stays there
    world.ped_xy[0, 0] = spot
    for _ in range(100):
        _, _, terminated, _, info = envs.step(expert.predict()[0])
        assert info["collisions_pedestrian"][0] == 0 and not terminated[0]
    gap = np.hypot(*(world.ped_xy[0, 0] - world.ego_xy()[0]))
    assert world.car.speed_mps[0] < 0.1 and 4.0 < gap < 12.0
    envs.close()
