"""``roadgym snapshot``: a picture of an env for the README, its render beside camera views.

    roadgym snapshot [--env roadgym/Track-v0] [--out docs/track.png] [--steps 60] [--seed 3]
    roadgym snapshot --env roadgym/Merge-v0 --num-agents 8 --out docs/multiagent.png

The car is driven by the privileged expert (:class:`roadgym.drivers.expert.ExpertDriver`).
With ``--num-agents`` N > 1 (Town, Highway, Merge) the expert drives all N cars of one
world: its render (every controlled car in its colour) beside the cameras of cars 0..3.
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


def multi_agent_snapshot(env_id: str, seed: int, steps: int, agents: int) -> np.ndarray:
    """The render of one world around car 0 beside the cameras of its first four cars."""
    from roadgym.envs.multiagent import make_multi_agent_vector_env

    env = make_multi_agent_vector_env(env_id, 1, agents, render_mode="rgb_array")
    expert = ExpertDriver(env)
    observation, _ = env.reset(seed=seed)
    for _ in range(steps):
        action, _ = expert.predict(observation)
        observation, *_ = env.step(action)
    frame = env.render_world(0)
    size = frame.shape[0] // 4 - 4
    cameras = [
        cv2.copyMakeBorder(
            cv2.resize(camera, (size, size), interpolation=cv2.INTER_NEAREST),
            2,
            2,
            4,
            0,
            cv2.BORDER_CONSTANT,
            value=0,
        )  # fmt: skip
        for camera in observation[: min(agents, 4)]
    ]
    strip = np.concatenate(cameras, axis=0)
    strip = np.pad(strip, ((0, frame.shape[0] - strip.shape[0]), (0, 0), (0, 0)))
    env.close()
    return np.concatenate([frame, strip], axis=1)


def main(argv: Sequence[str] | None = None) -> int:
    """Write the picture to ``--out`` (atomically)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0].split(": ", 1)[1])
    parser.add_argument("--env", default="roadgym/Track-v0")
    parser.add_argument("--out", type=Path, default=Path("docs/track.png"))
    parser.add_argument("--seed", type=int, default=3, help="seed of the big frame")
    parser.add_argument("--steps", type=int, default=60, help="steps before each picture")
    parser.add_argument(
        "--num-agents",
        type=int,
        default=1,
        help="controlled cars of one world (Town, Highway, Merge)",
    )
    args = parser.parse_args(argv)

    if args.num_agents > 1:
        picture = multi_agent_snapshot(args.env, args.seed, args.steps, args.num_agents)
    else:
        picture = snapshot(args.env, args.seed, args.steps)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".tmp.png")
    cv2.imwrite(str(tmp), cv2.cvtColor(picture, cv2.COLOR_RGB2BGR))
    os.replace(tmp, args.out)
    print(f"wrote {args.out} ({picture.shape[1]}x{picture.shape[0]})")
    return 0
