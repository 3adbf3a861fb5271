"""Several controlled cars per world: PettingZoo's own API and seed tests, determinism
(same seed, same rollout; one world alone is world i of the vector env), the spawn
limits, finished cars, and the flat B x N vector env under SB3."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from pettingzoo.test import api_test, parallel_api_test
from pettingzoo.test.seed_test import parallel_seed_test

from roadgym.envs import ConfigError
from roadgym.envs.highway import HighwayConfig, HighwayWorld, HighwayWorldEnv
from roadgym.envs.multiagent import (
    aec_env,
    make_multi_agent_sb3_vec_env,
    make_multi_agent_vector_env,
    parallel_env,
)

SMALL = {"camera_size_px": 16, "vehicles_count": 8, "observation": "rgb+kinematics"}
SMALL_TOWN = {"camera_size_px": 16, "num_vehicles": 6, "num_pedestrians": 4}
MULTI_IDS = ("roadgym/Highway-v0", "roadgym/Merge-v0")


@pytest.mark.parametrize("num_agents", [1, 2, 8])
@pytest.mark.parametrize("env_id", (*MULTI_IDS, "roadgym/Town-v0"))
def test_pettingzoo_parallel_api_and_seed_tests_pass(env_id, num_agents):
    small = SMALL_TOWN if "Town" in env_id else SMALL
    env = parallel_env(env_id, num_agents=num_agents, **small)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # PettingZoo reports API slips as warnings
        parallel_api_test(env, num_cycles=25)
    parallel_seed_test(
        lambda: parallel_env(env_id, num_agents=num_agents, max_cycles=15, **small), 15
    )


def test_aec_wrapper_passes_the_aec_api_test():
    small = SMALL | {"observation": "rgb"}
    api_test(aec_env("roadgym/Merge-v0", num_agents=3, max_cycles=20, **small), num_cycles=20)


def _random_actions(rng: np.random.Generator, count: int) -> np.ndarray:
    actions = rng.uniform(-0.05, 0.05, (count, 2)).astype(np.float32)
    actions[:, 1] = rng.uniform(0.0, 1.0, count)
    return actions


def test_one_world_alone_is_world_i_of_the_vector_env():
    worlds, agents, seed = 3, 4, 10
    venv = make_multi_agent_vector_env("roadgym/Highway-v0", worlds, agents, **SMALL)
    first, _ = venv.reset(seed=seed)
    rng = np.random.default_rng(0)
    steps = [_random_actions(rng, worlds * agents) for _ in range(30)]
    outputs = [venv.step(actions) for actions in steps]
    for world in (0, 2):
        env = parallel_env("roadgym/Highway-v0", num_agents=agents, **SMALL)
        observation, _ = env.reset(seed=seed + world)
        for j in range(agents):
            assert np.array_equal(observation[f"car_{j}"]["rgb"], first["rgb"][world * agents + j])
        for actions, (v_obs, v_reward, v_term, v_trunc, _) in zip(steps, outputs, strict=True):
            if not env.agents:
                break
            live = env.agents
            slot = {a: world * agents + int(a.removeprefix("car_")) for a in live}
            observation, reward, term, trunc, _ = env.step({a: actions[slot[a]] for a in live})
            for a in live:
                k = slot[a]
                assert np.array_equal(observation[a]["rgb"], v_obs["rgb"][k])
                assert np.array_equal(observation[a]["kinematics"], v_obs["kinematics"][k])
                assert (reward[a], term[a], trunc[a]) == (v_reward[k], v_term[k], v_trunc[k])


def test_same_seed_same_multi_agent_rollout_and_cars_leave_one_by_one():
    def rollout():
        env = parallel_env("roadgym/Merge-v0", num_agents=6, **SMALL)
        observation, _ = env.reset(seed=3)
        rng = np.random.default_rng(1)
        trace, alive = [observation["car_0"]["rgb"].copy()], []
        while env.agents:
            actions = {a: _random_actions(rng, 1)[0] for a in env.agents}
            observation, reward, *_ = env.step(actions)
            trace += [observation[a]["rgb"].copy() for a in sorted(observation)]
            trace.append(np.array([reward[a] for a in sorted(reward)]))
            alive.append(len(env.agents))
        return trace, alive

    (first, alive), (second, _) = rollout(), rollout()
    assert len(first) == len(second)
    assert all(np.array_equal(a, b) for a, b in zip(first, second, strict=True))
    assert alive[-1] == 0 and len(set(alive)) > 2  # agents shrink over several steps


def test_spawns_never_overlap_and_crowded_requests_raise():
    config = HighwayConfig(num_agents=16, vehicles_count=40)
    world = HighwayWorld(config, batch_size=4)
    world.reset_worlds(np.arange(4), [np.random.default_rng(s) for s in range(4)])
    assert not world.crashed.any() and not world.off_road.any()
    s = world.veh_s  # (B, NPCs + agents): no two cars of a lane closer than a car length
    for b in range(4):
        for lane in range(config.lanes_count):
            in_lane = np.sort(s[b][world.veh_lane[b] == lane])
            assert np.all(np.diff(in_lane) > config.car_length_m)
    with pytest.raises(ConfigError, match=r"num_agents = 17 .* num_agents <= 16"):
        HighwayConfig(num_agents=17)
    with pytest.raises(ConfigError, match=r"num_agents = 2 is not allowed in HighwayWorldEnv"):
        HighwayWorldEnv(num_agents=2)


@pytest.mark.parametrize("mode", ["remove", "park"])
def test_a_finished_car_is_removed_or_parked(mode):
    env = parallel_env("roadgym/Highway-v0", num_agents=2, finished_agent_mode=mode, **SMALL)
    env.reset(seed=0)
    world = env._env.world
    hard_right = np.array([1.0, 1.0], np.float32)  # car_1 starts left of car_0 here
    straight = np.array([0.0, 0.0], np.float32)
    while "car_0" in env.agents:
        _, _, terminated, *_ = env.step({"car_0": hard_right, "car_1": straight})
    assert env.agents == ["car_1"] and terminated == {"car_0": True, "car_1": False}
    gone = 0
    where = world.car.x_m[gone], world.car.y_m[gone]
    for _ in range(3):
        if not env.agents:
            break
        env.step(dict.fromkeys(env.agents, straight))
    assert (world.car.x_m[gone], world.car.y_m[gone]) == where  # it moves no more
    assert bool(world.present[gone]) == (mode == "park")
    assert world.car.speed_mps[gone] == 0.0 or mode == "remove"


def test_controlled_cars_collide_with_each_other():
    env = parallel_env("roadgym/Highway-v0", num_agents=3, **SMALL)
    env.reset(seed=0)
    car = env._env.world.car
    # Put car_1 two metres behind car_0, nose into its tail; car_2 stays clear.
    forward = np.array([np.cos(car.heading_rad[0]), np.sin(car.heading_rad[0])])
    car.x_m[1], car.y_m[1] = np.array([car.x_m[0], car.y_m[0]]) - 2.0 * forward
    car.heading_rad[1], car.speed_mps[1] = car.heading_rad[0], car.speed_mps[0]
    _, _, terminated, _, info = env.step(dict.fromkeys(env.agents, np.zeros(2, np.float32)))
    assert terminated == {"car_0": True, "car_1": True, "car_2": False}
    assert info["car_0"]["agent_collisions"] == info["car_1"]["agent_collisions"] == 1
    assert info["car_2"]["agent_collisions"] == 0
    assert info["car_2"]["controlled_collisions"] == 1  # the world's count: one pair
    assert env.agents == ["car_2"]


def test_flat_vector_env_masks_finished_cars_and_sb3_ppo_trains():
    from stable_baselines3 import PPO

    venv = make_multi_agent_vector_env("roadgym/Merge-v0", 2, 3, **SMALL)
    venv.reset(seed=0)
    rng = np.random.default_rng(0)
    seen_padding = False
    for _ in range(40):
        actions = rng.uniform(-1.0, 1.0, (6, 2)).astype(np.float32)
        observation, reward, terminated, truncated, info = venv.step(actions)
        padding = ~info["agent_active"]
        if padding.any():
            seen_padding = True
            assert not observation["rgb"][padding].any() and not reward[padding].any()
    assert seen_padding
    sb3_env = make_multi_agent_sb3_vec_env(
        "roadgym/Merge-v0", 2, 4, seed=0, observation="kinematics", action_type="meta"
    )
    assert sb3_env.num_envs == 8
    model = PPO("MlpPolicy", sb3_env, n_steps=32, batch_size=64, n_epochs=1, seed=0)
    model.learn(256)
    assert model.num_timesteps >= 256


def test_the_expert_drives_every_car_without_a_collision():
    from roadgym.drivers.expert import ExpertDriver

    env = make_multi_agent_vector_env(
        "roadgym/Merge-v0", 2, 6, observation="kinematics", vehicles_count=12
    )
    observation, _ = env.reset(seed=1_000_000)
    expert = ExpertDriver(env)
    for _ in range(60):
        actions, _ = expert.predict(observation)
        assert actions.shape == (12, 2)
        observation, _, terminated, _, info = env.step(actions)
        assert not terminated.any() and not info["crashed"].any()
    assert info["distance_m"].min() > 200.0  # all twelve drove on, 12 s at 17+ m/s


def test_snapshot_draws_every_controlled_car_of_a_world():
    from roadgym.tools.snapshot import multi_agent_snapshot

    picture = multi_agent_snapshot("roadgym/Highway-v0", 0, 2, agents=3)
    assert picture.shape[0] == 512 and picture.shape[2] == 3
    # Around car 0, cars 1 and 2 are drawn in their agent colours (AGENT_COLOURS[1:3]).
    render = picture[:, :512].reshape(-1, 3)
    assert (render == (240, 240, 240)).all(axis=1).any()
    assert (render == (200, 60, 220)).all(axis=1).any()


def test_parallel_env_refuses_bad_actions_and_steps_after_the_end():
    env = parallel_env("roadgym/Highway-v0", num_agents=2, max_cycles=2, **SMALL)
    with pytest.raises(RuntimeError, match="reset"):
        env.step({})
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"missing \['car_1'\]"):
        env.step({"car_0": np.zeros(2, np.float32)})
    with pytest.raises(ValueError, match=r"actions\['car_1'\] .* shape \(3,\)"):
        env.step({"car_0": np.zeros(2), "car_1": np.zeros(3)})
    with pytest.raises(ValueError, match="NaN"):
        env.step({"car_0": np.zeros(2), "car_1": np.array([np.nan, 0.0])})
    with pytest.raises(KeyError, match="car_9"):
        env.action_space("car_9")
    for _ in range(2):
        _, _, _, truncated, _ = env.step(dict.fromkeys(env.agents, np.zeros(2, np.float32)))
    assert truncated == {"car_0": True, "car_1": True} and env.agents == []
    with pytest.raises(RuntimeError, match="no agent left"):
        env.step({})


def test_town_cars_each_follow_their_own_route_and_world_i_matches():
    worlds, agents, seed = 2, 3, 5
    venv = make_multi_agent_vector_env("roadgym/Town-v0", worlds, agents, **SMALL_TOWN)
    first, _ = venv.reset(seed=seed)
    world = venv.world
    starts = world.route_xy[:, 0]  # (C, 2): every car its own route and start
    for w in range(worlds):
        cars = starts[w * agents : (w + 1) * agents]
        gaps = np.hypot(*(cars[:, None] - cars[None]).transpose(2, 0, 1))
        assert gaps[~np.eye(agents, dtype=bool)].min() >= 12.0
    assert not np.array_equal(world.rasters[0], world.rasters[1])  # each its route painted
    rng = np.random.default_rng(0)
    steps = [rng.uniform(-0.2, 1.0, (worlds * agents, 2)).astype(np.float32) for _ in range(15)]
    outputs = [venv.step(actions) for actions in steps]
    env = parallel_env("roadgym/Town-v0", num_agents=agents, **SMALL_TOWN)
    observation, _ = env.reset(seed=seed + 1)
    for j in range(agents):
        assert np.array_equal(observation[f"car_{j}"], first[agents + j])
    for actions, (v_obs, v_reward, v_term, _, _) in zip(steps, outputs, strict=True):
        if not env.agents:
            break
        live = env.agents
        slot = {a: agents + int(a.removeprefix("car_")) for a in live}
        observation, reward, term, _, _ = env.step({a: actions[slot[a]] for a in live})
        for a in live:
            assert np.array_equal(observation[a], v_obs[slot[a]])
            assert (reward[a], term[a]) == (v_reward[slot[a]], v_term[slot[a]])


def test_town_refuses_more_cars_than_the_town_holds(monkeypatch):
    from roadgym.envs.town import world as town_world
    from roadgym.envs.town.packing import SpawnError

    # Starts 10 km apart: no town holds two cars; the error names the field to change.
    monkeypatch.setattr(town_world, "AGENT_START_GAP_M", 10_000.0)
    env = parallel_env("roadgym/Town-v0", num_agents=2, **SMALL_TOWN)
    with pytest.raises(SpawnError, match=r"num_agents = 2 .* fewer num_agents"):
        env.reset(seed=0)
