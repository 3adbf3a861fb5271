"""``roadgym snapshot``: a picture of an env for the README, its render beside camera views.

    roadgym snapshot [--env roadgym/Track-v0] [--out docs/track.png] [--steps 60] [--seed 3]

The car is driven by the privileged expert (:class:`roadgym.drivers.expert.ExpertDriver`).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from pathlib import Path

import cv2
import gymnasium as gym
import numpy as np

import roadgym  # noqa: F401  (registers the envs)
from roadgym.drivers.expert import ExpertDriver


def drive(env: gym.Env, seed: int, steps: int) -> np.ndarray:
    """Reset with ``seed``, let the expert drive ``steps`` steps; the last observation."""
    expert = ExpertDriver(env)
    observation, _ = env.reset(seed=seed)
    for _ in range(steps):
        action, _ = expert.predict(observation)
        observation, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            break
    return observation


def camera_strip(env_id: str, seeds: range, steps: int, size: int) -> np.ndarray:
    """Camera frames of several seeds after ``steps`` steps, stacked into a column."""
    frames = []
    for seed in seeds:
        observation = drive(gym.make(env_id), seed, steps)
        frame = cv2.resize(observation, (size, size), interpolation=cv2.INTER_NEAREST)
        frames.append(cv2.copyMakeBorder(frame, 2, 2, 4, 0, cv2.BORDER_CONSTANT, value=0))
    return np.concatenate(frames, axis=0)


def snapshot(env_id: str, seed: int, steps: int) -> np.ndarray:
    """The render frame of ``seed`` beside the camera of seeds 0..3, RGB uint8."""
    env = gym.make(env_id, render_mode="rgb_array")
    drive(env, seed, steps)
    frame = env.render()
    env.close()
    strip = camera_strip(env_id, range(4), steps, size=frame.shape[0] // 4 - 4)
    return np.concatenate([frame, strip], axis=1)


def main(argv: Sequence[str] | None = None) -> int:
    """Write the picture to ``--out`` (atomically)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0].split(": ", 1)[1])
    parser.add_argument("--env", default="roadgym/Track-v0")
    parser.add_argument("--out", type=Path, default=Path("docs/track.png"))
    parser.add_argument("--seed", type=int, default=3, help="seed of the big frame")
    parser.add_argument("--steps", type=int, default=60, help="steps before each picture")
    args = parser.parse_args(argv)

    picture = snapshot(args.env, args.seed, args.steps)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".tmp.png")
    cv2.imwrite(str(tmp), cv2.cvtColor(picture, cv2.COLOR_RGB2BGR))
    os.replace(tmp, args.out)
    print(f"wrote {args.out} ({picture.shape[1]}x{picture.shape[0]})")
    return 0
