"""Compile every numba kernel into numba's on-disk cache, ahead of time or in the background.

``roadgym compile-kernels`` runs :func:`main` (once after ``pip install roadgym[fast]``, or
in a Docker build, so that no process ever compiles); with ``ROADGYM_KERNELS=auto`` the
first process that finds the cache empty runs ``python -m roadgym.envs.core.kernel_warmup
--background`` by itself and steps on the numpy kernels meanwhile (see
:mod:`roadgym.envs.core.kernels`). Either way the warm-up steps small worlds of each kind
on the numba backend, which compiles each kernel for the argument types the envs pass
(numba compiles per signature), then writes the stamp that says the cache is complete.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
import traceback
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from roadgym.envs.core import kernel_cache, kernels

EXIT_BUSY = 3  # --background: another process holds the lock (it compiles; nothing to do)


def warm_up(steps: int = 12) -> int:
    """Step each world kind on the numba kernels; returns how many kernels are compiled.

    Town's worlds (one car and three, camera, semantic map, state, labels, infos, the
    expert's view ahead) call every Town kernel; Track and Highway add the camera's
    kernels with their own types.
    """
    import gymnasium

    import roadgym  # noqa: F401 (registers the env ids)
    from roadgym.envs.town.config import TownConfig
    from roadgym.envs.town.ego import scene_ahead
    from roadgym.envs.town.world import TownWorld

    rng = np.random.default_rng(0)
    with kernels.use_backend("numba"):
        for cars in (1, 3):
            world = TownWorld(TownConfig(observation="rgb+semantic+state", num_agents=cars), 2)
            for index in range(2):
                world.reset_world(index, np.random.default_rng(index))
            for _ in range(steps):
                controls = np.stack(
                    [rng.uniform(-0.2, 0.2, world.num_cars), rng.uniform(0.0, 1.0, world.num_cars)],
                    axis=1,
                )
                world.step(controls)
                world.observe(), world.labels(), world.infos()
                scene_ahead(world)  # what the expert driver reads
        for env_id in ("roadgym/Town-v0", "roadgym/Track-v0", "roadgym/Highway-v0"):
            env = gymnasium.make(env_id)
            env.reset(seed=0)
            for _ in range(steps):
                _, _, terminated, truncated, _ = env.step(env.action_space.sample())
                if terminated or truncated:
                    env.reset()
            env.close()
    return sum(len(dispatcher.signatures) for dispatcher in kernels.DISPATCHERS)


def compile_into_cache(paths: kernel_cache.CachePaths) -> int:
    """Warm up, then write the stamp (the caller holds the lock); returns the kernel count."""
    count = warm_up()
    kernel_cache.save_signatures(paths, kernels.DISPATCHERS)
    kernel_cache.write_atomically(
        paths.stamp, f"{count} kernel signatures compiled {time.strftime('%Y-%m-%d %H:%M:%S')}\n"
    )
    return count


def _background(key: str, folder: Path) -> int:
    """The child of :func:`kernel_cache.start_background_compile`."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the user's Ctrl-C is for the parent
    paths = kernel_cache.CachePaths(folder, key)
    with kernel_cache.compile_lock(paths.lock, wait=False) as mine:
        if not mine:
            return EXIT_BUSY
        if paths.stamp.exists():  # another compiler finished just before
            return 0
        try:
            if kernel_cache.cache_key() != key:  # the sources changed under us
                return 1
            compile_into_cache(paths)
        except Exception:  # noqa: BLE001 (recorded for the user, who sees it once)
            kernel_cache.write_atomically(paths.failed, traceback.format_exc())
            return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``roadgym compile-kernels``: compile the numba kernels into the on-disk cache now."""
    parser = argparse.ArgumentParser(
        prog="roadgym compile-kernels",
        description="Compile roadgym's numba kernels (roadgym[fast]) into numba's on-disk "
        "cache, so that no process pays the compile (~15 s of CPU) at its first step. "
        "Without this, ROADGYM_KERNELS=auto compiles them in the background on first use.",
    )
    parser.add_argument("--status", action="store_true", help="only say whether they are cached")
    parser.add_argument("--background", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--key", help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.background:
        return _background(args.key, args.folder)
    if not kernels.numba_available():
        print("numba is not installed: pip install roadgym[fast]", file=sys.stderr)
        return 1
    paths = kernel_cache.cache_paths()
    state = kernel_cache.cache_state(paths)
    where = "no writable folder" if paths is None else str(paths.folder)
    if args.status or paths is None:
        print(f"numba kernels: {state} ({where}; NUMBA_CACHE_DIR picks another folder)")
        return 0 if state == "ready" or args.status else 1
    start = time.perf_counter()
    with kernel_cache.compile_lock(paths.lock, wait=True):  # after any other compiler
        paths.failed.unlink(missing_ok=True)
        count = compile_into_cache(paths)
    seconds = time.perf_counter() - start
    print(f"numba kernels: {count} signatures compiled or loaded in {seconds:.1f} s ({where})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
