"""``roadgym bench``: the command line of the benchmark (see :mod:`roadgym.tools.benchmark`)."""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2

from roadgym.envs.core import kernels
from roadgym.tools.benchmark.anchors import ANCHORS, BASELINE, missing_requirement
from roadgym.tools.benchmark.ppo import ppo_throughput
from roadgym.tools.benchmark.report import format_table, write_json_atomically
from roadgym.tools.benchmark.timing import (
    memory_in_child,
    probe_memory,
    profile_anchor,
    time_anchor,
)


def _one_core_environment() -> bool:
    """Whether this interpreter started with one core set and SDL drawing offscreen."""
    return "OMP_NUM_THREADS" in os.environ and os.environ.get("SDL_VIDEODRIVER") == "offscreen"


def build_parser() -> argparse.ArgumentParser:
    """The flags of ``roadgym bench``."""
    parser = argparse.ArgumentParser(
        prog="roadgym bench",
        description="Frames per second of roadgym against CarRacing-v3 and highway-env, and "
        "SB3 PPO speed; one core, random actions (see roadgym.tools.benchmark).",
    )
    parser.add_argument("--quick", action="store_true", help="short runs: a smoke test")
    parser.add_argument("--json", type=Path, default=Path("benchmark.json"), help="output file")
    parser.add_argument(
        "--only", nargs="+", metavar="NAME", help=f"rows: {', '.join(a.name for a in ANCHORS)}"
    )
    parser.add_argument("--repeats", type=int, default=None, help="timed runs per row")
    parser.add_argument("--no-ppo", action="store_true", help="skip the PPO comparison")
    parser.add_argument("--no-memory", action="store_true", help="skip the memory probes")
    parser.add_argument("--profile", action="store_true", help="cProfile the chosen rows")
    parser.add_argument("--probe-memory", metavar="NAME", help=argparse.SUPPRESS)
    parser.add_argument("--probe-steps", type=int, default=50, help=argparse.SUPPRESS)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """``roadgym bench``: time the chosen rows, print the table, write the JSON."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    if not _one_core_environment():
        # One core and SDL's offscreen driver (highway-env draws nothing under "dummy") only
        # hold if set before numpy and pygame load, and ``import roadgym`` loads them: run
        # again in a fresh interpreter that starts with them set.
        env = {**os.environ, "SDL_VIDEODRIVER": "offscreen"}
        env.setdefault("OMP_NUM_THREADS", "1")
        env.setdefault("SDL_AUDIODRIVER", "dummy")
        command = [sys.executable, "-m", "roadgym.tools.benchmark.cli", *argv]
        try:
            return subprocess.run(command, env=env).returncode
        except KeyboardInterrupt:  # the child got the same Ctrl-C and has stopped
            return 130
    cv2.setNumThreads(1)

    by_name = {anchor.name: anchor for anchor in ANCHORS}
    if args.probe_memory:
        print(json.dumps(probe_memory(by_name[args.probe_memory], args.probe_steps)))
        return 0
    unknown = sorted(set(args.only or ()) - set(by_name))
    if unknown:
        parser.error(f"unknown row(s) {unknown}; allowed: {', '.join(by_name)}")
    chosen = [a for a in ANCHORS if not args.only or a.name in args.only]

    if args.profile:
        for anchor in chosen:
            print(f"== {anchor.name}")
            profile_anchor(anchor, anchor.steps // (10 if args.quick else 1))
        return 0

    repeats = args.repeats or (1 if args.quick else 5)
    load_at_start = os.getloadavg()
    # ROADGYM_KERNELS=auto loads (or compiles) the numba kernels in the background: time
    # the steps only once that is over, on whichever backend it leaves.
    print(f"kernels: {'numba' if kernels.wait_for_kernels() else 'numpy'}", flush=True)
    rows: dict[str, dict[str, Any]] = {}
    for anchor in chosen:
        missing = missing_requirement(anchor)
        if missing:
            rows[anchor.name] = {"skipped": missing}
            print(f"{anchor.name}: skipped, {missing}", flush=True)
            continue
        steps = max(anchor.steps // 20, 3) if args.quick else anchor.steps
        row = time_anchor(anchor, steps, repeats, warmup=max(steps // 5, 2))
        if not args.no_memory:
            row.update(memory_in_child(anchor, min(steps, 200)))
        rows[anchor.name] = row
        if anchor.resets:
            print(
                f"{anchor.name}: {row['reset_ms']:.1f} ms per reset ({row['reset_cpu_ms']:.1f} "
                f"CPU ms; median of {len(row['reset_block_ms'])} blocks of "
                f"{row['resets_per_block']} resets, each a new seed; mean of all "
                f"{row['reset_mean_ms']:.1f} ms; load average {os.getloadavg()[0]:.2f})",
                flush=True,
            )
        else:
            print(f"{anchor.name}: {row['fps']:,.0f} frames/s", flush=True)

    ppo = None if args.no_ppo else ppo_throughput(args.quick)
    table = format_table(rows, ppo)
    print()
    print(table)
    payload = {
        "command": " ".join(["roadgym", "bench", *argv]),
        "quick": args.quick,
        "repeats": repeats,
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "cpu_count": os.cpu_count(),
            "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
            # Other processes on the same cores slow every row: say how busy it was.
            "load_average_start": load_at_start,
            "load_average_end": os.getloadavg(),
        },
        "baseline": BASELINE,
        "rows": rows,
        "ppo": ppo,
        "table": table,
    }
    write_json_atomically(args.json, payload)
    print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
