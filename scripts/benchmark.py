#!/usr/bin/env python
"""Frames per second of roadgym against CarRacing-v3 and highway-env, and SB3 PPO speed.

One process, one core (``OMP_NUM_THREADS=1``, torch and OpenCV held to one thread),
random actions, episodes reset as they end. Each row is the median of several timed
runs after a warm-up; a vector row counts frames of all its worlds. Memory is measured
per row in a fresh child process: ``rss_delta_mib`` is the peak resident set size
minus the RSS after imports, ``traced_peak_mib`` the tracemalloc peak (Python and numpy
allocations) while creating, resetting and stepping the env. Anchors that are not
installed are skipped and say so (``pip install -e .[bench]`` installs them).

Usage::

    OMP_NUM_THREADS=1 python scripts/benchmark.py            # full table, ~5 minutes
    OMP_NUM_THREADS=1 python scripts/benchmark.py --quick    # smoke test, ~1 minute
    python scripts/benchmark.py --only roadgym-vector-64 --profile  # where time goes
"""

from __future__ import annotations

import os

# Before numpy, torch or pygame load: one core, and an SDL driver that draws (highway-env's
# frames are all zeros under "dummy").
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ["SDL_VIDEODRIVER"] = "offscreen"
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")

import argparse  # noqa: E402
import dataclasses  # noqa: E402
import importlib  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import cv2  # noqa: E402
import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402

import roadgym  # noqa: E402, F401  (registers roadgym/Track-v0)

cv2.setNumThreads(1)

BASELINE = "carracing-single"
HIGHWAY_BASELINE = "highway-fast"  # the anchor of Town-v0's target
CARRACING_IMPORTS = ("Box2D", "pygame", "gymnasium.envs.box2d.car_racing")
HIGHWAY_GRAYSCALE = {
    "type": "GrayscaleObservation",
    "observation_shape": (84, 84),
    "stack_size": 4,
    "weights": [0.2989, 0.5870, 0.1140],
    "scaling": 1.75,
}


@dataclasses.dataclass(frozen=True)
class Anchor:
    """One row: how to build the env, how many worlds it steps, what it needs."""

    name: str
    description: str
    make: Callable[[], Any]
    num_envs: int  # frames per step; vector envs autoreset themselves
    steps: int  # per timed run (full mode)
    requires: str | None = None  # module that must be importable
    imports: tuple[str, ...] = ()  # loaded before the memory baseline: not the env's cost
    check_frames: bool = False  # fail loudly if the observations are blank


def _roadgym_vector(num_envs: int, env_id: str = "roadgym/Track-v0") -> Callable[[], Any]:
    return lambda: gym.make_vec(env_id, num_envs=num_envs, vectorization_mode="vector_entry_point")


def _highway(env_id: str) -> Callable[[], Any]:
    def make() -> Any:
        import highway_env  # noqa: F401  (registers its ids)

        return gym.make(env_id, config={"observation": HIGHWAY_GRAYSCALE})

    return make


ANCHORS = (
    Anchor(
        "roadgym-single",
        "roadgym Track-v0, single env, rgb 64x64",
        lambda: gym.make("roadgym/Track-v0"),
        1,
        3000,
    ),
    *(
        Anchor(
            f"roadgym-vector-{n}",
            f"roadgym Track-v0, native vector env B={n}, rgb 64x64",
            _roadgym_vector(n),
            n,
            steps,
        )
        for n, steps in ((1, 3000), (16, 1000), (64, 400), (256, 150))
    ),
    Anchor(
        "town-single",
        "roadgym Town-v0, single env, rgb 64x64, 20 vehicles + 12 pedestrians",
        lambda: gym.make("roadgym/Town-v0"),
        1,
        600,
    ),
    Anchor(
        "town-vector-64",
        "roadgym Town-v0, native vector env B=64, rgb 64x64, 20 vehicles + 12 pedestrians",
        _roadgym_vector(64, "roadgym/Town-v0"),
        64,
        100,
    ),
    Anchor(
        BASELINE,
        "CarRacing-v3, single env, rgb 96x96",
        lambda: gym.make("CarRacing-v3"),
        1,
        400,
        requires="Box2D",
        imports=CARRACING_IMPORTS,
    ),
    Anchor(
        "carracing-sync-8",
        "CarRacing-v3, SyncVectorEnv of 8",
        lambda: gym.make_vec("CarRacing-v3", num_envs=8, vectorization_mode="sync"),
        8,
        60,
        requires="Box2D",
        imports=CARRACING_IMPORTS,
    ),
    Anchor(
        "highway-fast",
        "highway-fast-v0, GrayscaleObservation 84x84 stack 4 (SDL offscreen)",
        _highway("highway-fast-v0"),
        1,
        60,
        requires="highway_env",
        imports=("highway_env",),
        check_frames=True,
    ),
    Anchor(
        "racetrack",
        "racetrack-v0, GrayscaleObservation 84x84 stack 4 (SDL offscreen)",
        _highway("racetrack-v0"),
        1,
        200,
        requires="highway_env",
        imports=("highway_env",),
        check_frames=True,
    ),
)


# ---------------------------------------------------------------------- stepping


def _is_vector(env: Any) -> bool:
    return isinstance(env, gym.vector.VectorEnv)


def run_steps(env: Any, steps: int) -> Any:
    """Step ``env`` with random actions, resetting single envs as episodes end."""
    observation = None
    if _is_vector(env):
        for _ in range(steps):
            observation, *_ = env.step(env.action_space.sample())
        return observation
    for _ in range(steps):
        observation, _, terminated, truncated, _ = env.step(env.action_space.sample())
        if terminated or truncated:
            observation, _ = env.reset()
    return observation


def _blank(observation: Any) -> bool:
    frames = np.asarray(observation)
    return bool(frames.size == 0 or frames.min() == frames.max())


def time_anchor(anchor: Anchor, steps: int, repeats: int, warmup: int) -> dict[str, Any]:
    """Median frames per second over ``repeats`` runs of ``steps`` after ``warmup`` steps."""
    env = anchor.make()
    env.action_space.seed(0)
    env.reset(seed=0)
    run_steps(env, warmup)
    fps, cpu_fps = [], []
    observation = None
    for _ in range(repeats):
        start, cpu_start = time.perf_counter(), time.process_time()
        observation = run_steps(env, steps)
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


def probe_memory(anchor: Anchor, steps: int) -> dict[str, float]:
    """In this (fresh) process: memory to create, reset and step the env."""
    for module in anchor.imports:
        importlib.import_module(module)
    baseline_mib = _current_rss_mib()
    tracemalloc.start()
    env = anchor.make()
    env.action_space.seed(0)
    env.reset(seed=0)
    run_steps(env, steps)
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
    command = [sys.executable, __file__, "--probe-memory", anchor.name, "--probe-steps", str(steps)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        return {"memory_error": done.stderr.strip().splitlines()[-1:]}
    return json.loads(done.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------- PPO


def _small_cnn_kwargs() -> tuple[dict[str, Any], str]:
    """policy_kwargs for a small CNN: roadgym's NatureCNN encoder with thin channels."""
    try:
        from roadgym.perception.extractor import RoadgymEncoderExtractor

        kwargs = {
            "features_extractor_class": RoadgymEncoderExtractor,
            "features_extractor_kwargs": {
                "encoder": "nature",
                "encoder_options": {"channels": (16, 32, 32), "features_dim": 256},
            },
        }
        return kwargs, "roadgym NatureCNN encoder, channels (16, 32, 32), 256 features"
    except ImportError:
        from stable_baselines3.common.torch_layers import NatureCNN

        kwargs = {"features_extractor_class": NatureCNN, "features_extractor_kwargs": {}}
        kwargs["features_extractor_kwargs"]["features_dim"] = 256
        return kwargs, "SB3 NatureCNN, 256 features (roadgym.perception not importable)"


def ppo_throughput(quick: bool) -> dict[str, Any]:
    """Env steps per wall second of SB3 PPO learn(): roadgym vs CarRacing-v3."""
    if importlib.util.find_spec("stable_baselines3") is None:
        return {"skipped": "stable-baselines3 not installed (pip install -e .[train])"}
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.env_util import make_vec_env

    from roadgym.envs import make_sb3_vec_env

    torch.set_num_threads(1)
    # The same PPO for both: 1024 steps per rollout, 4 epochs of 256-sample minibatches.
    common = {"batch_size": 256, "n_epochs": 4, "device": "cpu", "seed": 0, "verbose": 0}
    rollouts = 1 if quick else 4
    results: dict[str, Any] = {}

    policy_kwargs, cnn = _small_cnn_kwargs()
    roadgym_envs = 64
    venv = make_sb3_vec_env("roadgym/Track-v0", roadgym_envs, seed=0)
    model = PPO(
        "CnnPolicy", venv, n_steps=1024 // roadgym_envs, policy_kwargs=policy_kwargs, **common
    )
    results["roadgym"] = _timed_learn(model, rollouts * 1024)
    results["roadgym"]["setup"] = f"make_sb3_vec_env n_envs={roadgym_envs}, rgb 64x64, {cnn}"
    venv.close()

    if importlib.util.find_spec("Box2D") is None:
        results["carracing"] = {"skipped": "gymnasium[box2d] not installed"}
        return results
    carracing_envs = 8
    venv = make_vec_env("CarRacing-v3", n_envs=carracing_envs, seed=0)
    model = PPO("CnnPolicy", venv, n_steps=1024 // carracing_envs, **common)
    results["carracing"] = _timed_learn(model, (1 if quick else 2) * 1024)
    results["carracing"]["setup"] = (
        f"DummyVecEnv of {carracing_envs} CarRacing-v3, rgb 96x96, SB3 CnnPolicy (NatureCNN)"
    )
    venv.close()
    results["ratio"] = results["roadgym"]["steps_per_s"] / results["carracing"]["steps_per_s"]
    results["cpu_ratio"] = (
        results["roadgym"]["steps_per_cpu_s"] / results["carracing"]["steps_per_cpu_s"]
    )
    return results


def _timed_learn(model: Any, budget: int) -> dict[str, Any]:
    model.learn(1024)  # warm-up rollout and update (allocations, first convolutions)
    before = model.num_timesteps
    start, cpu_start = time.perf_counter(), time.process_time()
    model.learn(budget, reset_num_timesteps=False)
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    steps = model.num_timesteps - before
    return {
        "steps": steps,
        "seconds": seconds,
        "steps_per_s": steps / seconds,
        "steps_per_cpu_s": steps / cpu_seconds,
    }


# ---------------------------------------------------------------------- output


def _missing(anchor: Anchor) -> str | None:
    if anchor.requires and importlib.util.find_spec(anchor.requires) is None:
        extra = "gymnasium[box2d]" if anchor.requires == "Box2D" else anchor.requires
        return f"{extra} not installed (pip install -e .[bench])"
    return None


def format_table(rows: dict[str, dict[str, Any]], ppo: dict[str, Any] | None) -> str:
    """A Markdown table of the rows and the PPO comparison."""
    base = rows.get(BASELINE, {}).get("fps")
    cpu_base = rows.get(BASELINE, {}).get("cpu_fps")
    highway_base = rows.get(HIGHWAY_BASELINE, {}).get("fps")
    lines = [
        "| env | frames/s | vs CarRacing single | frames/CPU s | vs CarRacing (CPU) "
        "| vs highway-fast | RSS delta (MiB) | traced peak (MiB) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for anchor in ANCHORS:
        row = rows.get(anchor.name)
        if row is None:
            continue
        if "skipped" in row:
            lines.append(f"| {anchor.description} | skipped: {row['skipped']} | | | | | | |")
            continue
        ratio = f"{row['fps'] / base:.1f}x" if base else "n/a"
        cpu_ratio = f"{row['cpu_fps'] / cpu_base:.1f}x" if cpu_base else "n/a"
        highway_ratio = f"{row['fps'] / highway_base:.1f}x" if highway_base else "n/a"
        note = " (BLANK FRAMES)" if row.get("frames_blank") else ""
        rss = row.get("rss_delta_mib")
        traced = row.get("traced_peak_mib")
        lines.append(
            f"| {anchor.description}{note} | {row['fps']:,.0f} | {ratio} | "
            f"{row['cpu_fps']:,.0f} | {cpu_ratio} | {highway_ratio} | "
            f"{'' if rss is None else f'{rss:.0f}'} | "
            f"{'' if traced is None else f'{traced:.0f}'} |"
        )
    if ppo is not None:
        lines += [
            "",
            "| SB3 PPO training | env steps/s | vs CarRacing PPO | steps/CPU s | (CPU) |",
            "|---|---:|---:|---:|---:|",
        ]
        for key in ("roadgym", "carracing"):
            entry = ppo.get(key)
            if entry is None:
                continue
            if "skipped" in entry:
                lines.append(f"| {key} | skipped: {entry['skipped']} | | | |")
                continue
            ratio = f"{ppo['ratio']:.1f}x" if "ratio" in ppo else "n/a"
            cpu_ratio = f"{ppo['cpu_ratio']:.1f}x" if "cpu_ratio" in ppo else "n/a"
            lines.append(
                f"| {entry['setup']} | {entry['steps_per_s']:,.0f} | "
                f"{ratio if key == 'roadgym' else '1.0x'} | {entry['steps_per_cpu_s']:,.0f} | "
                f"{cpu_ratio if key == 'roadgym' else '1.0x'} |"
            )
    return "\n".join(lines)


def write_json_atomically(path: Path, payload: dict[str, Any]) -> None:
    """Write to a temporary file beside ``path`` and rename it: never a half file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, suffix=".tmp", delete=False) as tmp:
        json.dump(payload, tmp, indent=2)
    os.replace(tmp.name, path)


def profile_anchor(anchor: Anchor, steps: int) -> None:
    """Print where the time goes (cProfile, by own time) while stepping ``anchor``."""
    import cProfile
    import pstats

    env = anchor.make()
    env.action_space.seed(0)
    env.reset(seed=0)
    run_steps(env, max(steps // 10, 5))
    profiler = cProfile.Profile()
    profiler.enable()
    run_steps(env, steps)
    profiler.disable()
    pstats.Stats(profiler).sort_stats("tottime").print_stats(20)


# ---------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
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
    args = parser.parse_args(argv)

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
    rows: dict[str, dict[str, Any]] = {}
    for anchor in chosen:
        missing = _missing(anchor)
        if missing:
            rows[anchor.name] = {"skipped": missing}
            print(f"{anchor.name}: skipped, {missing}", flush=True)
            continue
        steps = max(anchor.steps // 20, 3) if args.quick else anchor.steps
        row = time_anchor(anchor, steps, repeats, warmup=max(steps // 5, 2))
        if not args.no_memory:
            row.update(memory_in_child(anchor, min(steps, 200)))
        rows[anchor.name] = row
        print(f"{anchor.name}: {row['fps']:,.0f} frames/s", flush=True)

    ppo = None if args.no_ppo else ppo_throughput(args.quick)
    table = format_table(rows, ppo)
    print()
    print(table)
    payload = {
        "command": " ".join(["python", *sys.argv]),
        "quick": args.quick,
        "repeats": repeats,
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "cpu_count": os.cpu_count(),
            "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
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
