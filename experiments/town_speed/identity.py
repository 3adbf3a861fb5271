"""Hashes of every array a Town reset makes, to check that a change keeps the world bit for bit.

For 7 configs (the default; grid 3; grid 8 with 0.7 two-lane streets; 3 cars a world;
grid 3 with 40 NPCs; 0.25 m/px with lights everywhere and a semantic camera; 1.0 m/px,
grid 6, 0.4 of the streets removed) it generates towns and resets worlds from fixed
seeds and hashes every array of each ``TownMap`` and of the world after the reset
(rasters, light pixels, lane tables, routes, NPCs, pedestrians, the observation, infos and
labels), plus a few ``render_mode="rgb_array"`` frames. Run it once with the reference
code and once with the changed code on the path, then compare::

    PYTHONPATH=/path/to/main python experiments/town_speed/identity.py save /tmp/main.json
    PYTHONPATH=$PWD python experiments/town_speed/identity.py compare /tmp/main.json

``--scale`` multiplies the number of seeds (1: 336 towns and resets, as in the third
pass). Exit status 1 when anything differs.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import hashlib
import json
import os
import sys

import numpy as np

CONFIGS = [
    {},
    {"grid_size": 3},
    {"grid_size": 8, "two_lane_fraction": 0.7},
    {"num_agents": 3},
    {"grid_size": 3, "num_vehicles": 40},
    {"meters_per_pixel": 0.25, "traffic_light_fraction": 1.0, "observation": "semantic"},
    {"meters_per_pixel": 1.0, "street_removal_fraction": 0.4, "grid_size": 6},
]


def _digest(value: object) -> str:
    if isinstance(value, np.ndarray):
        data = np.ascontiguousarray(value).tobytes() + f"{value.dtype}{value.shape}".encode()
    else:
        data = repr(value).encode()
    return hashlib.sha1(data).hexdigest()[:16]


def _walk(prefix: str, value: object, out: dict, depth: int = 0) -> None:
    """Hash every array (and scalar) reachable from ``value`` through dataclass fields,
    attributes, dicts, lists and tuples, under dotted names."""
    if depth > 6:
        return
    if isinstance(value, np.ndarray):
        out[prefix] = _digest(value)
    elif isinstance(value, (int, float, str, bool, np.generic)) or value is None:
        out[prefix] = _digest(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            _walk(f"{prefix}[{key}]", item, out, depth + 1)
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            _walk(f"{prefix}[{index}]", item, out, depth + 1)
    elif dataclasses.is_dataclass(value):
        for field in dataclasses.fields(value):
            _walk(f"{prefix}.{field.name}", getattr(value, field.name), out, depth + 1)
    elif hasattr(value, "__dict__") and type(value).__module__.startswith("roadgym"):
        for key, item in sorted(vars(value).items()):
            if key in ("config", "towns", "history"):  # the config is input; towns hashed alone
                continue
            if key == "_scratch":  # work buffers (np.empty): their content is no state
                continue
            _walk(f"{prefix}.{key}", item, out, depth + 1)


def snapshot(scale: int) -> dict[str, dict[str, str]]:
    """Every hash, keyed by what was made (``town c s``, ``world c s``, ``render c s``)."""
    import gymnasium as gym

    import roadgym  # noqa: F401  (registers the envs)
    from roadgym.envs.town.config import TownConfig
    from roadgym.envs.town.generator import generate_town
    from roadgym.envs.town.world import TownWorld

    out: dict[str, dict[str, str]] = {}
    for c, fields in enumerate(CONFIGS):
        config = TownConfig(**fields)
        towns = (60 if c == 0 else 20) * scale
        for seed in range(towns):
            hashes: dict[str, str] = {}
            _walk("town", generate_town(np.random.default_rng(seed), config), hashes)
            out[f"town {c} {seed}"] = hashes
        world = TownWorld(config, 2)
        for seed in range((60 if c == 0 else 16) * scale):
            world.reset_world(seed % 2, np.random.default_rng(seed))
            hashes = {}
            _walk("world", world, hashes)
            _walk("town", world.towns[seed % 2], hashes)
            _walk("observation", world.observe(), hashes)
            _walk("infos", world.infos(), hashes)
            _walk("labels", world.labels(), hashes)
            out[f"world {c} {seed}"] = hashes
        if config.num_agents > 1:  # the single env refuses several cars
            continue
        env = gym.make("roadgym/Town-v0", render_mode="rgb_array", config=config)
        for seed in range(2 * scale):
            observation, info = env.reset(seed=seed)
            hashes = {}
            _walk("observation", observation, hashes)
            _walk("info", info, hashes)
            _walk("frame", env.render(), hashes)
            out[f"render {c} {seed}"] = hashes
        env.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["save", "compare"])
    parser.add_argument("path")
    parser.add_argument("--scale", type=int, default=1)
    args = parser.parse_args()
    out = snapshot(args.scale)
    backend = os.environ.get("ROADGYM_KERNELS", "auto")
    count = sum(len(v) for v in out.values())
    if args.mode == "save":
        with open(args.path + ".tmp", "w") as file:
            json.dump(out, file)
        os.replace(args.path + ".tmp", args.path)
        print(f"saved {len(out)} snapshots, {count} hashes (ROADGYM_KERNELS={backend})")
        return
    with open(args.path) as file:
        reference = json.load(file)
    differences = [
        f"{key} {name}"
        for key in sorted(set(reference) | set(out))
        for name in sorted(set(reference.get(key, {})) | set(out.get(key, {})))
        if reference.get(key, {}).get(name) != out.get(key, {}).get(name)
    ]
    for line in differences[:20]:
        print("differs:", line)
    fields = collections.Counter(line.split(" ", 3)[3] for line in differences)
    for name, times in fields.most_common(20):
        print(f"{times:6d} x {name}")
    print(
        f"{len(out)} snapshots, {count} hashes, {len(differences)} differences "
        f"(ROADGYM_KERNELS={backend})"
    )
    sys.exit(1 if differences else 0)


if __name__ == "__main__":
    main()
