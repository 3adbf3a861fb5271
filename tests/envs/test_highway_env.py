"""roadgym/Highway-v0 and Merge-v0: interface, traffic models, observations, seeding."""

import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import roadgym  # noqa: F401  (registers the env ids)
from roadgym.envs import ConfigError
from roadgym.envs.highway import observation
from roadgym.envs.highway.ego import FASTER, IDLE, LANE_LEFT, LANE_RIGHT, SLOWER
from roadgym.envs.highway.world import HighwayWorld

IDS = ("roadgym/Highway-v0", "roadgym/Merge-v0")
INFO_KEYS = {
    "speed_mps",
    "crashed",
    "off_road",
    "lane_index",
    "lane_changes",
    "distance_m",
    "npc_collisions",
    "labels",
}


@pytest.mark.parametrize("env_id", IDS)
@pytest.mark.parametrize(
    ("observation", "action_type"),
    [("kinematics", "meta"), ("rgb+semantic+state+kinematics+occupancy_grid", "discrete")],
)
def test_modes_pass_the_gymnasium_checker(env_id, observation, action_type):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        env = gym.make(env_id, observation=observation, action_type=action_type)
        check_env(env.unwrapped)


def test_spaces_follow_highway_env():
    env = gym.make("roadgym/Highway-v0", observation="kinematics", action_type="meta")
    assert env.action_space == gym.spaces.Discrete(5)
    assert env.observation_space.shape == (5, 5) and env.observation_space.dtype == np.float32
    env = gym.make("roadgym/Highway-v0", observation="kinematics", kinematics_heading=True)
    assert env.observation_space.shape == (5, 7)
    env = gym.make("roadgym/Highway-v0", observation="occupancy_grid+rgb")
    assert env.observation_space["occupancy_grid"].shape == (4, 11, 11)
    assert env.observation_space["rgb"].shape == (64, 64, 3)


def test_bad_config_and_actions_name_the_field():
    with pytest.raises(ConfigError, match="policy_frequency_hz"):
        gym.make("roadgym/Highway-v0", policy_frequency_hz=2.0)  # 5 Hz / 2 Hz
    with pytest.raises(ConfigError, match="lanes_count"):
        gym.make("roadgym/Highway-v0", lanes_count=6)
    with pytest.raises(ConfigError, match="observation"):
        gym.make("roadgym/Highway-v0", observation="kinematics+lidar")
    with pytest.raises(ConfigError, match="ego_on_ramp"):
        gym.make("roadgym/Highway-v0", ego_on_ramp=True)
    env = gym.make("roadgym/Highway-v0", action_type="meta")
    env.reset(seed=0)
    with pytest.raises(ValueError, match="out of range"):
        env.step(5)


@pytest.mark.parametrize("env_id", IDS)
def test_same_seed_same_observations_rewards_and_infos(env_id):
    fields = {"observation": "rgb+kinematics", "action_type": "meta"}
    env_a, env_b = gym.make(env_id, **fields), gym.make(env_id, **fields)
    obs_a, _ = env_a.reset(seed=5)
    obs_b, _ = env_b.reset(seed=5)
    other, _ = gym.make(env_id, **fields).reset(seed=6)
    assert not np.array_equal(obs_a["rgb"], other["rgb"])
    for action in np.random.default_rng(0).integers(0, 5, 60):
        step_a, step_b = env_a.step(action), env_b.step(action)
        np.testing.assert_array_equal(step_a[0]["rgb"], step_b[0]["rgb"])
        np.testing.assert_array_equal(step_a[0]["kinematics"], step_b[0]["kinematics"])
        assert step_a[1:] == step_b[1:]
        if step_a[2] or step_a[3]:
            break


@pytest.mark.parametrize("env_id", IDS)
def test_vector_world_i_equals_a_single_env_seeded_s_plus_i(env_id):
    fields = {"observation": "rgb+kinematics+state", "action_type": "meta"}
    n, steps = 3, 45
    envs = gym.make_vec(
        env_id,
        num_envs=n,
        vectorization_mode="vector_entry_point",
        autoreset_mode=gym.vector.AutoresetMode.SAME_STEP,
        duration_s=6.0,
        **fields,
    )
    rng = np.random.default_rng(1)
    actions = rng.integers(0, 5, (steps, n))
    batched = [envs.reset(seed=20)]
    batched += [envs.step(a) for a in actions]
    for i in range(n):
        env = gym.make(env_id, duration_s=6.0, **fields)
        observation, info = env.reset(seed=20 + i)
        np.testing.assert_array_equal(batched[0][0]["rgb"][i], observation["rgb"])
        for t, action in enumerate(actions[:, i]):
            observation, reward, terminated, truncated, info = env.step(action)
            b_obs, b_reward, b_term, b_trunc, b_info = batched[t + 1]
            assert (b_reward[i], b_term[i], b_trunc[i]) == (reward, terminated, truncated)
            if terminated or truncated:
                observation, info = env.reset()
            for mode in fields["observation"].split("+"):
                np.testing.assert_array_equal(b_obs[mode][i], observation[mode])
            assert b_info["speed_mps"][i] == info["speed_mps"]


def test_meta_actions_change_lane_and_speed_at_the_policy_frequency():
    env = gym.make(
        "roadgym/Highway-v0",
        action_type="meta",
        observation="state",
        policy_frequency_hz=1.0,
        vehicles_count=0,
        max_curvature_per_m=0.0,
        lanes_count=3,
    )
    env.reset(seed=0)
    world = env.unwrapped.world
    world.ego_target_lane[0] = 1  # drive from the middle lane
    env.step(IDLE)
    env.step(IDLE)
    assert world.time_s[0] == pytest.approx(2.0)  # one action = 1 s = 5 steps of 0.2 s
    assert world.ego_lane_index[0] == 1
    changes = world.lane_changes[0]
    _, _, _, _, info = env.step(LANE_LEFT)
    env.step(IDLE)
    _, _, _, _, info = env.step(IDLE)
    assert info["lane_index"] == 0 and info["lane_changes"] == changes + 1
    env.step(LANE_LEFT)  # no lane further left: ignored, as in highway-env
    assert world.ego_target_lane[0] == 0
    env.step(LANE_RIGHT)
    assert world.ego_target_lane[0] == 1
    for _ in range(3):
        env.step(FASTER)
    _, _, _, _, info = env.step(IDLE)
    assert info["speed_mps"] == pytest.approx(30.0, abs=0.5)
    for _ in range(4):
        _, _, _, _, info = env.step(SLOWER)
    assert info["speed_mps"] == pytest.approx(20.0, abs=0.5)


def test_truncation_at_duration_and_highway_reward():
    env = gym.make(
        "roadgym/Highway-v0",
        action_type="meta",
        observation="kinematics",
        policy_frequency_hz=2.5,
        duration_s=2.8,
        vehicles_count=0,
        max_curvature_per_m=0.0,
    )
    env.reset(seed=1)
    world = env.unwrapped.world
    rewards, truncated = [], False
    steps = 0
    while not truncated:
        _, reward, terminated, truncated, _ = env.step(IDLE)
        rewards.append(reward)
        steps += 1
        assert not terminated
    assert steps == 7  # 2.8 s at 2.5 actions per second
    lane = world.ego_target_lane[0]
    cfg = world.config
    speed = (world.car.speed_mps[0] - 20.0) / 10.0
    raw = cfg.right_lane_reward * lane / (cfg.lanes_count - 1) + cfg.high_speed_reward * speed
    assert rewards[-1] == pytest.approx((raw + 1.0) / (0.5 + 1.0), abs=1e-3)


def test_collision_with_an_npc_ends_the_episode_with_reward_zero():
    env = gym.make("roadgym/Highway-v0", action_type="meta", observation="kinematics")
    env.reset(seed=2)
    world = env.unwrapped.world
    n = world.num_npcs
    # Park an NPC in front of the ego car, in its lane.
    world.veh_s[0, 0] = world.veh_s[0, n] + 6.0
    world.veh_d[0, 0] = world.veh_d[0, n]
    world.veh_lane[0, 0] = world.ego_lane_index[0]
    world.veh_speed[0, 0] = 0.0
    world.veh_desired_mps[0, 0] = 0.0
    _, reward, terminated, _, info = env.step(IDLE)
    assert terminated and info["crashed"]
    assert reward == pytest.approx(world.config.right_lane_reward * 0, abs=0.3)


def test_leaving_the_road_ends_the_episode():
    env = gym.make("roadgym/Highway-v0", vehicles_count=0)
    env.reset(seed=0)
    for _ in range(60):
        _, reward, terminated, _, info = env.step(np.array([1.0, 0.0], np.float32))
        if terminated:
            break
    assert terminated and info["off_road"] and reward == 0.0


def test_kinematics_rows_follow_highway_env_conventions():
    env = gym.make("roadgym/Highway-v0", observation="kinematics", vehicles_count=4)
    env.reset(seed=0)
    world = env.unwrapped.world
    n = world.num_npcs
    s0, d0 = world.veh_s[0, n], world.veh_d[0, n]
    # Cars 20 m ahead one lane right, 8 m behind (hidden: more than 2 car lengths back
    # only with see_behind... 8 m < 9 m, so visible), 300 m ahead (beyond 200 m), 60 m ahead.
    world.veh_s[0, :n] = s0 + np.array([20.0, -8.0, 300.0, 60.0])
    world.veh_d[0, :n] = d0 + np.array([-4.0, 0.0, 0.0, 4.0])
    world.veh_speed[0, :n] = world.veh_speed[0, n] + np.array([2.0, 0.0, 0.0, -4.0])
    world.veh_heading_error[0, :n] = 0.0
    obs = observation.kinematics(world)[0]
    assert obs.shape == (5, 5)
    ego = obs[0]
    assert ego[0] == 1.0 and ego[1] == pytest.approx(min(s0 / 200.0, 1.0))
    assert ego[2] == pytest.approx(-d0 / 16.0, abs=1e-6)  # y: lane i at i * 4 m of 4 lanes
    # Sorted by distance along the road: -8 m, +20 m, +60 m; the car 300 m ahead is out.
    np.testing.assert_allclose(obs[1:4, 1], np.array([-8.0, 20.0, 60.0]) / 200.0, atol=1e-5)
    np.testing.assert_allclose(obs[1:4, 2], np.array([0.0, 4.0, -4.0]) / 16.0, atol=1e-5)
    assert obs[2, 3] == pytest.approx(2.0 / 80.0, abs=1e-4)
    np.testing.assert_array_equal(obs[4], 0.0)  # missing row
    np.testing.assert_array_equal(obs[1:4, 0], 1.0)


def test_occupancy_grid_puts_the_ego_car_in_the_centre_cell_on_the_road():
    env = gym.make("roadgym/Highway-v0", observation="occupancy_grid", vehicles_count=1)
    env.reset(seed=0)
    world = env.unwrapped.world
    n = world.num_npcs
    world.veh_s[0, 0] = world.veh_s[0, n] + 11.0  # two cells ahead
    world.veh_d[0, 0] = world.veh_d[0, n]
    grid = observation.occupancy_grid(world)[0]
    assert grid[0, 5, 5] == 1.0 and grid[0, 7, 5] == 1.0 and grid[0].sum() == 2.0
    assert grid[3, 5, 5] == 1.0  # on the road
    assert grid[3].min() == 0.0  # the grid reaches past the road's edge


def test_labels_name_the_lane_and_the_cars_around():
    env = gym.make("roadgym/Highway-v0", vehicles_count=2, lanes_count=3)
    env.reset(seed=0)
    world = env.unwrapped.world
    n = world.num_npcs
    world.ego_lane_index[0] = 0
    world.veh_s[0, :n] = world.veh_s[0, n] + np.array([20.0, 3.0])
    world.veh_lane[0, :n] = [0, 1]
    world.veh_from_lane[0, :n] = -1
    labels = observation.labels(world)
    assert labels["lane_index"][0] == 0
    assert labels["vehicle_ahead"][0] == 1
    assert labels["left_lane"][0] == 2  # no lane left of lane 0
    assert labels["right_lane"][0] == 1
    assert set(HighwayWorld.LABEL_NAMES) == set(labels)


@pytest.mark.parametrize("env_id", IDS)
def test_npc_traffic_holds_its_density_and_never_collides_under_defaults(env_id):
    envs = gym.make_vec(
        env_id,
        num_envs=6,
        vectorization_mode="vector_entry_point",
        observation="state",
        action_type="meta",
    )
    envs.reset(seed=0)
    world = envs.world
    n = world.num_npcs
    changes = 0
    for _ in range(150):  # 30 s of traffic
        before = world.veh_lane[:, :n].copy()
        envs.step(np.full(6, IDLE))
        changes += (world.veh_lane[:, :n] != before).sum()
    assert world.npc_collisions.sum() == 0
    rel = world.veh_s[:, :n] - world.veh_s[:, n : n + 1]
    cfg = world.config
    inside = (rel >= -cfg.recycle_behind_m - 10) & (rel <= cfg.recycle_ahead_m + 10)
    assert inside.mean() > 0.9  # recycled, not lost (a few wait for a free spot)
    assert changes > 20  # MOBIL changes lanes
    # Free NPCs approach their desired speeds; no car goes backwards.
    assert world.veh_speed[:, :n].min() >= 0.0
    assert world.veh_speed[:, :n].mean() > 0.8 * world.veh_desired_mps[:, :n].mean()


def test_idm_keeps_a_gap_and_mobil_overtakes_a_slow_car():
    env = gym.make(
        "roadgym/Highway-v0",
        vehicles_count=2,
        lanes_count=2,
        action_type="meta",
        observation="state",
        max_curvature_per_m=0.0,
        recycle_ahead_m=1000.0,
    )
    env.reset(seed=0)
    world = env.unwrapped.world
    n = world.num_npcs
    s0 = world.veh_s[0, n]
    # A slow car in the right lane 60 m ahead of a fast one; the ego far behind in lane 0.
    world.ego_target_lane[0] = 0
    world.veh_s[0, :n] = s0 + np.array([100.0, 40.0])
    world.veh_lane[0, :n] = 1
    world.veh_d[0, :n] = -4.0
    world.veh_speed[0, :n] = [15.0, 25.0]
    world.veh_desired_mps[0, :n] = [15.0, 28.0]
    env.step(SLOWER)
    passed = False
    for _ in range(60):
        env.step(SLOWER)
        gap = world.veh_s[0, 0] - world.veh_s[0, 1]
        assert abs(gap) > world.config.car_length_m or world.veh_lane[0, 0] != world.veh_lane[0, 1]
        passed |= gap < -10.0
    assert passed  # the fast car changed lanes and went by


def test_merge_ramp_cars_merge_and_the_ramp_lane_ends():
    env = gym.make("roadgym/Merge-v0", action_type="meta", observation="state", vehicles_count=4)
    env.reset(seed=0)
    world = env.unwrapped.world
    ramp = world.config.lanes_count
    assert (world.veh_lane[0, : world.num_npcs] == ramp).sum() == 4
    for _ in range(150):
        _, _, terminated, truncated, _ = env.step(IDLE)
        if terminated or truncated:
            break
    on_ramp = (world.veh_lane[0, : world.num_npcs] == ramp) & (
        world.veh_s[0, : world.num_npcs] > world.ramp_end_s[0] - 1.0
    )
    assert not on_ramp.any()  # nobody drives past the end of the ramp lane
    assert world.npc_collisions[0] == 0
    # An ego car that stays on the ramp runs out of road.
    env = gym.make(
        "roadgym/Merge-v0",
        action_type="meta",
        ego_on_ramp=True,
        vehicles_count=0,
        observation="state",
    )
    env.reset(seed=0)
    for _ in range(200):
        _, _, terminated, _, info = env.step(IDLE)
        if terminated:
            break
    assert terminated and info["off_road"]


def test_expert_drives_held_out_seeds_without_collisions():
    from roadgym.agents.evaluation import expert_final_infos

    seeds = list(range(5000, 5012))
    for env_id in IDS:
        finals = expert_final_infos(env_id, seeds, num_envs=12, observation="state")
        assert not any(f["crashed"] or f["off_road"] for f in finals), env_id
        assert all(f["distance_m"] > 250.0 for f in finals)


def test_meta_expert_changes_lane_when_staying_means_a_collision():
    # Development seeds on which the meta-action expert used to crash at 1 Hz: a queue
    # slower than the lowest target speed (20 m/s) ahead, and a lane beside it that
    # MOBIL's IDM test called unsafe (1000116, 1000261, 1000435), or a car two lanes
    # over moving into the same lane (1000262).
    from roadgym.agents.evaluation import expert_final_infos

    seeds = [1000116, 1000261, 1000262, 1000435]
    finals = expert_final_infos(
        "roadgym/Highway-v0",
        seeds,
        num_envs=4,
        observation="state",
        action_type="meta",
        policy_frequency_hz=1.0,
    )
    assert not any(f["crashed"] or f["off_road"] for f in finals)
    assert sum(f["lane_changes"] for f in finals) >= 3  # it got out of the slow lanes


def test_sb3_adapter_runs_kinematics_and_meta():
    from roadgym.envs import make_sb3_vec_env

    venv = make_sb3_vec_env(
        "roadgym/Highway-v0", n_envs=4, seed=0, observation="kinematics", action_type="meta"
    )
    obs = venv.reset()
    assert obs.shape == (4, 5, 5)
    for _ in range(5):
        obs, rewards, dones, infos = venv.step(np.full(4, IDLE))
    assert rewards.shape == (4,) and "crashed" in infos[0]
    venv.close()


def test_highway_env_class_has_a_name_distinct_from_highway_envs_and_the_old_one_warns():
    import roadgym.envs.highway as highway
    from roadgym.envs.highway import HighwayWorldEnv, MergeWorldEnv

    env = gym.make("roadgym/Highway-v0")
    assert type(env.unwrapped) is HighwayWorldEnv
    env.close()
    with pytest.warns(DeprecationWarning, match="HighwayEnv is renamed HighwayWorldEnv"):
        assert highway.HighwayEnv is HighwayWorldEnv
    with pytest.warns(DeprecationWarning, match="MergeEnv is renamed MergeWorldEnv"):
        from roadgym.envs.highway.env import MergeEnv
    assert MergeEnv is MergeWorldEnv
    with pytest.raises(AttributeError):
        highway.NoSuchEnv  # noqa: B018


def test_the_highway_driver_module_has_one_name_and_the_old_one_warns():
    import roadgym.drivers as drivers
    from roadgym.drivers.highway import holds_target

    with pytest.warns(DeprecationWarning, match="renamed roadgym.drivers.highway"):
        assert drivers.highway_expert.holds_target is holds_target
