"""The Town step's parts on the numpy path and with the numba kernels (``roadgym[fast]``),
interleaved in one process so both see the same load: CPU ms per step of each part, the
minimum over rounds.

Steps B worlds (seeds 0..B-1, no resets) with gentle random controls, with the
observation, labels and infos a vector env reads each step; each round runs ``steps``
steps on numpy, then ``steps`` on numba, on the same worlds.

    PYTHONPATH=$PWD python experiments/town_speed/kernels_ab.py --batch 64 --steps 15
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict

import numpy as np
from profile_step import random_driving  # this folder: the script runs from here

from roadgym.envs.core import kernels
from roadgym.envs.town import traffic
from roadgym.envs.town import world as town_world

PARTS = (
    (town_world.TownWorld, ("step", "observe", "semantic_view", "labels", "_locate")),
    (town_world, ("step_vehicles", "step_pedestrians")),
    (town_world.ego, ("reward_and_end", "stop_line_events")),
    (traffic, ("_leaders", "_corridor_gap", "left_turn_yield")),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64, help="worlds stepped together")
    parser.add_argument("--steps", type=int, default=15, help="steps per backend and round")
    parser.add_argument("--rounds", type=int, default=6, help="numpy/numba rounds")
    args = parser.parse_args()
    spent: dict[str, float] = defaultdict(float)
    for owner, names in PARTS:  # time each part where the step looks it up
        for name in names:
            setattr(owner, name, _timed(getattr(owner, name), name, spent))
    step = random_driving(args.batch)

    for backend in ("numba", "numpy"):  # compile / warm up both
        with kernels.use_backend(backend):
            for _ in range(10):
                step()
    best: dict[str, dict[str, float]] = {"numpy": {}, "numba": {}}
    for _ in range(args.rounds):
        for backend in ("numpy", "numba"):
            with kernels.use_backend(backend):
                spent.clear()
                start = time.process_time()
                for _ in range(args.steps):
                    step()
                spent["whole step + observe + labels + infos"] = time.process_time() - start
            for part, seconds in spent.items():
                ms = 1000 * seconds / args.steps
                best[backend][part] = min(best[backend].get(part, np.inf), ms)
    print(f"B={args.batch}: CPU ms per step, min over {args.rounds} rounds of {args.steps} steps")
    print("| part | numpy | numba | numpy / numba |\n|---|---:|---:|---:|")
    for part in sorted(best["numpy"], key=lambda p: -best["numpy"][p]):
        a, b = best["numpy"][part], best["numba"][part]
        print(f"| {part} | {a:.3f} | {b:.3f} | {a / b:.2f}x |")


def _timed(function, name: str, spent: dict[str, float]):
    def timed(*args, **kwargs):
        start = time.process_time()
        try:
            return function(*args, **kwargs)
        finally:
            spent[name] += time.process_time() - start

    return timed


if __name__ == "__main__":
    main()
