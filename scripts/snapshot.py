"""Write a picture of an env for the README: its render frame beside camera views.

    python scripts/snapshot.py [--env roadgym/Track-v0] [--out docs/track.png]

The car keeps to the road centre with a small state-feedback controller.
"""

import argparse
import os
from pathlib import Path

import cv2
import gymnasium as gym
import numpy as np

import roadgym  # noqa: F401  (registers the envs)


def lane_keeping_action(state: np.ndarray) -> np.ndarray:
    """Steer to the road centre with curvature feed-forward at about 12 m/s."""
    steer = 2.0 * state[2] + 0.8 * state[1] - np.arctan(2.7 * state[5]) / 0.5
    throttle = 1.0 if state[0] * 30.0 < 12.0 else 0.0
    return np.array([steer, throttle], np.float32)


def camera_strip(env_id: str, seeds: range, steps: int, size: int) -> np.ndarray:
    """Camera frames of several seeds after ``steps`` steps, stacked into a column."""
    frames = []
    for seed in seeds:
        env = gym.make(env_id, observation="rgb+state")
        observation, _ = env.reset(seed=seed)
        for _ in range(steps):
            observation, *_ = env.step(lane_keeping_action(observation["state"]))
        frame = cv2.resize(observation["rgb"], (size, size), interpolation=cv2.INTER_NEAREST)
        frames.append(cv2.copyMakeBorder(frame, 2, 2, 4, 0, cv2.BORDER_CONSTANT, value=0))
    return np.concatenate(frames, axis=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="roadgym/Track-v0")
    parser.add_argument("--out", type=Path, default=Path("docs/track.png"))
    args = parser.parse_args()

    env = gym.make(args.env, render_mode="rgb_array", observation="rgb+state")
    observation, _ = env.reset(seed=3)
    for _ in range(60):
        observation, *_ = env.step(lane_keeping_action(observation["state"]))
    frame = env.render()
    strip = camera_strip(args.env, range(4), steps=40, size=frame.shape[0] // 4 - 4)
    picture = np.concatenate([frame, strip], axis=1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".tmp.png")
    cv2.imwrite(str(tmp), cv2.cvtColor(picture, cv2.COLOR_RGB2BGR))
    os.replace(tmp, args.out)
    print(f"wrote {args.out} ({picture.shape[1]}x{picture.shape[0]})")


if __name__ == "__main__":
    main()
