"""Steps per second of highway-env's ids and roadgym's mirrors (docs/highway-env.md).

Each pair runs in one process, alternating, with the same random meta actions, so the
ratio holds whatever else loads the machine. Needs highway-env (``pip install
highway-env``) beside roadgym.

    python experiments/highway_env_compat/speed.py --steps 150 --repeats 2
"""

from __future__ import annotations

import argparse
import time
import warnings

import gymnasium as gym
import highway_env  # noqa: F401  (registers highway-env's ids)
import numpy as np

import roadgym  # noqa: F401

GREY = {
    "observation": {
        "type": "GrayscaleObservation",
        "observation_shape": (128, 64),
        "stack_size": 4,
        "weights": [0.2989, 0.5870, 0.1140],
        "scaling": 1.75,
    }
}
CASES = [
    ("highway-fast-v0", "Kinematics", None),
    ("highway-v0", "Kinematics", None),
    ("merge-v0", "Kinematics", None),
    ("highway-fast-v0", "Grayscale 128x64 x4", GREY),
]


def steps_per_second(env_id: str, config: dict | None, steps: int) -> float:
    """Env steps per second over ``steps`` random meta actions (resets included)."""
    env = gym.make(env_id, config=config)
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    for _ in range(steps):
        _, _, terminated, truncated, _ = env.step(int(rng.integers(5)))
        if terminated or truncated:
            env.reset()
    elapsed = time.perf_counter() - start
    env.close()
    return steps / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    warnings.simplefilter("ignore")  # highway-env's deprecation notices
    print("| id | observation | highway-env steps/s | roadgym steps/s | ratio |")
    print("|---|---|---|---|---|")
    for name, label, config in CASES:
        for _ in range(args.repeats):
            theirs = steps_per_second(name, config, args.steps)
            ours = steps_per_second(f"roadgym/{name}", config, args.steps)
            print(f"| {name} | {label} | {theirs:.1f} | {ours:.1f} | {ours / theirs:.1f} |")


if __name__ == "__main__":
    main()
