"""Interleaved A/B of a Town reset in one process: a reference checkout against this one.

The reference is a copy of the package renamed ``roadgym_base`` (so both import side by
side), made once::

    mkdir -p /tmp/base /tmp/ab && git archive 4303874 | tar -x -C /tmp/base
    cp -r /tmp/base/roadgym /tmp/ab/roadgym_base
    find /tmp/ab/roadgym_base -name "*.py" -exec sed -i -E \\
        -e 's/\\broadgym\\.(envs|tools|agents|perception|drivers|cli)/roadgym_base.\\1/g' \\
        -e 's/^import roadgym\\b/import roadgym_base/' \\
        -e 's/^from roadgym import/from roadgym_base import/' {} \\;

then, from the repository root of the code to measure::

    PYTHONPATH=$PWD python experiments/town_speed/reset_ab.py --backend numba --rounds 20

Both ``TownEnv`` s are made directly (no gym wrappers), warmed up, then reset in blocks
of 20 on the same seeds, alternating which goes first; prints the CPU ms per reset
(median block, mean, range) of each and the per-round ratio.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import warnings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="numba", choices=("numba", "numpy"))
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--block", type=int, default=20)
    parser.add_argument("--reference", default="/tmp/ab", help="folder holding roadgym_base")
    args = parser.parse_args()
    os.environ["ROADGYM_KERNELS"] = args.backend  # read at the first reset
    sys.path.append(args.reference)
    warnings.simplefilter("ignore")
    from roadgym_base.envs.town.env import TownEnv as Before

    from roadgym.envs.town.env import TownEnv as After

    envs = {"before": Before(), "after": After()}
    for env in envs.values():
        for seed in range(8):  # warm-up: caches, compiled kernels
            env.reset(seed=seed)
    ms: dict[str, list[float]] = {name: [] for name in envs}
    for r in range(args.rounds):
        order = list(envs) if r % 2 == 0 else list(envs)[::-1]
        seeds = range(1000 + r * args.block, 1000 + (r + 1) * args.block)
        for name in order:
            start = time.process_time()
            for seed in seeds:
                envs[name].reset(seed=seed)
            ms[name].append((time.process_time() - start) * 1000 / args.block)
    for name, values in ms.items():
        print(
            f"{name}: median block {statistics.median(values):.2f} CPU ms, mean "
            f"{statistics.fmean(values):.2f}, min {min(values):.2f}, max {max(values):.2f} "
            f"({args.rounds} blocks of {args.block}, {args.backend})"
        )
    ratios = [b / a for b, a in zip(ms["before"], ms["after"], strict=True)]
    print(
        f"before/after per round: median {statistics.median(ratios):.2f}x, "
        f"min {min(ratios):.2f}x, max {max(ratios):.2f}x"
    )


if __name__ == "__main__":
    main()
