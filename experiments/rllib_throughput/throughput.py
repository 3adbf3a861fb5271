"""Where an RLlib env runner's time goes on a roadgym world, and PPO env steps per second.

``python experiments/rllib_throughput/throughput.py [--worlds M] [--steps N]
[--ppo-iterations I]`` prints two tables (also written as JSON with ``--json``):

1. One env runner's sampling, built up layer by layer for M worlds (random actions
   unless stated): the batched world alone; plus RLlib's ``DictInfoToList`` (the
   batched info dict split into M dicts); plus the env runner's per-world episode
   bookkeeping (``SingleAgentEpisode.add_env_step`` for each world, obs unbatched into
   M arrays, callbacks) without and with roadgym's driving-metrics callback; and with the
   policy (connectors + RLModule forward) choosing the actions.
2. PPO training, env steps per second sampled over ``Algorithm.train()`` time, for
   K = 1 and 2 env runners with M worlds each, and SB3 PPO on roadgym's batched adapter
   with the same hyperparameters (shipped ``ppo.yml`` entry, K x M worlds).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import ray
import torch
from gymnasium.wrappers.vector import DictInfoToList
from ray.rllib.callbacks.callbacks import RLlibCallback
from ray.rllib.env.single_agent_env_runner import SingleAgentEnvRunner

from roadgym.agents.hyperparams import resolve_settings
from roadgym.agents.rllib.config import build_ppo_config

__all__ = ["main", "ppo_throughput", "sampling_breakdown"]

ENV_ID = "roadgym/Track-v0"


def _settings(**overrides: Any):
    return resolve_settings("ppo", ENV_ID, overrides=overrides)


def _time_vector_env(env: gym.vector.VectorEnv, steps: int) -> float:
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    actions = rng.integers(0, env.single_action_space.n, size=(steps, env.num_envs))
    start = time.perf_counter()
    for t in range(steps):
        env.step(actions[t])
    return steps * env.num_envs / (time.perf_counter() - start)


def _time_runner(config: Any, steps: int, random_actions: bool) -> float:
    runner = SingleAgentEnvRunner(config=config)
    try:
        runner.sample(num_timesteps=runner.num_envs * 32, random_actions=random_actions)  # warm-up
        start = time.perf_counter()
        runner.sample(num_timesteps=runner.num_envs * steps, random_actions=random_actions)
        return runner.num_envs * steps / (time.perf_counter() - start)
    finally:
        runner.stop()


def sampling_breakdown(worlds: int, steps: int) -> list[tuple[str, float]]:
    """(layer, env steps/s) of one env runner's sampling on ``worlds`` Track-v0 worlds."""
    settings = _settings(n_envs=worlds)
    kwargs = dict(settings.env_kwargs)
    make = lambda: gym.make_vec(  # noqa: E731
        ENV_ID, num_envs=worlds, vectorization_mode="vector_entry_point", **kwargs
    )
    rows = [
        ("batched world alone", _time_vector_env(make(), steps)),
        (
            "+ DictInfoToList (info split per world)",
            _time_vector_env(DictInfoToList(make()), steps),
        ),
    ]
    bare = build_ppo_config(settings, envs_per_runner=worlds).callbacks(RLlibCallback)
    rows.append(("+ env runner episode bookkeeping", _time_runner(bare, steps, True)))
    config = build_ppo_config(settings, envs_per_runner=worlds)
    rows.append(("+ roadgym driving-metrics callback", _time_runner(config, steps, True)))
    rows.append(("+ policy (connectors, RLModule forward)", _time_runner(config, steps, False)))
    return rows


def ppo_throughput(
    num_env_runners: int, worlds: int, iterations: int
) -> tuple[float, dict[str, float]]:
    """RLlib PPO env steps/s over ``iterations`` train() calls after one warm-up call."""
    settings = _settings(n_timesteps=10**9)
    algo = build_ppo_config(
        settings, num_env_runners=num_env_runners, envs_per_runner=worlds
    ).build_algo()
    try:
        algo.train()
        sampled = 0
        start = time.perf_counter()
        for _ in range(iterations):
            result = algo.train()
            sampled += int(result["env_runners"]["num_env_steps_sampled"])
        wall = time.perf_counter() - start
    finally:
        algo.stop()
    return sampled / wall, {"env_steps": sampled, "wall_s": round(wall, 1)}


def sb3_throughput(worlds: int, iterations: int) -> float:
    """SB3 PPO env steps/s on roadgym's batched adapter, same YAML, after one rollout."""
    from roadgym.agents.environments import make_training_vec_env
    from roadgym.agents.hyperparams import algo_arguments
    from roadgym.agents.training import build_policy_kwargs

    settings = _settings(n_envs=worlds)
    arguments = algo_arguments(settings)
    venv = make_training_vec_env(
        ENV_ID, worlds, 0, settings.env_kwargs, norm_reward=settings.norm_reward
    )
    from stable_baselines3 import PPO

    model = PPO(
        "CnnPolicy", venv, seed=0, device="cpu", policy_kwargs=build_policy_kwargs(settings),
        **arguments,
    )  # fmt: skip
    batch = arguments["n_steps"] * worlds
    model.learn(batch)  # warm-up
    start = time.perf_counter()
    model.learn(batch * iterations, reset_num_timesteps=False)
    wall = time.perf_counter() - start
    venv.close()
    return batch * iterations / wall


def main(argv: Sequence[str] | None = None) -> int:
    """Print the sampling breakdown and the PPO table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--worlds", type=int, default=16, help="M worlds per env runner")
    parser.add_argument("--steps", type=int, default=200, help="batched steps per sampling row")
    parser.add_argument("--ppo-iterations", type=int, default=3, help="train() calls timed")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--skip-ppo", action="store_true")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    report: dict[str, Any] = {"worlds": args.worlds, "load_avg": os.getloadavg()}
    rows = sampling_breakdown(args.worlds, args.steps)
    report["sampling"] = rows
    print(f"one env runner, {args.worlds} Track-v0 worlds, {args.steps} batched steps")
    for name, rate in rows:
        print(f"  {name:<45} {rate:9,.0f} env steps/s")
    if not args.skip_ppo:
        cpus = max(os.cpu_count() or 1, 3)
        ray.init(address="local", num_cpus=cpus, include_dashboard=False, log_to_driver=False)
        ppo = []
        for runners in (1, 2):
            rate, parts = ppo_throughput(runners, args.worlds, args.ppo_iterations)
            ppo.append((f"RLlib PPO, {runners} env runner(s) x {args.worlds} worlds", rate, parts))
        ray.shutdown()
        for worlds in (args.worlds, 2 * args.worlds):
            ppo.append(
                (f"SB3 PPO, make_sb3_vec_env {worlds} worlds", sb3_throughput(worlds, 2), {})
            )
        report["ppo"] = ppo
        print("PPO training (shipped Track-v0 ppo.yml), env steps/s")
        for name, rate, parts in ppo:
            print(f"  {name:<45} {rate:9,.0f}  {parts}")
    report["load_avg_end"] = os.getloadavg()
    if args.json is not None:
        args.json.write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
