"""Drive every controlled car of held-out Highway / Merge worlds with one driver and
count what happens: the expert, IDLE or SLOWER meta actions, or a trained SB3 policy.

    python experiments/multiagent/evaluate_all_cars.py --env roadgym/Merge-v0 --agents 8 \
        --worlds 100 --seed 1000000 --driver expert [--model run/model.zip]

Each world runs one episode (until every car has ended or its time limit); a car's
record is taken on the step it ends. Prints a JSON summary: cars, crashes (with NPCs or
controlled cars), controlled-controlled collision pairs per world, off-road, mean speed,
distance and collisions per km between controlled cars.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

import numpy as np

from roadgym.drivers.expert import ExpertDriver
from roadgym.envs.multiagent import make_multi_agent_vector_env


def evaluate(
    env_id: str,
    agents: int,
    worlds: int,
    seed: int,
    driver: str,
    model_path: str | None = None,
    **config: Any,
) -> dict[str, float]:
    """One episode in each of ``worlds`` worlds seeded ``seed``, ``seed + 1``, ..."""
    env = make_multi_agent_vector_env(env_id, worlds, agents, **config)
    observation, _ = env.reset(seed=seed)
    expert = ExpertDriver(env) if driver == "expert" else None
    model = None
    if driver == "model":
        from stable_baselines3 import PPO

        model = PPO.load(model_path, device="cpu")
    slots = worlds * agents
    done = np.zeros(slots, dtype=bool)
    record = {k: np.zeros(slots) for k in ("crashed", "off_road", "distance_m", "speed_sum")}
    steps = np.zeros(slots)
    pairs = np.zeros(worlds)
    world_done = np.zeros(worlds, dtype=bool)
    while not world_done.all():
        if expert is not None:
            actions, _ = expert.predict(observation)
        elif model is not None:
            actions, _ = model.predict(observation, deterministic=True)
        elif driver == "slower":
            actions = np.full(slots, 4, dtype=np.int64)  # SLOWER: the lowest target speed
        else:
            actions = np.ones(slots, dtype=np.int64)  # IDLE: keep lane and target speed
        observation, _, terminated, truncated, info = env.step(actions)
        live = info["agent_active"] & ~done
        steps += live
        record["speed_sum"] += np.where(live, info["speed_mps"], 0.0)
        ending = live & (terminated | truncated)
        for key in ("crashed", "off_road", "distance_m"):
            record[key] = np.where(ending, info[key], record[key])
        done |= ending
        # The world's last step: its pair count is final (before the next step resets it).
        over = np.zeros(worlds, dtype=bool)
        over[env.slot_world[terminated | truncated]] = True
        over &= ~world_done
        first = np.arange(worlds) * agents
        pairs = np.where(over, info["controlled_collisions"][first], pairs)
        world_done |= done.reshape(worlds, agents).all(axis=1)
    km = record["distance_m"].sum() / 1000.0
    return {
        "cars": float(slots),
        "crashed": float(record["crashed"].sum()),
        "off_road": float(record["off_road"].sum()),
        "controlled_collision_pairs": float(pairs.sum()),
        "worlds_with_controlled_collision": float((pairs > 0).sum()),
        "controlled_collisions_per_km": float(pairs.sum() / max(km, 1e-9)),
        "mean_speed_mps": float(record["speed_sum"].sum() / max(steps.sum(), 1.0)),
        "mean_distance_m": float(record["distance_m"].mean()),
    }


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="roadgym/Merge-v0")
    parser.add_argument("--agents", type=int, default=8)
    parser.add_argument("--worlds", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1_000_000)
    parser.add_argument("--driver", choices=("expert", "idle", "slower", "model"), default="expert")
    parser.add_argument("--model", default=None, help="SB3 PPO zip (--driver model)")
    parser.add_argument("--observation", default="kinematics")
    parser.add_argument("--action-type", default="meta")
    parser.add_argument("--policy-frequency-hz", type=float, default=5.0)
    args = parser.parse_args(argv)
    result = evaluate(
        args.env,
        args.agents,
        args.worlds,
        args.seed,
        args.driver,
        args.model,
        observation=args.observation,
        action_type=args.action_type,
        policy_frequency_hz=args.policy_frequency_hz,
    )
    print(json.dumps({"args": vars(args), **result}, indent=1))
    return result


if __name__ == "__main__":
    main()
