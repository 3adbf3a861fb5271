"""The expert driving every controlled car of held-out towns: routes finished and what
ended the others.

    python experiments/multiagent/town_expert_all_cars.py --worlds 50 --agents 8 --seed 2000000

One episode per town (until every car has ended, or 2,000 steps); a car's record is taken
on the step it ends. Prints a JSON summary over all cars.
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from roadgym.drivers.expert import ExpertDriver
from roadgym.envs.multiagent import make_multi_agent_vector_env

KEYS = (
    "success",
    "collisions_vehicle",
    "collisions_pedestrian",
    "agent_collisions",
    "stalled",
    "off_road",
    "off_route",
    "red_light_violations",
    "stop_sign_violations",
    "route_completion",
    "average_speed_mps",
)


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worlds", type=int, default=50)
    parser.add_argument("--agents", type=int, default=8)
    parser.add_argument("--seed", type=int, default=2_000_000)
    parser.add_argument("--max-steps", type=int, default=100_000)
    args = parser.parse_args(argv)
    worlds, agents = args.worlds, args.agents
    env = make_multi_agent_vector_env("roadgym/Town-v0", worlds, agents)
    observation, _ = env.reset(seed=args.seed)
    expert = ExpertDriver(env)
    slots = worlds * agents
    done = np.zeros(slots, dtype=bool)
    record = {key: np.zeros(slots) for key in KEYS}
    pairs = np.zeros(worlds)
    world_done = np.zeros(worlds, dtype=bool)
    steps = 0
    while not world_done.all() and steps < args.max_steps:
        steps += 1
        actions, _ = expert.predict(observation)
        observation, _, terminated, truncated, info = env.step(actions)
        ending = info["agent_active"] & ~done & (terminated | truncated)
        live = info["agent_active"] & ~done  # the cars still driving keep their latest
        for key in KEYS:
            record[key] = np.where(live, info[key], record[key])
        done |= ending
        over = np.zeros(worlds, dtype=bool)
        over[env.slot_world[terminated | truncated]] = True
        over &= ~world_done
        pairs = np.where(over, info["controlled_collisions"][::agents], pairs)
        world_done |= done.reshape(worlds, agents).all(axis=1)
    summary = {"cars": float(slots), "controlled_collision_pairs": float(pairs.sum())}
    summary["still_driving"] = float((~done).sum())
    averaged = ("route_completion", "average_speed_mps")
    summary.update({key: float(record[key].sum()) for key in KEYS if key not in averaged})
    summary.update({f"{key}_mean": float(record[key].mean()) for key in averaged})
    failures = []
    for slot in np.flatnonzero(~record["success"].astype(bool)):
        causes = [key for key in KEYS[1:-2] if record[key][slot] > 0]
        failures.append(
            f"{args.seed + slot // agents} car {slot % agents}: "
            f"{'+'.join(causes) or ('driving' if not done[slot] else 'time limit')} "
            f"(completion {record['route_completion'][slot]:.2f})"
        )
    print(json.dumps({"args": vars(args), **summary, "failures": failures}, indent=1))
    return summary


if __name__ == "__main__":
    main()
