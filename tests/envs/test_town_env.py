import gymnasium as gym
import numpy as np
import pytest

import roadgym  # noqa: F401
from roadgym.envs import ConfigError
from roadgym.envs.town import TownEnv

INFO_KEYS = {
    "route_completion",
    "collisions_vehicle",
    "collisions_pedestrian",
    "red_light_violations",
    "stop_sign_violations",
    "off_road",
    "off_route",
    "success",
    "stalled",
    "average_speed_mps",
    "driving_score",
    "speed_mps",
    "labels",
}


def rollout(seed: int, steps: int = 300, **fields):
    env = gym.make("roadgym/Town-v0", **fields)
    observation, info = env.reset(seed=seed)
    rng = np.random.default_rng(7)
    trace = [(observation, None, info)]
    for _ in range(steps):
        action = np.array([rng.uniform(-0.1, 0.1), rng.uniform(-0.6, 0.8)], np.float32)
        observation, reward, terminated, truncated, info = env.step(action)
        trace.append((observation, reward, info))
        if terminated or truncated:
            observation, info = env.reset()
            trace.append((observation, None, info))
    return trace


def test_same_seed_same_pixels_rewards_and_infos_over_300_steps():
    first = rollout(seed=21, observation="rgb+semantic+state")
    second = rollout(seed=21, observation="rgb+semantic+state")
    assert len(first) == len(second)
    for (obs_a, reward_a, info_a), (obs_b, reward_b, info_b) in zip(first, second, strict=True):
        for key in obs_a:
            np.testing.assert_array_equal(obs_a[key], obs_b[key])
        assert reward_a == reward_b
        assert info_a == info_b


def test_different_seeds_give_different_towns():
    env = gym.make("roadgym/Town-v0")
    frames = set()
    for seed in range(4):
        observation, _ = env.reset(seed=seed)
        frames.add(observation.tobytes())
        assert len(env.unwrapped.world.towns[0].lane_graph) > 50
    assert len(frames) == 4


def test_info_metrics_labels_and_label_names():
    env = gym.make("roadgym/Town-v0", observation="state")
    observation, info = env.reset(seed=0)
    assert set(info) == INFO_KEYS
    assert observation in env.observation_space
    for _ in range(5):
        observation, _, _, _, info = env.step(np.array([0.0, 1.0], np.float32))
    assert set(info) == INFO_KEYS and 0.0 < info["route_completion"] < 0.1
    assert info["labels"] == env.unwrapped.get_labels()
    names = env.unwrapped.label_names
    assert names["light_state"] == ("none", "red", "yellow", "green")
    assert names["object_ahead"] == ("none", "vehicle", "pedestrian")
    assert names["road_layout"] == ("straight", "curve", "intersection")
    for key, value in info["labels"].items():
        if key in names:
            assert 0 <= value < len(names[key])
    assert observation[4] in (-1.0, 0.0, 1.0)  # next turn direction


def test_rgb_array_render_and_human_render_headless(monkeypatch):
    env = gym.make("roadgym/Town-v0", render_mode="rgb_array", render_size_px=256)
    env.reset(seed=0)
    env.step(np.array([0.0, 1.0], np.float32))
    frame = env.render()
    assert frame.shape == (256, 256, 3) and frame.dtype == np.uint8
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    human = gym.make("roadgym/Town-v0", render_mode="human", render_size_px=128)
    human.reset(seed=0)
    human.step(np.array([0.0, 1.0], np.float32))
    assert human.unwrapped._window.screen is not None
    human.close()
    human.close()


def test_registration_bad_input_and_truncation():
    assert "roadgym/Town-v0" in roadgym.ENV_IDS
    assert gym.spec("roadgym/Town-v0").max_episode_steps == 2000
    env = TownEnv()
    with pytest.raises(RuntimeError, match=r"step\(\) called before reset\(\)"):
        env.step(np.zeros(2))
    env.reset(seed=0)
    with pytest.raises(ValueError, match="contains NaN or inf"):
        env.step(np.array([np.nan, 0.0]))
    short = gym.make("roadgym/Town-v0", max_episode_steps=3)
    short.reset(seed=0)
    assert not short.step(np.zeros(2, np.float32))[3]
    short.step(np.zeros(2, np.float32))
    assert short.step(np.zeros(2, np.float32))[3]


def test_vector_env_world_matches_a_single_env_and_sb3_adapter_runs():
    vector = gym.make_vec("roadgym/Town-v0", num_envs=3, vectorization_mode="vector_entry_point")
    observations, infos = vector.reset(seed=5)
    assert observations.shape == (3, 64, 64, 3) and infos["labels"]["road_layout"].shape == (3,)
    single = gym.make("roadgym/Town-v0")
    observation, _ = single.reset(seed=6)
    np.testing.assert_array_equal(observation, observations[1])
    rng = np.random.default_rng(0)
    for _ in range(30):
        actions = np.stack([rng.uniform(-0.1, 0.1, 3), rng.uniform(-0.5, 1.0, 3)], -1)
        observations, rewards, _, _, infos = vector.step(actions.astype(np.float32))
        observation, reward, _, _, info = single.step(actions[1].astype(np.float32))
        np.testing.assert_array_equal(observation, observations[1])
        assert (
            reward == rewards[1]
            and info["labels"]["light_state"] == infos["labels"]["light_state"][1]
        )
    from roadgym.envs import make_sb3_vec_env

    venv = make_sb3_vec_env("roadgym/Town-v0", n_envs=2, seed=0, observation="state")
    assert venv.reset().shape == (2, 10)
    venv.step(np.zeros((2, 2), np.float32))


def test_nav_mode_holds_speed_and_the_next_turn_only():
    env = gym.make("roadgym/Town-v0", observation="rgb+nav+state")
    observation, _ = env.reset(seed=3)
    for _ in range(20):
        observation, *_ = env.step(np.array([0.0, 1.0], np.float32))
    state, nav = observation["state"], observation["nav"]
    assert env.observation_space["nav"].shape == (3,)
    assert env.observation_space["nav"].contains(nav)
    # speed fraction, next-turn direction and distance are the state vector's fields 0, 4, 5
    np.testing.assert_allclose(nav, state[[0, 4, 5]], rtol=1e-6)
    assert nav[0] > 0.0


def test_nav_mode_is_town_only():
    with pytest.raises(ConfigError, match="observation"):
        gym.make("roadgym/Track-v0", observation="rgb+nav")


def test_town_frame_stack_matches_between_single_and_vector_env():
    kwargs = {"observation": "rgb+nav", "frame_stack": 3}
    single = gym.make("roadgym/Town-v0", **kwargs)
    vector = gym.make_vec(
        "roadgym/Town-v0", num_envs=2, vectorization_mode="vector_entry_point", **kwargs
    )
    first, _ = single.reset(seed=7)
    batch, _ = vector.reset(seed=6)  # world 1 is seeded 7
    # A fresh stack repeats the first frame k times.
    np.testing.assert_array_equal(first["nav"][:3], first["nav"][6:])
    action = np.array([0.0, 1.0], np.float32)
    for _ in range(4):
        observation, *_ = single.step(action)
        batch, *_ = vector.step(np.stack([action, action]))
    assert observation["rgb"].shape == (64, 64, 9) and observation["nav"].shape == (9,)
    np.testing.assert_array_equal(observation["rgb"], batch["rgb"][1])
    np.testing.assert_array_equal(observation["nav"], batch["nav"][1])
    speeds = observation["nav"][0::3]
    assert np.all(np.diff(speeds) > 0)  # oldest first: the car is speeding up
