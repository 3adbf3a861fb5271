"""SB3 DQN on highway-env and on roadgym's Highway-v0, side by side.

    python experiments/highway_dqn/highway_dqn.py [--budget-s 480] [--episodes 50] \\
        [--out highway_dqn.json]

Both agents use the settings of highway-env's own SB3 DQN example (``MlpPolicy`` with
two layers of 256, learning rate 5e-4, buffer 15000, learning starts 200, batch 32,
gamma 0.8, train and update every step, target update every 50 steps, and its
exploration: epsilon from 1 to 0.05 over the first 2,000 steps), one env each and the
same wall-clock budget, trained one after the other in this process: first
``highway-fast-v0`` (its defaults: Kinematics, meta actions at 1 Hz, 3 lanes, 30 s),
then ``roadgym/Highway-v0`` with ``kinematics`` + ``meta`` at 1 Hz, 3 lanes, 20
vehicles, 30 s (highway-fast-v0's numbers).
Each then plays ``--episodes`` held-out episodes, deterministically, reset with seeds
100000 and up (training resets once with ``--seed``, then continues its generator, so
never with these). The table: collision rate, mean speed, return, steps and wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

import roadgym  # noqa: F401  (registers the env ids)
from roadgym.tools.benchmark.anchors import HIGHWAY_FAST_LIKE

# highway-env's scripts/sb3_highway_dqn.py settings.
DQN_SETTINGS: dict[str, Any] = {
    "policy_kwargs": {"net_arch": [256, 256]},
    "learning_rate": 5e-4,
    "buffer_size": 15000,
    "learning_starts": 200,
    "batch_size": 32,
    "gamma": 0.8,
    "train_freq": 1,
    "gradient_steps": 1,
    "target_update_interval": 50,
}
# The example trains ``learn(int(2e4))`` with SB3's default exploration (epsilon from 1 to
# 0.05 over the first 10 % of training): 2,000 steps. Training here runs to a wall-clock
# budget instead, with ``learn`` given MAX_STEPS, so the schedule is set in steps; left
# as a fraction of MAX_STEPS, epsilon would stay near 1 for the whole budget.
EXPLORATION_STEPS = 2_000
MAX_STEPS = 10**9
# kinematics, meta actions at 1 Hz, 3 lanes, 20 vehicles, 30 s: highway-fast-v0's config.
ROADGYM_FIELDS: dict[str, Any] = dict(HIGHWAY_FAST_LIKE)
HELD_OUT_SEED = 100_000


def make_highway_fast() -> gym.Env:
    """highway-env's ``highway-fast-v0`` with its default config."""
    import highway_env  # noqa: F401  (registers its ids)

    return gym.make("highway-fast-v0")


def make_roadgym() -> gym.Env:
    """``roadgym/Highway-v0`` configured as highway-fast-v0 is (see ROADGYM_FIELDS)."""
    return gym.make("roadgym/Highway-v0", **ROADGYM_FIELDS)


def _budget_callback(
    budget_s: float, max_steps: int | None = None, log_every_s: float = 60.0
) -> Any:
    from stable_baselines3.common.callbacks import BaseCallback

    class WallClockBudget(BaseCallback):
        """Stops training after ``budget_s`` seconds of wall time; logs progress."""

        def _on_training_start(self) -> None:
            self.start = self.last_log = time.perf_counter()

        def _on_step(self) -> bool:
            now = time.perf_counter()
            if now - self.last_log > log_every_s:
                self.last_log = now
                print(f"  {now - self.start:6.0f} s  {self.num_timesteps} steps", flush=True)
            if max_steps is not None and self.num_timesteps >= max_steps:
                return False
            return now - self.start < budget_s

    return WallClockBudget()


def train(
    make_env: Callable[[], gym.Env],
    budget_s: float,
    seed: int,
    log_dir: Path,
    max_steps: int | None = None,
) -> Any:
    """DQN with DQN_SETTINGS on one env of ``make_env`` for ``budget_s`` seconds (or
    ``max_steps`` steps, whichever comes first)."""
    from stable_baselines3 import DQN

    model = DQN(
        "MlpPolicy",
        make_env(),
        seed=seed,
        device="cpu",
        verbose=0,
        tensorboard_log=str(log_dir),
        exploration_fraction=EXPLORATION_STEPS / MAX_STEPS,
        **DQN_SETTINGS,
    )
    start = time.perf_counter()
    callback = _budget_callback(budget_s, max_steps)
    model.learn(total_timesteps=MAX_STEPS, callback=callback, progress_bar=False)
    model.train_seconds = time.perf_counter() - start
    return model


def evaluate(model: Any, make_env: Callable[[], gym.Env], episodes: int) -> dict[str, Any]:
    """Deterministic episodes on held-out seeds: collisions, speed, return, steps."""
    env = make_env()
    crashed, returns, lengths, speeds = [], [], [], []
    start = time.perf_counter()
    for episode in range(episodes):
        observation, _ = env.reset(seed=HELD_OUT_SEED + episode)
        done, total, steps, info = False, 0.0, 0, {}
        while not done:
            action, _ = model.predict(observation, deterministic=True)
            observation, reward, terminated, truncated, info = env.step(action)
            done = terminated or truncated
            total += float(reward)
            steps += 1
            speeds.append(float(info.get("speed_mps", info.get("speed", np.nan))))
        crashed.append(bool(info["crashed"]))
        returns.append(total)
        lengths.append(steps)
    env.close()
    return {
        "episodes": episodes,
        "collision_rate": float(np.mean(crashed)),
        "mean_speed_mps": float(np.nanmean(speeds)),
        "return_mean": float(np.mean(returns)),
        "return_std": float(np.std(returns)),
        "episode_steps_mean": float(np.mean(lengths)),
        "eval_seconds": time.perf_counter() - start,
    }


def format_table(results: dict[str, dict[str, Any]]) -> str:
    """The side-by-side Markdown table."""
    lines = [
        "| env | train steps | train wall (s) | steps/s | collision rate | mean speed (m/s) "
        "| return (mean +- std) | episode steps |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in results.items():
        lines.append(
            f"| {name} | {r['train_steps']:,} | {r['train_seconds']:.0f} | "
            f"{r['train_steps'] / r['train_seconds']:.0f} | {r['collision_rate']:.2f} | "
            f"{r['mean_speed_mps']:.1f} | {r['return_mean']:.2f} +- {r['return_std']:.2f} | "
            f"{r['episode_steps_mean']:.1f} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Train both agents, evaluate them, print the table and write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--budget-s", type=float, default=480.0, help="training wall time each")
    parser.add_argument("--episodes", type=int, default=50, help="held-out episodes each")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("highway_dqn.json"))
    parser.add_argument("--run-dir", type=Path, default=Path("runs/highway-dqn"))
    parser.add_argument("--only", choices=("highway-fast-v0", "roadgym/Highway-v0"))
    parser.add_argument(
        "--max-steps", type=int, default=None, help="also stop training after this many steps"
    )
    args = parser.parse_args(argv)

    import torch

    from roadgym.agents.callbacks import save_model_atomic
    from roadgym.perception.atomic import atomic_write_text

    torch.set_num_threads(1)
    runs = {"highway-fast-v0": make_highway_fast, "roadgym/Highway-v0": make_roadgym}
    results: dict[str, dict[str, Any]] = {}
    for name, make_env in runs.items():
        if args.only and name != args.only:
            continue
        print(f"{name}: training for {args.budget_s:.0f} s", flush=True)
        run_dir = args.run_dir / name.replace("/", "-")
        model = train(make_env, args.budget_s, args.seed, run_dir / "tb", args.max_steps)
        save_model_atomic(model, run_dir / "model.zip")
        result = {"train_steps": int(model.num_timesteps), "train_seconds": model.train_seconds}
        result.update(evaluate(model, make_env, args.episodes))
        results[name] = result
        print(f"{name}: {json.dumps(result)}", flush=True)
    table = format_table(results)
    print(table)
    payload = {
        "dqn_settings": DQN_SETTINGS,
        "exploration_steps": EXPLORATION_STEPS,
        "roadgym_fields": ROADGYM_FIELDS,
        "held_out_seeds": [HELD_OUT_SEED, HELD_OUT_SEED + args.episodes - 1],
        "budget_s": args.budget_s,
        "max_steps": args.max_steps,
        "seed": args.seed,
        "load_average": os.getloadavg(),
        "results": results,
        "table": table,
    }
    atomic_write_text(args.out, json.dumps(payload, indent=2))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
