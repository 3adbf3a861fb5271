"""Where a Town step's CPU time goes: cProfile (CPU-time clock) of ``TownWorld`` steps.

Steps B worlds (seeds 0..B-1, no resets) with gentle random controls that keep most cars
on the road, then profiles ``steps`` more steps with the observation, labels and infos a
vector env reads each step, and prints the cumulative CPU time of the step's parts.
The CPU-time clock keeps the shares steady on a shared, loaded machine.

    PYTHONPATH=$PWD nice -n 15 python experiments/town_speed/profile_step.py --batch 64
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import time
from collections.abc import Callable

import numpy as np

from roadgym.envs.town.config import TownConfig
from roadgym.envs.town.world import TownWorld

PARTS = (
    "world.py:{}(step)",
    "step_vehicles",
    "_corridor_gap",
    "_leaders",
    "left_turn_yield",
    "step_pedestrians",
    "reward_and_end",
    "collisions",
    "world.py:{}(observe)",
    "camera.py:{}(semantic)",
    "world.py:{}(labels)",
)


def random_driving(batch: int) -> Callable[[], None]:
    """B Town worlds (seeds 0..B-1, no resets) and a function that steps them once with
    gentle random controls and reads the observation, labels and infos a vector env reads."""
    world = TownWorld(TownConfig(), batch)
    for index in range(batch):
        world.reset_world(index, np.random.default_rng(index))
    rng = np.random.default_rng(0)

    def step() -> None:
        controls = rng.uniform(-1.0, 1.0, (world.num_cars, 2))
        controls[:, 0] *= 0.1  # steer gently ...
        controls[:, 1] = 0.6 * np.abs(controls[:, 1])  # ... and drive forward
        world.step(controls)
        world.observe()
        world.labels()
        world.infos()

    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64, help="worlds stepped together")
    parser.add_argument("--steps", type=int, default=60, help="profiled steps")
    args = parser.parse_args()
    step = random_driving(args.batch)
    for _ in range(30):
        step()
    profile = cProfile.Profile(time.process_time)
    profile.enable()
    for _ in range(args.steps):
        step()
    profile.disable()
    stats = pstats.Stats(profile)
    total = stats.total_tt
    print(f"B={args.batch}: {1000 * total / args.steps:.2f} CPU ms per step (profiled)")
    for (path, line, name), (_, _, _, cumulative, _) in sorted(
        stats.stats.items(), key=lambda item: -item[1][3]
    ):
        label = f"{path.rsplit('/', 1)[-1]}:{line}({name})"
        if any(part in label if "{}" not in part else _match(part, label) for part in PARTS):
            print(f"  {label:45s} {100 * cumulative / total:5.1f} %")


def _match(pattern: str, label: str) -> bool:
    prefix, suffix = pattern.split("{}")
    return label.startswith(prefix) and label.endswith(suffix)


if __name__ == "__main__":
    main()
