"""The stable-baselines3 VecEnv over one batch: DummyVecEnv semantics, training, wrappers."""

import gymnasium as gym
import numpy as np
import pytest

pytest.importorskip("stable_baselines3")

from stable_baselines3 import DQN, PPO  # noqa: E402
from stable_baselines3.common.env_util import make_vec_env  # noqa: E402
from stable_baselines3.common.monitor import Monitor  # noqa: E402
from stable_baselines3.common.vec_env import (  # noqa: E402
    DummyVecEnv,
    SubprocVecEnv,
    VecEnv,
    VecFrameStack,
    VecNormalize,
    VecTransposeImage,
)

import roadgym  # noqa: E402, F401
from roadgym.envs import make_sb3_vec_env  # noqa: E402

SHORT = 30


def weaving_actions(n_envs, steps):
    """Full throttle, weaving harder in later envs: some leave the road, some time out."""
    amplitude = np.linspace(0.05, 1.5, n_envs)
    return [
        np.stack(
            [np.clip(amplitude * np.sin(t / 7 + np.arange(n_envs)), -1, 1), np.ones(n_envs)],
            axis=-1,
        ).astype(np.float32)
        for t in range(steps)
    ]


def assert_same(a, b):
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        for key in a:
            np.testing.assert_array_equal(a[key], b[key])
    else:
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("observation", ["rgb", "rgb+state"])
def test_behaves_exactly_like_a_seeded_dummy_vec_env_across_episode_ends(observation):
    n_envs, seed = 3, 40
    fields = {"observation": observation, "max_episode_steps": SHORT}
    ours = make_sb3_vec_env("roadgym/Track-v0", n_envs, seed=seed, **fields)
    dummy = DummyVecEnv([lambda: Monitor(gym.make("roadgym/Track-v0", **fields))] * n_envs)
    dummy.seed(seed)
    assert isinstance(ours, VecEnv)
    assert ours.observation_space == dummy.observation_space
    assert ours.action_space == dummy.action_space
    assert_same(ours.reset(), dummy.reset())
    assert ours.reset_infos == dummy.reset_infos
    ends = {"terminated": 0, "truncated": 0}
    for action in weaving_actions(n_envs, 80):
        obs_a, reward_a, done_a, infos_a = ours.step(action)
        obs_b, reward_b, done_b, infos_b = dummy.step(action)
        assert_same(obs_a, obs_b)
        np.testing.assert_array_equal(reward_a, reward_b)
        assert reward_a.dtype == reward_b.dtype
        np.testing.assert_array_equal(done_a, done_b)
        for i, (info_a, info_b) in enumerate(zip(infos_a, infos_b, strict=True)):
            assert info_a.keys() == info_b.keys()
            for key in info_a:
                if key == "terminal_observation":
                    assert_same(info_a[key], info_b[key])
                elif key == "episode":  # Monitor's statistics; "t" is wall time
                    assert info_a[key].keys() == info_b[key].keys()
                    assert info_a[key]["r"] == info_b[key]["r"]
                    assert info_a[key]["l"] == info_b[key]["l"]
                else:
                    assert info_a[key] == info_b[key], key
            if done_a[i]:
                ends["truncated" if info_a["TimeLimit.truncated"] else "terminated"] += 1
        assert ours.reset_infos == dummy.reset_infos
    assert ends["terminated"] >= 2 and ends["truncated"] >= 1, ends


def test_seed_then_reset_is_reproducible_and_differs_between_seeds():
    venv = make_sb3_vec_env(n_envs=2, observation="state")
    assert venv.seed(5) == [5, 6]
    first = venv.reset()
    venv.seed(5)
    np.testing.assert_array_equal(venv.reset(), first)
    venv.seed(6)
    np.testing.assert_array_equal(venv.reset()[0], first[1])


def test_attributes_methods_and_render():
    venv = make_sb3_vec_env(n_envs=2, seed=0, render_mode="rgb_array", render_size_px=96)
    venv.reset()
    assert venv.get_attr("observation_space") == [venv.observation_space] * 2
    assert venv.get_attr("render_mode", indices=[1]) == ["rgb_array"]
    assert venv.get_attr("config")[0].camera_size_px == 64
    assert venv.has_attr("label_names") and not venv.has_attr("no_such_thing")
    # Monitor's statistics are built in, as in a DummyVecEnv of Monitor-wrapped envs.
    assert venv.env_is_wrapped(Monitor) == [True, True]
    assert venv.env_is_wrapped(gym.wrappers.TimeAwareObservation) == [False, False]
    labels = venv.env_method("get_labels")
    assert len(labels) == 2 and set(labels[0]) == {"road_layout"}
    frames = venv.env_method("render", indices=[0])
    assert frames[0].shape == (96, 96, 3)
    tiled = venv.render()
    assert tiled.shape[2] == 3 and tiled.shape[0] * tiled.shape[1] == 2 * 96 * 96
    venv.set_attr("label_names", {"road_layout": ("a", "b", "c")})
    with pytest.raises(ValueError, match="share one simulator"):
        venv.set_attr("label_names", {}, indices=[0])
    with pytest.raises(AttributeError, match="allowed: render, get_labels"):
        venv.env_method("reset")


def test_sb3_wrappers_stack_transpose_and_normalise():
    venv = make_sb3_vec_env(n_envs=2, seed=0)
    stacked = VecTransposeImage(VecFrameStack(venv, n_stack=4))
    assert stacked.reset().shape == (2, 12, 64, 64)
    observation, *_ = stacked.step(np.zeros((2, 2), np.float32))
    assert observation.shape == (2, 12, 64, 64)

    normalised = VecNormalize(make_sb3_vec_env(n_envs=2, seed=0, observation="state"))
    normalised.reset()
    for _ in range(5):
        observation, reward, *_ = normalised.step(np.ones((2, 2), np.float32))
    assert observation.dtype == np.float32 and np.isfinite(reward).all()


def test_video_recorder_wraps_it(tmp_path):
    pytest.importorskip("moviepy", reason="VecVideoRecorder needs moviepy (not installed)")
    from stable_baselines3.common.vec_env import VecVideoRecorder

    venv = make_sb3_vec_env(n_envs=2, seed=0, render_mode="rgb_array", render_size_px=64)
    recorder = VecVideoRecorder(
        venv, str(tmp_path), record_video_trigger=lambda step: step == 0, video_length=5
    )
    recorder.reset()
    for _ in range(6):
        recorder.step(np.zeros((2, 2), np.float32))
    recorder.close()
    assert list(tmp_path.glob("*.mp4"))


def test_ppo_trains_on_pixels():
    venv = make_sb3_vec_env(n_envs=4, seed=0)
    model = PPO("CnnPolicy", venv, n_steps=16, batch_size=32, n_epochs=1, seed=0, device="cpu")
    model.learn(64)
    assert model.num_timesteps >= 64


def test_dqn_trains_with_discrete_actions():
    venv = make_sb3_vec_env(n_envs=4, seed=0, action_type="discrete", observation="state")
    model = DQN(
        "MlpPolicy", venv, learning_starts=16, buffer_size=500, batch_size=16, seed=0, device="cpu"
    )
    model.learn(64)
    assert model.num_timesteps >= 64


def test_subproc_vec_env_with_spawned_workers_registers_and_matches():
    # Spawned workers start a fresh interpreter that has not imported roadgym: the
    # "roadgym:" prefix makes gymnasium.make import (and so register) it there.
    subproc = make_vec_env(
        "roadgym:roadgym/Track-v0",
        n_envs=2,
        seed=3,
        env_kwargs={"observation": "state"},
        vec_env_cls=SubprocVecEnv,
        vec_env_kwargs={"start_method": "spawn"},
    )
    ours = make_sb3_vec_env(n_envs=2, seed=3, observation="state")
    try:
        np.testing.assert_array_equal(subproc.reset(), ours.reset())
        for action in weaving_actions(2, 10):
            a, b = subproc.step(action), ours.step(action)
            np.testing.assert_array_equal(a[0], b[0])
            np.testing.assert_array_equal(a[1].astype(np.float32), b[1])  # Subproc: float64
    finally:
        subproc.close()


def test_learn_logs_episode_statistics_without_a_monitor():
    # SB3 fills ep_info_buffer (rollout/ep_rew_mean) from info["episode"] alone.
    from stable_baselines3 import PPO

    venv = make_sb3_vec_env(n_envs=2, seed=0, observation="state", max_episode_steps=20)
    model = PPO("MlpPolicy", venv, n_steps=32, batch_size=32, n_epochs=1, seed=0, device="cpu")
    model.learn(64)
    assert len(model.ep_info_buffer) == 2  # one 20-step episode per world in 32 steps
    episode = model.ep_info_buffer[0]
    assert episode["l"] <= 20 and np.isfinite(episode["r"])
