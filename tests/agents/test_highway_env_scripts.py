"""highway-env's SB3 example scripts with only the id changed (issue 25).

Each test mirrors the calls of one script in highway-env's ``scripts/`` folder
(``sb3_highway_dqn.py``, ``sb3_highway_ppo.py``, ``sb3_highway_dqn_cnn.py``): the
same ``gym.make`` / ``make_vec_env`` / ``DummyVecEnv`` construction, the same model
hyperparameters (buffers shrunk), ``learn``, ``save`` / ``load``, the ``predict`` loop,
``env.render()`` and the config edits the scripts make. Budgets are small here; the
``expensive`` variants train for a few thousand steps.
"""

from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pytest

pytest.importorskip("stable_baselines3")

from stable_baselines3 import DQN, PPO  # noqa: E402
from stable_baselines3.common.env_util import make_vec_env  # noqa: E402
from stable_baselines3.common.vec_env import DummyVecEnv  # noqa: E402

import roadgym  # noqa: E402,F401  (the scripts' `import highway_env`)

FAST = "roadgym/highway-fast-v0"  # the scripts' "highway-fast-v0"


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread):
    """torch on one thread: these small nets train faster so on a shared CPU."""


def run_dqn_script(tmp_path, total_timesteps: int, episodes: int) -> list[float]:
    """sb3_highway_dqn.py: DQN MlpPolicy on highway-fast, then a recorded evaluation."""
    env = gym.make(FAST, render_mode="rgb_array")
    obs, info = env.reset()
    model = DQN(
        "MlpPolicy",
        env,
        policy_kwargs=dict(net_arch=[256, 256]),
        learning_rate=5e-4,
        buffer_size=min(15000, total_timesteps),
        learning_starts=200,
        batch_size=32,
        gamma=0.8,
        train_freq=1,
        gradient_steps=1,
        target_update_interval=50,
        verbose=0,
        seed=0,
    )
    model.learn(total_timesteps=total_timesteps)
    model.save(tmp_path / "model")
    del model

    model = DQN.load(tmp_path / "model", env=env)
    # The script wraps env in RecordVideo here (moviepy); the calls on the env are these.
    env.unwrapped.config["simulation_frequency"] = 15  # Higher FPS for rendering
    with pytest.warns(UserWarning, match="one video frame per action"):
        env.unwrapped.set_record_video_wrapper(gym.wrappers.RecordEpisodeStatistics(env))
    returns = []
    for _ in range(episodes):
        done = truncated = False
        obs, info = env.reset()
        assert env.unwrapped.world.config.substeps == 15  # the new frequency took effect
        total = 0.0
        while not (done or truncated):
            action, _states = model.predict(obs, deterministic=True)
            obs, reward, done, truncated, info = env.step(action)
            frame = env.render()
            total += reward
        assert frame.shape[2] == 3 and frame.dtype == np.uint8
        assert {"speed", "crashed", "action", "rewards"} <= set(info)
        returns.append(total)
    env.close()
    return returns


def test_sb3_highway_dqn_script_runs_with_the_id_changed(tmp_path):
    returns = run_dqn_script(tmp_path, total_timesteps=240, episodes=1)
    assert len(returns) == 1 and np.isfinite(returns[0])


def run_ppo_script(tmp_path, total_timesteps: int, n_cpu: int, batch_size: int) -> list[float]:
    """sb3_highway_ppo.py: PPO MlpPolicy on n_cpu highway-fast envs from make_vec_env
    (the script's batch_size is 64: one rollout of 12 batches is 768 steps)."""
    env = make_vec_env(FAST, n_envs=n_cpu, seed=0)  # the script's SubprocVecEnv: see below
    model = PPO(
        "MlpPolicy",
        env,
        policy_kwargs=dict(net_arch=[dict(pi=[256, 256], vf=[256, 256])]),
        n_steps=batch_size * 12 // n_cpu,
        batch_size=batch_size,
        n_epochs=10,
        learning_rate=5e-4,
        gamma=0.8,
        verbose=0,
        seed=0,
    )
    model.learn(total_timesteps=total_timesteps)
    model.save(tmp_path / "model")
    model = PPO.load(tmp_path / "model")
    env = gym.make(FAST)
    returns = []
    for _ in range(2):
        obs, info = env.reset()
        done = truncated = False
        total = 0.0
        while not (done or truncated):
            action, _ = model.predict(obs)
            obs, reward, done, truncated, info = env.step(action)
            with warnings.catch_warnings():  # the script renders without a render_mode
                warnings.simplefilter("ignore")
                env.render()
            total += reward
        returns.append(total)
    return returns


def test_sb3_highway_ppo_script_runs_with_the_id_changed(tmp_path):
    returns = run_ppo_script(tmp_path, total_timesteps=192, n_cpu=6, batch_size=16)
    assert all(np.isfinite(returns))


def test_sb3_highway_ppo_script_runs_in_subprocesses():
    """The script's SubprocVecEnv: the id builds and steps in worker processes.

    With SB3's default forkserver, workers import the script's ``__main__``, whose
    ``import roadgym`` registers the ids; under pytest ``__main__`` is pytest, so the
    workers fork from this process instead.
    """
    from stable_baselines3.common.vec_env import SubprocVecEnv

    env = make_vec_env(
        FAST, n_envs=2, vec_env_cls=SubprocVecEnv, seed=0, vec_env_kwargs={"start_method": "fork"}
    )
    try:
        obs = env.reset()
        assert obs.shape == (2, 5, 5)
        obs, reward, done, infos = env.step(np.array([1, 3]))
        assert obs.shape == (2, 5, 5) and reward.shape == (2,)
        assert all("speed" in info for info in infos)
    finally:
        env.close()


def cnn_train_env():
    """sb3_highway_dqn_cnn.py's train_env(), id changed."""
    env = gym.make(
        FAST,
        config={
            "observation": {
                "type": "GrayscaleObservation",
                "observation_shape": (128, 64),
                "stack_size": 4,
                "weights": [0.2989, 0.5870, 0.1140],  # weights for RGB conversion
                "scaling": 1.75,
            },
        },
    )
    env.reset()
    return env


def cnn_test_env():
    """sb3_highway_dqn_cnn.py's test_env(), id changed.

    The script sets policy_frequency 15 on highway-fast's 5 Hz simulation: highway-env
    then simulates nothing (15 // 5 = 0 steps per action); roadgym refuses it, so the
    simulation frequency is raised with it here (the one edit to the script's calls).
    """
    env = cnn_train_env()
    env.unwrapped.config.update({"policy_frequency": 15, "duration": 20})
    with pytest.raises(roadgym.envs.ConfigError, match="policy_frequency"):
        env.reset()
    env.unwrapped.config.update({"simulation_frequency": 15})
    env.reset()
    return env


def run_cnn_script(tmp_path, total_timesteps: int) -> None:
    model = DQN(
        "CnnPolicy",
        DummyVecEnv([cnn_train_env]),
        learning_rate=5e-4,
        buffer_size=min(15000, total_timesteps),
        learning_starts=min(200, total_timesteps - 16),
        batch_size=32,
        gamma=0.8,
        train_freq=1,
        gradient_steps=1,
        target_update_interval=50,
        exploration_fraction=0.7,
        verbose=0,
        seed=0,
    )
    assert model.observation_space.shape == (4, 128, 64)
    model.learn(total_timesteps=total_timesteps)
    model.save(tmp_path / "model")
    model = DQN.load(tmp_path / "model")

    env = DummyVecEnv([cnn_test_env])
    # The script reads env.envs[0].config; Gymnasium >= 1.0 wrappers no longer forward
    # attributes (highway-env's own script fails there too), so through .unwrapped.
    video_length = 2 * env.envs[0].unwrapped.config["duration"]
    assert video_length == 40
    obs = env.reset()
    for _ in range(video_length + 1):
        action, _ = model.predict(obs)
        obs, _, _, _ = env.step(action)
    assert obs.shape == (1, 4, 128, 64)
    env.close()


def test_sb3_highway_dqn_cnn_script_runs_with_the_id_changed(tmp_path):
    run_cnn_script(tmp_path, total_timesteps=64)


@pytest.mark.expensive
@pytest.mark.timeout(1200)
def test_sb3_highway_dqn_script_for_a_few_thousand_steps(tmp_path):
    returns = run_dqn_script(tmp_path, total_timesteps=3000, episodes=3)
    print(f"dqn 3000 steps: evaluation returns {returns}")
    assert len(returns) == 3 and all(np.isfinite(returns))


@pytest.mark.expensive
@pytest.mark.timeout(1200)
def test_sb3_highway_ppo_script_for_a_few_thousand_steps(tmp_path):
    returns = run_ppo_script(tmp_path, total_timesteps=3072, n_cpu=6, batch_size=64)
    print(f"ppo 3072 steps: returns {returns}")
    assert all(np.isfinite(returns))


@pytest.mark.expensive
@pytest.mark.timeout(1200)
def test_sb3_highway_dqn_cnn_script_for_a_few_thousand_steps(tmp_path):
    run_cnn_script(tmp_path, total_timesteps=1000)
