"""highway-env's ids, configuration API, spaces and info keys on roadgym (issue 25)."""

from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pytest

import roadgym  # noqa: F401
from roadgym.envs import ConfigError
from roadgym.envs.highway.compat import DEFAULTS

HIGHWAY, FAST, MERGE = "roadgym/highway-v0", "roadgym/highway-fast-v0", "roadgym/merge-v0"


@pytest.mark.parametrize(
    ("env_id", "substeps", "lanes", "vehicles", "duration_s"),
    [(HIGHWAY, 15, 4, 50, 40.0), (FAST, 5, 3, 20, 30.0)],
)
def test_highway_ids_have_highway_envs_defaults(env_id, substeps, lanes, vehicles, duration_s):
    env = gym.make(env_id)
    cfg = env.unwrapped.world.config
    assert env.action_space == gym.spaces.Discrete(5)  # DiscreteMetaAction
    assert env.observation_space.shape == (5, 5)  # Kinematics
    assert (cfg.substeps, cfg.lanes_count, cfg.vehicles_count, cfg.duration_s) == (
        substeps, lanes, vehicles, duration_s,
    )  # fmt: skip
    assert cfg.policy_frequency_hz == 1.0 and cfg.max_curvature_per_m == 0.0
    config = env.unwrapped.config
    assert config["simulation_frequency"] == substeps and config["policy_frequency"] == 1
    assert config["observation"] == {"type": "Kinematics"}
    assert dict(config) == DEFAULTS[env_id.split("/")[1]]


def test_the_issues_failing_calls_work_and_take_effect_at_the_next_reset():
    env = gym.make(
        FAST,
        config={
            "observation": {"type": "Kinematics"},
            "action": {"type": "DiscreteMetaAction"},
            "duration": 10,
            "policy_frequency": 1,
        },
    )
    unwrapped = env.unwrapped
    assert unwrapped.world.config.duration_s == 10.0
    unwrapped.config["simulation_frequency"] = 15
    assert unwrapped.config["simulation_frequency"] == 15
    assert unwrapped.world.config.substeps == 5  # not before the reset, as highway-env
    env.reset(seed=0)
    assert unwrapped.world.config.substeps == 15
    unwrapped.configure({"lanes_count": 2, "vehicles_count": 7})
    unwrapped.config.update({"duration": 5})
    env.reset(seed=0, options={"config": {"high_speed_reward": 0.3}})
    cfg = unwrapped.world.config
    assert (cfg.lanes_count, cfg.vehicles_count, cfg.duration_s) == (2, 7, 5.0)
    assert cfg.high_speed_reward == 0.3
    steps, truncated = 0, False
    while not truncated:
        _, _, terminated, truncated, _ = env.step(1)
        steps += 1
        assert not terminated or steps < 5
        if terminated:
            break
    assert terminated or steps == 5  # duration 5 s at 1 Hz


@pytest.mark.parametrize(
    ("config", "match"),
    [
        ({"lane_count": 3}, "'lane_count' is unknown.*allowed: action"),
        ({"lanes_count": 9}, "lanes_count = 9 is out of range.*'lanes_count'"),
        ({"simulation_frequency": "fast"}, "simulation_frequency.*allowed: a number"),
        ({"observation": {"type": "TimeToCollision"}}, "'TimeToCollision' is not supported"),
        ({"observation": {"type": "Kinematics", "featurs": []}}, "'featurs'; allowed: type"),
        ({"observation": {"type": "Kinematics", "features": ["x", "cos_d"]}}, "cos_d"),
        ({"observation": {"type": "OccupancyGrid", "absolute": True}}, "absolute = True"),
        ({"observation": {"type": "GrayscaleObservation", "observation_shape": (8, 8)}}, "16"),
        ({"action": {"type": "DiscreteAction"}}, "allowed: DiscreteMetaAction"),
        ({"action": {"type": "MultiAgentAction"}}, "needs 'action_config'"),
        ({"action": {"type": "ContinuousAction", "dynamical": True}}, "dynamical"),
        ({"other_vehicles_type": "highway_env.vehicle.behavior.LinearVehicle"}, "IDM"),
        ({"controlled_vehicles": 99}, "num_agents = 99.*'controlled_vehicles'"),
        ({"offroad_terminal": False}, "off the road"),
        ({"screen_width": 800}, "render_size_px"),
        ({"simulation_frequency": 5, "policy_frequency": 15}, "policy_frequency"),
        ({"roadgym": {"dt_s": 0.1}}, "simulation_frequency"),
        ({"roadgym": {"lane_widht_m": 3.5}}, "lane_widht_m"),
    ],
)
def test_unknown_or_unsupported_keys_raise_naming_the_key(config, match):
    with pytest.raises(ConfigError, match=match):
        gym.make(FAST, config=config)


def test_a_bad_value_set_on_the_mapping_raises_at_the_next_reset_and_bad_names_at_once():
    env = gym.make(FAST)
    with pytest.raises(ConfigError, match="'lane_count'"):
        env.unwrapped.config["lane_count"] = 3
    with pytest.raises(KeyError, match="'lane_count' is unknown"):
        env.unwrapped.config["lane_count"]
    assert "lane_count" not in env.unwrapped.config
    assert env.unwrapped.config.get("merging_speed_reward", 0) == 0  # as highway-env reads it
    env.unwrapped.config["lanes_count"] = 1
    with pytest.raises(ConfigError, match="lanes_count = 1"):
        env.reset()
    with pytest.raises(ConfigError, match="merging_speed_reward"):
        gym.make(FAST, config={"merging_speed_reward": -0.5})  # a merge-v0 key
    with pytest.raises(ConfigError, match="'duration'"):
        gym.make(MERGE, config={"duration": 10})  # highway-env's merge has no duration


def test_roadgym_fields_without_a_highway_env_key_pass_through_the_roadgym_key():
    env = gym.make(FAST, config={"roadgym": {"lane_width_m": 3.5, "render_size_px": 128}})
    env.reset(seed=0)
    assert env.unwrapped.world.config.lane_width_m == 3.5
    assert env.unwrapped.config.render_size_px == 128  # roadgym's fields read as attributes
    # Keyword arguments (what roadgym's own tools pass) go the same way.
    curved = gym.make(FAST, max_curvature_per_m=0.002, action_type="meta")
    assert curved.unwrapped.world.config.max_curvature_per_m == 0.002
    with pytest.raises(ConfigError, match=r"action_type \(from config\['action'\]\)"):
        gym.make(FAST, action_type="discrete")
    with pytest.raises(ConfigError, match="frame_stack = 4.*stack_size"):
        gym.make(FAST, frame_stack=4)  # would be silently unused
    with pytest.raises(ConfigError, match="kinematics_heading"):
        gym.make(FAST, config={"roadgym": {"kinematics_heading": True}})


def rollout(env_id, config, steps=8, seed=3, actions=None):
    env = gym.make(env_id, config=config)
    obs, info = env.reset(seed=seed)
    trace = [obs]
    rng = np.random.default_rng(0)
    for _ in range(steps):
        action = env.action_space.sample() if actions is None else actions(rng)
        obs, reward, terminated, truncated, info = env.step(action)
        trace.append((obs, reward, terminated, info["speed"]))
        if terminated or truncated:
            break
    return env, trace


def test_kinematics_options_absolute_relative_normalize_and_features():
    features = ["presence", "x", "y", "vx", "vy", "cos_h", "sin_h", "heading", "lat_off"]
    raw = {"type": "Kinematics", "features": features, "normalize": False, "vehicles_count": 8,
           "see_behind": True}  # fmt: skip
    env_abs = gym.make(FAST, config={"observation": {**raw, "absolute": True}})
    env_rel = gym.make(FAST, config={"observation": raw})
    absolute, _ = env_abs.reset(seed=5)
    relative, _ = env_rel.reset(seed=5)
    assert absolute.shape == (8, 9) and env_abs.observation_space.contains(absolute)
    present = absolute[1:, 0] == 1
    assert present.sum() >= 3
    for column in (1, 2, 3, 4):  # x, y, vx, vy: others relative to the ego row
        np.testing.assert_allclose(
            relative[1:, column][present], absolute[1:, column][present] - absolute[0, column],
            atol=1e-3,
        )  # fmt: skip
    np.testing.assert_array_equal(relative[0], absolute[0])  # the ego row is absolute
    np.testing.assert_allclose(absolute[:, 5] ** 2 + absolute[:, 6] ** 2, absolute[:, 0], atol=1e-5)
    lane_width = env_abs.unwrapped.world.config.lane_width_m
    assert np.all(np.abs(absolute[present.nonzero()[0] + 1, 2] / lane_width % 1) < 0.3)
    # normalize maps x by 200 m, y by lanes x width, v by 80 m/s, clipped to [-1, 1].
    env_norm = gym.make(FAST, config={"observation": {**raw, "normalize": True}})
    normalized, _ = env_norm.reset(seed=5)
    expected = np.clip(relative[:, 1] / 200.0, -1, 1) * np.r_[1.0, present]
    np.testing.assert_allclose(normalized[:, 1], expected, atol=1e-5)
    assert np.all(np.abs(normalized[:, 1:5]) <= 1.0)


def test_kinematics_shuffled_order_keeps_the_ego_row_and_the_same_rows():
    sorted_obs, _ = gym.make(FAST).reset(seed=2)
    env = gym.make(FAST, config={"observation": {"type": "Kinematics", "order": "shuffled"}})
    shuffled, _ = env.reset(seed=2)
    np.testing.assert_array_equal(shuffled[0], sorted_obs[0])
    rows = lambda table: sorted(map(tuple, table[1:].round(5)))  # noqa: E731
    assert rows(shuffled) == rows(sorted_obs)


def test_occupancy_grid_shape_options_and_the_ego_cell():
    grid_options = {"grid_size": [[-20, 20], [-12, 12]], "grid_step": [4, 4]}
    features = ["presence", "vx", "on_road"]
    config = {"observation": {"type": "OccupancyGrid", "features": features, **grid_options}}
    env = gym.make(FAST, config=config)
    grid, _ = env.reset(seed=1)
    assert grid.shape == (3, 10, 6) and env.observation_space.contains(grid)
    assert grid[0, 5, 3] == 1.0 and grid[1, 5, 3] == 0.0  # the ego car, its own relative vx
    assert grid[2, 5, 3] == 1.0  # it stands on the road
    assert grid[2].sum() < grid[2].size  # the grid reaches beyond the 3-lane road
    image = gym.make(FAST, config={"observation": {"type": "OccupancyGrid", "as_image": True}})
    frame, _ = image.reset(seed=1)
    assert frame.dtype == np.uint8 and frame.shape == (4, 11, 11)


def test_grayscale_observation_stacks_frames_as_highway_env():
    config = {"observation": {"type": "GrayscaleObservation", "observation_shape": (128, 64),
                              "stack_size": 4, "weights": [0.2989, 0.5870, 0.1140],
                              "scaling": 1.75}}  # fmt: skip
    env = gym.make(FAST, config=config)
    assert env.observation_space == gym.spaces.Box(0, 255, (4, 128, 64), np.uint8)
    first, _ = env.reset(seed=0)
    assert not first[:3].any() and first[3].std() > 5  # zeros, then the first frame
    second, *_ = env.step(1)
    np.testing.assert_array_equal(second[2], first[3])
    assert not second[:2].any() and env.observation_space.contains(second)
    # The road runs along axis 0: grey values vary less along it than across it.
    frame = second[3].astype(np.float64)
    assert np.abs(np.diff(frame, axis=0)).mean() < np.abs(np.diff(frame, axis=1)).mean()


def test_discrete_meta_action_subsets_follow_highway_envs_tables():
    env = gym.make(FAST, config={"action": {"type": "DiscreteMetaAction", "lateral": False,
                                            "target_speeds": [20, 25, 30, 35]}})  # fmt: skip
    assert env.action_space == gym.spaces.Discrete(3)  # SLOWER, IDLE, FASTER
    env.reset(seed=0)
    world = env.unwrapped.world
    before = int(world.ego_speed_index[0])
    env.step(2)  # FASTER
    assert world.ego_speed_index[0] == before + 1
    env.step(0)  # SLOWER
    assert world.ego_speed_index[0] == before
    with pytest.raises(ValueError, match=r"\[0, 2\]"):
        env.step(3)


def test_continuous_action_is_acceleration_then_steering():
    config = {"action": {"type": "ContinuousAction"}, "policy_frequency": 5, "vehicles_count": 0}
    env = gym.make(FAST, config=config)
    assert env.action_space == gym.spaces.Box(-1, 1, (2,), np.float32)
    env.reset(seed=0)
    speed = env.unwrapped.world.car.speed_mps[0]
    _, _, _, _, info = env.step(np.array([1.0, 0.0], np.float32))
    assert info["speed"] > speed + 0.5  # full acceleration: 5 m/s^2 for 0.2 s
    y0 = -env.unwrapped.world.veh_d[0, -1]
    for _ in range(2):
        _, _, terminated, _, _ = env.step(np.array([0.0, 0.05], np.float32))  # steer right
        assert not terminated
    assert -env.unwrapped.world.veh_d[0, -1] > y0 + 0.1  # towards +y, the right lanes
    lateral = gym.make(FAST, config={"action": {"type": "ContinuousAction",
                                                "longitudinal": False}})  # fmt: skip
    assert lateral.action_space.shape == (1,)


def test_info_keys_and_the_reward_from_its_terms():
    env = gym.make(FAST)
    _, info = env.reset(seed=4)
    assert info["action"] is None and set(info["rewards"]) == {
        "collision_reward", "right_lane_reward", "high_speed_reward", "on_road_reward",
    }  # fmt: skip
    cfg = env.unwrapped.config
    for action in (3, 3, 2, 1, 0):
        _, reward, terminated, _, info = env.step(action)
        terms = info["rewards"]
        assert info["action"] == action and isinstance(info["crashed"], bool)
        assert info["speed"] == pytest.approx(env.unwrapped.world.car.speed_mps[0])
        total = sum(cfg[name] * terms[name] for name in terms if name != "on_road_reward")
        best = cfg["high_speed_reward"] + cfg["right_lane_reward"]
        expected = (total - cfg["collision_reward"]) / (best - cfg["collision_reward"])
        assert reward == pytest.approx(expected * terms["on_road_reward"])
        if terminated:
            break


def test_merge_v0_ends_past_the_ramp_with_highway_envs_merge_reward():
    env = gym.make(MERGE)
    cfg = env.unwrapped.world.config
    assert cfg.on_ramp and cfg.lanes_count == 2 and cfg.vehicles_count == 4
    _, info = env.reset(seed=0)
    hw = env.unwrapped.config
    rewards = []
    for _ in range(40):
        _, reward, terminated, truncated, info = env.step(1)  # IDLE
        terms = info["rewards"]
        total = sum(hw[name] * value for name, value in terms.items())
        worst = hw["collision_reward"] + hw["merging_speed_reward"]
        best = hw["high_speed_reward"] + hw["right_lane_reward"]
        assert reward == pytest.approx((total - worst) / (best - worst))
        rewards.append(reward)
        if terminated or truncated:
            break
    assert terminated and not truncated
    assert info["crashed"] or info["distance_m"] > 340.0  # past the ramp: x > 370 m


@pytest.mark.parametrize(
    ("env_id", "config"),
    [
        (HIGHWAY, None),
        (MERGE, {"action": {"type": "ContinuousAction"}}),
        (FAST, {"observation": {"type": "Kinematics", "order": "shuffled"}}),
        (FAST, {"observation": {"type": "GrayscaleObservation", "observation_shape": (32, 16)}}),
    ],
)
def test_same_seed_same_rollout(env_id, config):
    def actions(rng):
        return (
            rng.uniform(-1, 1, 2).astype(np.float32)
            if config and "action" in config
            else int(rng.integers(5))
        )

    _, first = rollout(env_id, config, actions=actions)
    _, second = rollout(env_id, config, actions=actions)
    np.testing.assert_array_equal(first[0], second[0])
    assert len(first) == len(second)
    for (obs_a, *rest_a), (obs_b, *rest_b) in zip(first[1:], second[1:], strict=True):
        np.testing.assert_array_equal(obs_a, obs_b)
        assert rest_a == rest_b


@pytest.mark.parametrize(
    "config",
    [
        {"observation": {"type": "OccupancyGrid"}, "action": {"type": "ContinuousAction"}},
        {
            "controlled_vehicles": 2,
            "observation": {
                "type": "MultiAgentObservation",
                "observation_config": {"type": "Kinematics"},
            },
            "action": {"type": "MultiAgentAction", "action_config": {"type": "DiscreteMetaAction"}},
        },
        {
            "observation": {
                "type": "GrayscaleObservation",
                "observation_shape": (64, 32),
                "stack_size": 2,
            }
        },  # fmt: skip
    ],
)
def test_other_types_pass_the_gymnasium_checker(config):
    from gymnasium.utils.env_checker import check_env

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(gym.make(FAST, config=config).unwrapped)


@pytest.mark.parametrize(
    ("env_id", "shape", "actions"),
    [
        ("roadgym/Track-state-discrete-v0", (8,), 9),
        ("roadgym/Town-state-discrete-v0", (10,), 9),
        ("roadgym/Highway-state-discrete-v0", (25,), 5),
        ("roadgym/Merge-state-discrete-v0", (25,), 5),
    ],
)
def test_id_only_variants_are_flat_vectors_with_discrete_actions(env_id, shape, actions):
    env = gym.make(env_id)
    assert env.observation_space.shape == shape and env.action_space == gym.spaces.Discrete(actions)
    single, _ = env.reset(seed=8)
    vector = gym.make_vec(env_id, num_envs=2)
    batch, _ = vector.reset(seed=7)
    assert batch.shape == (2, *shape)
    np.testing.assert_array_equal(batch[1], single)  # world i is the single env seeded s + i
    vector.close()


def test_the_docs_page_covers_every_key_and_every_registered_variant():
    from pathlib import Path

    page = (Path(__file__).parents[2] / "docs" / "highway-env.md").read_text()
    for defaults in DEFAULTS.values():
        for key in defaults:
            assert f"`{key}`" in page, key
    for env_id in roadgym.ENV_IDS:
        if env_id.endswith("-state-discrete-v0") or env_id.split("/")[1][0].islower():
            assert f"`{env_id}`" in page, env_id


def test_highway_envs_multi_agent_form_gives_tuples_per_controlled_car():
    config = {
        "controlled_vehicles": 3,
        "observation": {
            "type": "MultiAgentObservation",
            "observation_config": {"type": "Kinematics", "vehicles_count": 6},
        },
        "action": {"type": "MultiAgentAction", "action_config": {"type": "DiscreteMetaAction"}},
    }
    env = gym.make(FAST, config=config)
    assert [space.shape for space in env.observation_space] == [(6, 5)] * 3
    assert env.action_space == gym.spaces.Tuple([gym.spaces.Discrete(5)] * 3)
    obs, _ = env.reset(seed=0)
    world = env.unwrapped.world
    assert world.num_agents == 3 and world.config.finished_agent_mode == "park"
    assert isinstance(obs, tuple) and len(obs) == 3 and env.observation_space.contains(obs)
    own_x = world.own(world.veh_s)
    for car in range(3):  # each table's row 0 is that car, absolute
        assert obs[car][0, 1] == pytest.approx(min(own_x[car] / 200.0, 1.0), abs=1e-5)
    world.ego_speed_index[:] = 1
    obs, reward, terminated, truncated, info = env.step((1, 3, 4))  # IDLE, FASTER, SLOWER
    assert world.ego_speed_index.tolist() == [1, 2, 0]
    assert len(info["agents_rewards"]) == 3 and len(info["agents_terminated"]) == 3
    assert reward == info["agents_rewards"][0] and terminated == info["agents_terminated"][0]
    with pytest.raises(ValueError, match="tuple of 3 actions"):
        env.step(1)


def test_several_controlled_cars_without_the_multi_agent_forms_act_for_car_0():
    env = gym.make(FAST, config={"controlled_vehicles": 2})
    obs, _ = env.reset(seed=0)
    assert obs.shape == (5, 5) and env.action_space == gym.spaces.Discrete(5)
    world = env.unwrapped.world
    world.ego_speed_index[:] = 1
    env.step(3)  # FASTER for car 0; car 1 keeps its speed (IDLE), as in highway-env
    assert world.ego_speed_index.tolist() == [2, 1]


@pytest.mark.parametrize("name", ["highway-v0", "highway-fast-v0", "merge-v0"])
@pytest.mark.parametrize(
    "config",
    [
        None,
        {"observation": {"type": "OccupancyGrid"}, "action": {"type": "ContinuousAction"}},
        {
            "observation": {
                "type": "GrayscaleObservation",
                "observation_shape": (128, 64),
                "stack_size": 4,
                "weights": [0.2989, 0.5870, 0.1140],
            }
        },  # fmt: skip
        {"action": {"type": "DiscreteMetaAction", "longitudinal": False}},
    ],
)
def test_keys_and_spaces_match_the_installed_highway_env(name, config):
    pytest.importorskip("highway_env")
    if name == "merge-v0" and "ContinuousAction" in repr(config):
        pytest.skip("highway-env's merge-v0 fails with ContinuousAction (`action in [0, 2]`)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # highway-env's own deprecation notices
        theirs = gym.make(name, config=config)
    ours = gym.make(f"roadgym/{name}", config=config)
    their_config, our_config = theirs.unwrapped.config, dict(ours.unwrapped.config)
    assert set(our_config) == set(their_config)
    differ = {key for key in our_config if repr(our_config[key]) != repr(their_config[key])}
    assert differ <= {"offroad_terminal"}  # roadgym always ends off the road (documented)
    for mine, other in ((ours.observation_space, theirs.observation_space),
                        (ours.action_space, theirs.action_space)):  # fmt: skip
        assert type(mine) is type(other) and mine.shape == other.shape
        assert mine.dtype == other.dtype
    theirs.close()


def test_available_actions_follow_the_lane_and_the_speed_limits():
    env = gym.make(FAST, config={"lanes_count": 3})
    env.reset(seed=0)
    world = env.unwrapped.world
    world.ego_target_lane[:] = 0
    world.ego_speed_index[:] = 2  # the top target speed
    assert env.unwrapped.get_available_actions() == [1, 2, 4]  # no LANE_LEFT, no FASTER
    world.ego_target_lane[:] = 2
    world.ego_speed_index[:] = 0
    assert env.unwrapped.get_available_actions() == [0, 1, 3]  # no LANE_RIGHT, no SLOWER
    continuous = gym.make(FAST, config={"action": {"type": "ContinuousAction"}})
    with pytest.raises(TypeError, match="DiscreteMetaAction"):
        continuous.unwrapped.get_available_actions()
