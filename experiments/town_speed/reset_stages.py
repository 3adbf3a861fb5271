"""Where a Town reset goes: CPU ms per ``env.reset(seed=...)``, stage by stage.

Times the benchmark's ``town-reset`` row's own path (``gym.make("roadgym/Town-v0")``,
seeds 1000, 1001, ...) with each stage wrapped: map generation (and its parts), drawing,
routes, spawns, packing, and what ``reset`` does after ``reset_world`` (the first
observation, infos, labels). Run from the repository root of the code to measure::

    PYTHONPATH=$PWD python experiments/town_speed/reset_stages.py --resets 180
"""

from __future__ import annotations

import argparse
import collections
import json
import time

import gymnasium as gym

import roadgym  # noqa: F401  (registers the envs)
from roadgym.envs.core import kernels, world_env
from roadgym.envs.town import generator, packing, routing
from roadgym.envs.town import world as town_world

SECONDS: dict[str, float] = collections.defaultdict(float)


def _wrap(owner: object, name: str, label: str | None = None) -> None:
    """Replace ``owner.name`` by a version that adds its CPU time to ``SECONDS[label]``."""
    function = getattr(owner, name, None)
    if function is None:
        return

    def timed(*args, **kwargs):
        start = time.process_time()
        result = function(*args, **kwargs)
        SECONDS[label or name] += time.process_time() - start
        return result

    setattr(owner, name, timed)


def _instrument() -> None:
    for name in ("generate_town", "sample_route", "draw_town", "draw_route"):
        _wrap(town_world, name)
    _wrap(town_world, "light_bar_table", "light bars")
    for name in ("spawn_vehicles", "spawn_pedestrians"):
        _wrap(packing, name)
    for name in ("pack_lanes", "pack_control", "pack_route", "pack_sidewalks"):
        _wrap(packing, name, "packing")
    for name in ("_build", "_lane_table", "build_sidewalks"):
        _wrap(generator, name, f"  generate: {name}")
    _wrap(generator, "_arms_strongly_connected", "  generate: street connectivity")
    _wrap(generator, "_lanes_strongly_connected", "  generate: lane connectivity")
    _wrap(routing, "route_along", "  route: route_along")
    _wrap(routing, "_shortest_lanes", "  route: A*")
    world = town_world.TownWorld
    _wrap(world, "reset_world")
    for name in ("_locate", "_place_actors", "_update_lights"):
        _wrap(world, name, f"  reset_world: {name}")
    for name in ("observe", "infos", "labels"):
        _wrap(world, name, f"after reset_world: {name}")
    _wrap(world_env.WorldEnv, "reset", "env.reset")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resets", type=int, default=180)
    parser.add_argument("--first-seed", type=int, default=1000)
    args = parser.parse_args()
    _instrument()
    env = gym.make("roadgym/Town-v0")
    wait = getattr(kernels, "wait_for_kernels", None)  # older checkouts lack it
    backend = "numba" if (wait() if wait else kernels.use_numba()) else "numpy"
    for seed in range(5):  # warm-up: imports, caches, compiled kernels
        env.reset(seed=seed)
    SECONDS.clear()
    start = time.process_time()
    for seed in range(args.first_seed, args.first_seed + args.resets):
        env.reset(seed=seed)
    SECONDS["total (gym env.reset)"] = time.process_time() - start
    print(f"kernels: {backend}")
    print(json.dumps({k: round(v / args.resets * 1000, 3) for k, v in SECONDS.items()}, indent=1))


if __name__ == "__main__":
    main()
