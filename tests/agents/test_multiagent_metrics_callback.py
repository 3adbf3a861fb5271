"""The multi-agent TensorBoard callback: per-car episodes (padding left out) and
per-world episodes, written under driving/ and multiagent/; roadgym train uses it."""

from __future__ import annotations

import numpy as np
from stable_baselines3.common.logger import configure

from roadgym.agents.curves import read_scalars
from roadgym.agents.multiagent_metrics import MultiAgentMetricsCallback


class _Model:
    """What BaseCallback.init_callback reads of a model."""

    def __init__(self, env, logger) -> None:
        self.env, self.logger, self.num_timesteps = env, logger, 0

    def get_env(self):
        return self.env


class _Env:
    num_envs = 4  # 2 worlds x 2 cars

    def get_attr(self, name, indices=None):
        assert name == "num_agents"
        return [2]


def _info(**kw):
    return {"speed_mps": 10.0, "crashed": False, **kw}


def test_counts_cars_and_worlds_once_and_writes_the_tags(tmp_path):
    logger = configure(str(tmp_path), ["tensorboard"])
    callback = MultiAgentMetricsCallback()
    callback.init_callback(_Model(_Env(), logger))
    callback.on_training_start({}, {})
    world = {"controlled_collisions": 1, "routes_finished": 1, "junction_exits": 6}
    episode = {"episode": {"r": 1.0, "l": 2}}
    steps = [
        # step 1: car 0 of world 0 crashes (a real car's end); nothing else ends
        ([True, False, False, False], [_info(crashed=True, **episode), _info(), _info(), _info()]),
        # step 2: world 0 ends (car 1 truncated, car 0's padding ends); world 1 goes on
        (
            [True, True, False, False],
            [_info(**world), _info(**world, **episode), _info(), _info()],
        ),
    ]
    for dones, infos in steps:
        callback.update_locals({"rewards": np.zeros(4), "dones": np.array(dones), "infos": infos})
        callback.on_step()
    assert (callback.cars_ended, callback.worlds_ended) == (2, 1)
    logger.dump(1)
    scalars = read_scalars(tmp_path)
    assert scalars["driving/crashed"][1][-1] == 0.5  # 1 of 2 real cars, padding left out
    assert scalars["multiagent/controlled_collisions"][1][-1] == 1.0
    assert scalars["multiagent/routes_finished"][1][-1] == 1.0
    assert scalars["multiagent/route_finished_rate"][1][-1] == 0.5
    assert scalars["multiagent/junction_exits"][1][-1] == 6.0


def test_ppo_on_the_multi_agent_batch_logs_world_metrics(tmp_path):
    from stable_baselines3 import PPO

    from roadgym.envs.multiagent import make_multi_agent_sb3_vec_env

    venv = make_multi_agent_sb3_vec_env(
        "roadgym/Merge-v0", 2, 3, seed=0, observation="kinematics", action_type="meta",
        duration_s=3.0, policy_frequency_hz=1.0,
    )  # fmt: skip
    model = PPO("MlpPolicy", venv, n_steps=8, batch_size=24, n_epochs=1, seed=0)
    model.set_logger(configure(str(tmp_path), ["tensorboard"]))
    callback = MultiAgentMetricsCallback()
    model.learn(48, callback=callback)  # 8 steps of 6 slots
    assert callback.worlds_ended == 2 * (8 // 3)  # each world ends every 3 steps (3 s, 1 Hz)
    tags = set(read_scalars(tmp_path))
    assert {"driving/crashed", "multiagent/controlled_collisions"} <= tags
    assert "multiagent/agents_driving" in tags


def test_roadgym_train_on_several_cars_a_world_logs_them(tmp_path, capsys):
    from roadgym.agents.cli import train_main, watch_main
    from roadgym.agents.watch import count_video_frames

    args = ["--algo", "ppo", "--env", "roadgym/Merge-v0", "--n-envs", "2", "--timesteps", "48"]
    for field in (
        "env_kwargs.num_agents=3", "env_kwargs.observation=kinematics",
        "env_kwargs.action_type=meta", "env_kwargs.duration_s=3",
        "env_kwargs.policy_frequency_hz=1", "policy=MlpPolicy", "encoder=null", "n_steps=8",
        "batch_size=24", "n_epochs=1", "video_freq=0", "checkpoint_freq=0",
    ):  # fmt: skip
        args += ["--set", field]
    refused = train_main([*args, "--set", "eval_freq=100", "--run-dir", str(tmp_path / "a")])
    assert refused != 0 and "eval_freq = 100" in capsys.readouterr().err
    assert not (tmp_path / "a").exists()  # refused before any file
    assert train_main([*args, "--set", "eval_freq=0", "--run-dir", str(tmp_path / "b")]) == 0
    tags = set(read_scalars(tmp_path / "b" / "tb"))
    assert {"driving/crashed", "multiagent/controlled_collisions"} <= tags
    # roadgym watch takes the run's model: one policy drives the world's three cars.
    video = tmp_path / "b.mp4"
    argv = ["--model", str(tmp_path / "b" / "model.zip"), "--episodes", "1"]
    assert watch_main([*argv, "--agent", "car_2", "--record", str(video)]) == 0
    assert count_video_frames(video) == 3 + 1  # 3 s at 1 Hz, and the last state
