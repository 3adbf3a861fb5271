"""Timing and memory of one row: random actions, episodes reset as they end."""

from __future__ import annotations

import importlib
import json
import os
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from typing import Any

import gymnasium as gym
import numpy as np

from roadgym.tools.benchmark.anchors import Anchor


def _is_vector(env: Any) -> bool:
    return isinstance(env, gym.vector.VectorEnv)


def run_steps(env: Any, steps: int, action: tuple[float, ...] | None = None) -> Any:
    """Step ``env`` with random actions (or the fixed ``action`` in every world),
    resetting single envs as episodes end."""
    observation = None
    fixed = None
    if action is not None:
        fixed = np.broadcast_to(np.asarray(action, np.float32), env.action_space.shape).copy()

    def pick() -> Any:
        return env.action_space.sample() if fixed is None else fixed

    if _is_vector(env):
        for _ in range(steps):
            observation, *_ = env.step(pick())
        return observation
    for _ in range(steps):
        observation, _, terminated, truncated, _ = env.step(pick())
        if terminated or truncated:
            observation, _ = env.reset()
    return observation


def run_resets(env: Any, count: int, first_seed: int) -> Any:
    """Reset ``env`` ``count`` times with seeds ``first_seed``, ``first_seed + 1``, ..."""
    observation = None
    for seed in range(first_seed, first_seed + count):
        observation, _ = env.reset(seed=seed)
    return observation


def _run(anchor: Anchor, env: Any, steps: int, run: int) -> Any:
    if anchor.resets:
        return run_resets(env, steps, 1000 + run * steps)
    return run_steps(env, steps, anchor.action)


def _blank(observation: Any) -> bool:
    frames = np.asarray(observation)
    return bool(frames.size == 0 or frames.min() == frames.max())


def time_anchor(anchor: Anchor, steps: int, repeats: int, warmup: int) -> dict[str, Any]:
    """Median frames per second over ``repeats`` runs of ``steps`` after ``warmup`` steps
    (a reset row: :func:`time_resets`)."""
    env = anchor.make()
    env.action_space.seed(0)
    env.reset(seed=0)
    _run(anchor, env, warmup, -1)
    if anchor.resets:
        result = time_resets(env, steps, repeats)
        env.close()
        return result
    fps, cpu_fps = [], []
    observation = None
    for run in range(repeats):
        start, cpu_start = time.perf_counter(), time.process_time()
        observation = _run(anchor, env, steps, run)
        frames = steps * anchor.num_envs
        fps.append(frames / (time.perf_counter() - start))
        cpu_fps.append(frames / max(time.process_time() - cpu_start, 1e-9))
    env.close()
    result = {
        "fps": statistics.median(fps),
        "fps_runs": fps,
        # Frames per CPU second of this process: steadier than wall time when other
        # processes share the machine.
        "cpu_fps": statistics.median(cpu_fps),
        "steps_per_run": steps,
        "num_envs": anchor.num_envs,
    }
    if anchor.check_frames:
        result["frames_blank"] = _blank(observation)
    return result


RESET_BLOCKS = 10  # a reset row's run is timed in this many blocks of resets


def time_resets(env: Any, resets: int, repeats: int) -> dict[str, Any]:
    """Milliseconds per ``env.reset(seed=new)``: ``repeats`` runs of ``resets`` resets
    (every one a new seed), each run timed in :data:`RESET_BLOCKS` blocks.

    ``reset_ms`` is the median over all blocks of a block's mean: a reset is cheap, and a
    burst of another process's work (this benchmark shares its core with whatever else
    runs) inflates a few blocks rather than the whole row; ``reset_mean_ms`` is the plain
    mean over every reset, printed beside it, and ``reset_block_ms`` (wall) and
    ``reset_block_cpu_ms`` (this process's CPU time) list the blocks.
    """
    block = max(resets // RESET_BLOCKS, 1)
    wall_ms, cpu_ms = [], []  # one mean per block
    seed = 1000
    for _ in range(repeats):
        for _ in range(max(resets // block, 1)):
            start, cpu_start = time.perf_counter(), time.process_time()
            run_resets(env, block, seed)
            wall_ms.append((time.perf_counter() - start) * 1000.0 / block)
            cpu_ms.append((time.process_time() - cpu_start) * 1000.0 / block)
            seed += block
    wall, cpu = statistics.median(wall_ms), statistics.median(cpu_ms)
    return {
        "fps": 1000.0 / wall,
        "cpu_fps": 1000.0 / cpu,
        "reset_ms": wall,
        "reset_cpu_ms": cpu,
        "reset_mean_ms": statistics.fmean(wall_ms),
        "reset_cpu_mean_ms": statistics.fmean(cpu_ms),
        "reset_block_ms": wall_ms,
        "reset_block_cpu_ms": cpu_ms,
        "resets_per_block": block,
        "resets_timed": block * len(wall_ms),
        "steps_per_run": resets,
        "num_envs": 1,
    }


def probe_memory(anchor: Anchor, steps: int) -> dict[str, float]:
    """In this (fresh) process: memory to create, reset and step the env."""
    for module in anchor.imports:
        importlib.import_module(module)
    baseline_mib = _current_rss_mib()
    tracemalloc.start()
    env = anchor.make()
    env.action_space.seed(0)
    env.reset(seed=0)
    _run(anchor, env, steps, 0)
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    env.close()
    return {
        "rss_delta_mib": peak_mib - baseline_mib,
        "peak_rss_mib": peak_mib,
        "traced_peak_mib": traced_peak / 2**20,
    }


def _current_rss_mib() -> float:
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def memory_in_child(anchor: Anchor, steps: int) -> dict[str, Any]:
    """Run :func:`probe_memory` in a fresh interpreter so rows do not share a heap."""
    command = [
        sys.executable,
        "-m",
        "roadgym.tools.benchmark.cli",
        "--probe-memory",
        anchor.name,
        "--probe-steps",
        str(steps),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        return {"memory_error": done.stderr.strip().splitlines()[-1:]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def profile_anchor(anchor: Anchor, steps: int) -> None:
    """Print where the time goes (cProfile, by own time) while stepping ``anchor``."""
    import cProfile
    import pstats

    env = anchor.make()
    env.action_space.seed(0)
    env.reset(seed=0)
    _run(anchor, env, max(steps // 10, 5), -1)
    profiler = cProfile.Profile()
    profiler.enable()
    _run(anchor, env, steps, 0)
    profiler.disable()
    pstats.Stats(profiler).sort_stats("tottime").print_stats(20)
