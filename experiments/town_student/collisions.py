"""Where the other actor was when the shipped student collided: one line per town.

Usage: ``python experiments/town_student/collisions.py 2400000 2400017 ...`` (the towns'
seeds; ``--model runs/.../student.zip`` for another student). Each town is driven alone
(one env, deterministic actions) to its first collision or its end; at a collision the
line gives the ego's speed over the last 2 s and the nearest car or pedestrian in the
car's frame (metres ahead, metres to the left), with a car's heading relative to the
ego's and its speed.
"""

from __future__ import annotations

import argparse

import gymnasium as gym
import numpy as np
import torch

import roadgym  # noqa: F401  (registers the envs)
from roadgym.agents import load_pretrained
from roadgym.agents.loading import load_agent


def describe(agent, seed: int, max_steps: int = 3000) -> str:
    """Drive town ``seed`` to its first collision or end; the line describing it."""
    env = gym.make(agent.env_id, **agent.env_kwargs)
    observation, info = env.reset(seed=seed)
    world = env.unwrapped.world
    speeds_mps: list[float] = []
    try:
        for step in range(max_steps):
            action, _ = agent.predict(observation, deterministic=True)
            observation, _, terminated, truncated, info = env.step(action)
            speeds_mps.append(float(world.car.speed_mps[0]))
            vehicle = info["collisions_vehicle"] > 0
            pedestrian = info["collisions_pedestrian"] > 0
            if not (vehicle or pedestrian or terminated or truncated):
                continue
            what = "vehicle" if vehicle else "pedestrian" if pedestrian else "no collision"
            line = (
                f"{seed}: step {step}, {what}, completion {info['route_completion']:.2f}, "
                f"ego speed over the last 2 s {[round(s, 1) for s in speeds_mps[-20::4]]} m/s"
            )
            if not (vehicle or pedestrian):
                return line
            heading = float(world.car.heading_rad[0])
            forward = np.array([np.cos(heading), np.sin(heading)])
            left = np.array([-np.sin(heading), np.cos(heading)])
            others = world.veh_xy[0] if vehicle else world.ped_xy[0]
            offset = others - [float(world.car.x_m[0]), float(world.car.y_m[0])]
            k = int(np.argmin((offset * offset).sum(1)))
            line += f", other {offset[k] @ forward:+.1f} m ahead, {offset[k] @ left:+.1f} m left"
            if vehicle:
                turn = (float(world.veh_heading[0, k]) - heading + np.pi) % (2 * np.pi) - np.pi
                line += (
                    f", its heading {np.degrees(turn):+.0f} deg, "
                    f"speed {float(world.veh_speed[0, k]):.1f} m/s"
                )
            return line
        return f"{seed}: no end in {max_steps} steps"
    finally:
        env.close()


def main() -> None:
    """Describe each town's collision."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("seeds", type=int, nargs="+", help="the towns' seeds")
    parser.add_argument("--model", help="a student zip (default: the shipped town-student)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    agent = load_agent(args.model) if args.model else load_pretrained("town-student")
    for seed in args.seeds:
        print(describe(agent, seed))


if __name__ == "__main__":
    main()
