"""The privileged expert's driving metrics over held-out seeds.

A fast front over :func:`roadgym.agents.evaluation.expert_final_infos` (one batched
``predict`` per step for up to ``--num-envs`` worlds); ``roadgym evaluate --expert``
gives the same episodes through the SB3 evaluator, one env at a time.

    python experiments/expert_tables/expert_table.py --env roadgym/Town-v0 --episodes 100 \\
        --seed 1000000
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from roadgym.agents.evaluation import expert_final_infos
from roadgym.envs.seeds import SELECTION_SEED_START


def main(argv: Sequence[str] | None = None) -> int:
    """Print the table; ``--json`` writes the per-episode metrics (atomically)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="roadgym/Town-v0")
    parser.add_argument("--episodes", type=int, default=100)
    parser.add_argument(
        "--seed",
        type=int,
        default=SELECTION_SEED_START,
        help="seed of the first episode (default: the selection range, where the expert was tuned)",
    )
    parser.add_argument("--num-envs", type=int, default=32, help="worlds stepped together")
    parser.add_argument("--json", type=Path, help="write per-episode metrics here")
    args = parser.parse_args(argv)
    if args.episodes < 1:
        parser.error(f"--episodes must be >= 1, got {args.episodes}")
    seeds = list(range(args.seed, args.seed + args.episodes))
    start = time.perf_counter()
    infos = expert_final_infos(args.env, seeds, num_envs=args.num_envs)
    wall = time.perf_counter() - start
    print(
        f"expert on {args.env}: {len(seeds)} episodes (seeds {seeds[0]}..{seeds[-1]}), {wall:.0f} s"
    )
    print(f"{'metric':<24} {'mean':>9} {'min':>9} {'max':>9} {'total':>9}")
    for key in infos[0]:
        values = np.array([float(info[key]) for info in infos])
        print(
            f"{key:<24} {values.mean():9.3f} {values.min():9.3f} {values.max():9.3f} "
            f"{values.sum():9.1f}"
        )
    if args.json:
        tmp = args.json.with_name(f".{args.json.name}.tmp")
        tmp.write_text(json.dumps([{"seed": s, **i} for s, i in zip(seeds, infos, strict=True)]))
        os.replace(tmp, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
