"""Start-up time of a Town env: import, make, reset, first step, in a fresh process.

The measured command is RESULTS.md's ("Start-up"): ``import roadgym, gymnasium;
e = gymnasium.make('roadgym/Town-v0'); e.reset(seed=0); e.step(e.action_space.sample())``,
run ``--runs`` times in a new interpreter, wall and CPU seconds of the child each time.

``--cold`` gives each run an empty ``NUMBA_CACHE_DIR`` (the first run after installing);
without it the runs share ``--cache-dir`` (default: numba's usual place), so all runs
after the first are warm. ``--full-speed`` also steps on until the process runs the
compiled kernels (``kernels.use_numba()``) and prints that moment: the time to full speed
when the kernels compile in the background. Prints one line a run with the load average.

    PYTHONPATH=$PWD python experiments/town_speed/startup.py --runs 3
    PYTHONPATH=$PWD python experiments/town_speed/startup.py --runs 2 --cold --full-speed
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time

STARTUP = (
    "import time; t0 = time.perf_counter(); import roadgym, gymnasium; "
    "e = gymnasium.make('roadgym/Town-v0'); e.reset(seed=0); e.step(e.action_space.sample()); "
    "print('first_step_s', round(time.perf_counter() - t0, 3), "
    "'cpu_s', round(time.process_time(), 3), flush=True)\n"
)
FULL_SPEED = (
    "from roadgym.envs.core import kernels\n"
    "steps = 1\n"
    "while not kernels.use_numba() and time.perf_counter() - t0 < {limit}:\n"
    "    _, _, te, tr, _ = e.step(e.action_space.sample()); steps += 1\n"
    "    if te or tr: e.reset()\n"
    "t1 = time.perf_counter()\n"
    "for _ in range(100):\n"
    "    _, _, te, tr, _ = e.step(e.action_space.sample())\n"
    "    if te or tr: e.reset()\n"
    "print('full_speed_s', round(t1 - t0, 3), 'steps_before', steps, 'numba', "
    "kernels.use_numba(), 'then_100_steps_s', round(time.perf_counter() - t1, 3), flush=True)\n"
)


def _load() -> str:
    return f"load {os.getloadavg()[0]:.2f}"


def run_once(env: dict[str, str], full_speed: bool, limit_s: float) -> str:
    """One fresh interpreter; its wall and CPU seconds and what it printed."""
    code = STARTUP + (FULL_SPEED.format(limit=limit_s) if full_speed else "")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(f"the start-up run failed:\n{out.stderr}")
    wall_s = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_s = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    printed = " ".join(out.stdout.split())
    return f"wall {wall_s:.2f} s, cpu {cpu_s:.2f} s ({printed}) [{_load()}]"


def main() -> None:
    """Parse the options, run the start-ups, print a line each."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--cold", action="store_true", help="an empty NUMBA_CACHE_DIR each run")
    parser.add_argument("--cache-dir", default=None, help="NUMBA_CACHE_DIR for warm runs")
    parser.add_argument("--full-speed", action="store_true", help="step until numba runs")
    parser.add_argument("--limit-s", type=float, default=120.0, help="cap of --full-speed")
    args = parser.parse_args()
    for index in range(args.runs):
        env = dict(os.environ)
        with tempfile.TemporaryDirectory(prefix="numba-cold-") as empty:
            if args.cold:
                env["NUMBA_CACHE_DIR"] = empty
            elif args.cache_dir:
                env["NUMBA_CACHE_DIR"] = args.cache_dir
            line = run_once(env, args.full_speed, args.limit_s)
            print(f"{time.strftime('%H:%M:%S')} run {index}: {line}", flush=True)
            if args.cold:  # a background compiler may still be writing there
                _wait_for_writers(empty)


def _wait_for_writers(cache_dir: str) -> None:
    """Wait until no background compiler holds the kernels' lock in ``cache_dir``."""
    try:
        from roadgym.envs.core import kernel_cache
    except ImportError:  # a checkout from before the background compile
        return
    saved = os.environ.get("NUMBA_CACHE_DIR")
    os.environ["NUMBA_CACHE_DIR"] = cache_dir
    try:
        paths = kernel_cache.cache_paths()
    finally:
        os.environ.pop("NUMBA_CACHE_DIR")
        if saved is not None:
            os.environ["NUMBA_CACHE_DIR"] = saved
    if paths is not None and paths.lock.exists():
        start = time.perf_counter()
        with kernel_cache.compile_lock(paths.lock, wait=True):
            ready = paths.stamp.exists()
        waited_s = time.perf_counter() - start
        print(f"  background compile over {waited_s:.1f} s later, stamp written: {ready}")


if __name__ == "__main__":
    main()
