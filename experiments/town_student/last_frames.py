"""What the student saw before its route ended: a strip of its camera frames.

Usage: ``python experiments/town_student/last_frames.py 2400040 2400072 --out runs/frames``
(the towns' seeds; ``--model runs/.../student.zip`` for another student than the shipped
``town-student``). Each town is driven alone (one env, deterministic actions) to its first
collision or its end; ``OUT/frames_SEED.png`` holds the newest camera frame every
``--every`` steps over the last ``--seconds`` (x4, nearest neighbour), the end last.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import gymnasium as gym
import numpy as np

import roadgym  # noqa: F401  (registers the envs)
from roadgym.agents import load_pretrained
from roadgym.agents.loading import load_agent

STEP_S = 0.1  # Town-v0's default dt_s


def last_frames(agent, seed: int, steps: int, max_steps: int = 3000) -> list[np.ndarray]:
    """The newest camera frames (64, 64, 3) of the last ``steps`` steps of town ``seed``."""
    env = gym.make(agent.env_id, **agent.env_kwargs)
    observation, _ = env.reset(seed=seed)
    frames = [observation["rgb"][..., -3:].copy()]
    for _ in range(max_steps):
        action, _ = agent.predict(observation, deterministic=True)
        observation, _, terminated, truncated, info = env.step(action)
        frames.append(observation["rgb"][..., -3:].copy())
        frames = frames[-steps - 1 :]
        hit = info["collisions_vehicle"] > 0 or info["collisions_pedestrian"] > 0
        if hit or terminated or truncated:
            break
    env.close()
    return frames


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("seeds", type=int, nargs="+")
    parser.add_argument("--model", help="a student zip (default: the shipped town-student)")
    parser.add_argument("--out", type=Path, default=Path("runs/last_frames"))
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--every", type=int, default=5, help="steps between frames shown")
    args = parser.parse_args()
    agent = load_agent(args.model) if args.model else load_pretrained("town-student")
    args.out.mkdir(parents=True, exist_ok=True)
    for seed in args.seeds:
        frames = last_frames(agent, seed, round(args.seconds / STEP_S))[:: -args.every][::-1]
        big = [cv2.resize(f, None, fx=4, fy=4, interpolation=cv2.INTER_NEAREST) for f in frames]
        path = args.out / f"frames_{seed}.png"
        cv2.imwrite(str(path), np.concatenate(big, axis=1)[..., ::-1])  # cv2 writes BGR
        print(path)


if __name__ == "__main__":
    main()
