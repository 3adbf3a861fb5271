#!/usr/bin/env python
"""World-steps per second of Town-v0's batched simulator (rgb 64x64, default traffic).

One process, one core. A timed step is ``world.step`` + ``world.observe`` (the rgb frames
of every world) + ``world.infos``: what a vector env does per step, without Python per
world. Reports the median of several timed runs after a warm-up, and the single env's
steps per second for comparison.

Usage::

    OMP_NUM_THREADS=1 python scripts/benchmark_town.py --batch 64
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import cv2  # noqa: E402
import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402

import roadgym  # noqa: E402, F401
from roadgym.envs.town import TownConfig, TownWorld  # noqa: E402

cv2.setNumThreads(1)


def batched_steps_per_second(batch: int, steps: int, repeats: int, **fields) -> float:
    """Median world-steps/s of a ``batch``-world TownWorld under random actions."""
    world = TownWorld(TownConfig(**fields), batch)
    for i in range(batch):
        world.reset_world(i, np.random.default_rng(i))
    rng = np.random.default_rng(0)
    controls = np.stack([rng.uniform(-0.1, 0.1, batch), rng.uniform(-0.5, 1.0, batch)], -1)
    for _ in range(20):  # warm-up
        world.step(controls)
        world.observe()
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(steps):
            world.step(controls)
            world.observe()
            world.infos()
        rates.append(batch * steps / (time.perf_counter() - start))
    return statistics.median(rates)


def single_steps_per_second(steps: int, **fields) -> float:
    """Steps/s of one ``gymnasium.make("roadgym/Town-v0")`` env (resets included)."""
    env = gym.make("roadgym/Town-v0", **fields)
    env.reset(seed=0)
    action = np.array([0.0, 0.5], np.float32)
    start = time.perf_counter()
    for _ in range(steps):
        _, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            env.reset()
    return steps / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--vehicles", type=int, default=20)
    parser.add_argument("--pedestrians", type=int, default=12)
    args = parser.parse_args()
    fields = {"num_vehicles": args.vehicles, "num_pedestrians": args.pedestrians}
    batched = batched_steps_per_second(args.batch, args.steps, args.repeats, **fields)
    single = single_steps_per_second(300, **fields)
    print(
        f"Town-v0 rgb 64x64, {args.vehicles} vehicles, {args.pedestrians} pedestrians per world\n"
        f"  batched B={args.batch}: {batched:9.0f} world-steps/s "
        f"({1000 * args.batch / batched:.1f} ms per batched step)\n"
        f"  single env:   {single:9.0f} steps/s"
    )


if __name__ == "__main__":
    main()
