"""SB3 PPO training speed: roadgym's batched VecEnv against CarRacing-v3."""

from __future__ import annotations

import importlib.util
import time
from typing import Any


def _small_cnn_kwargs() -> tuple[dict[str, Any], str]:
    """policy_kwargs for a small CNN: roadgym's NatureCNN encoder with thin channels."""
    try:
        from roadgym.perception.extractor import RoadgymEncoderExtractor

        kwargs = {
            "features_extractor_class": RoadgymEncoderExtractor,
            "features_extractor_kwargs": {
                "encoder": "nature",
                "encoder_options": {"channels": (16, 32, 32), "features_dim": 256},
            },
        }
        return kwargs, "roadgym NatureCNN encoder, channels (16, 32, 32), 256 features"
    except ImportError:
        from stable_baselines3.common.torch_layers import NatureCNN

        kwargs = {"features_extractor_class": NatureCNN, "features_extractor_kwargs": {}}
        kwargs["features_extractor_kwargs"]["features_dim"] = 256
        return kwargs, "SB3 NatureCNN, 256 features (roadgym.perception not importable)"


def ppo_throughput(quick: bool) -> dict[str, Any]:
    """Env steps per wall second of SB3 PPO learn(): roadgym vs CarRacing-v3."""
    if importlib.util.find_spec("stable_baselines3") is None:
        return {"skipped": "stable-baselines3 not installed (pip install -e .[train])"}
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.env_util import make_vec_env

    from roadgym.envs import make_sb3_vec_env

    torch.set_num_threads(1)
    # The same PPO for both: 1024 steps per rollout, 4 epochs of 256-sample minibatches.
    common = {"batch_size": 256, "n_epochs": 4, "device": "cpu", "seed": 0, "verbose": 0}
    rollouts = 1 if quick else 4
    results: dict[str, Any] = {}

    policy_kwargs, cnn = _small_cnn_kwargs()
    roadgym_envs = 64
    venv = make_sb3_vec_env("roadgym/Track-v0", roadgym_envs, seed=0)
    model = PPO(
        "CnnPolicy", venv, n_steps=1024 // roadgym_envs, policy_kwargs=policy_kwargs, **common
    )
    results["roadgym"] = _timed_learn(model, rollouts * 1024)
    results["roadgym"]["setup"] = f"make_sb3_vec_env n_envs={roadgym_envs}, rgb 64x64, {cnn}"
    venv.close()

    if importlib.util.find_spec("Box2D") is None:
        results["carracing"] = {"skipped": "gymnasium[box2d] not installed"}
        return results
    carracing_envs = 8
    venv = make_vec_env("CarRacing-v3", n_envs=carracing_envs, seed=0)
    model = PPO("CnnPolicy", venv, n_steps=1024 // carracing_envs, **common)
    results["carracing"] = _timed_learn(model, (1 if quick else 2) * 1024)
    results["carracing"]["setup"] = (
        f"DummyVecEnv of {carracing_envs} CarRacing-v3, rgb 96x96, SB3 CnnPolicy (NatureCNN)"
    )
    venv.close()
    results["ratio"] = results["roadgym"]["steps_per_s"] / results["carracing"]["steps_per_s"]
    results["cpu_ratio"] = (
        results["roadgym"]["steps_per_cpu_s"] / results["carracing"]["steps_per_cpu_s"]
    )
    return results


def _timed_learn(model: Any, budget: int) -> dict[str, Any]:
    model.learn(1024)  # warm-up rollout and update (allocations, first convolutions)
    before = model.num_timesteps
    start, cpu_start = time.perf_counter(), time.process_time()
    model.learn(budget, reset_num_timesteps=False)
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    steps = model.num_timesteps - before
    return {
        "steps": steps,
        "seconds": seconds,
        "steps_per_s": steps / seconds,
        "steps_per_cpu_s": steps / cpu_seconds,
    }
