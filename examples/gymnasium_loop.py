"""A plain Gymnasium loop: random actions on roadgym/Track-v0, episodes reset as they end.

    python examples/gymnasium_loop.py [--steps 500] [--seed 0] [--env roadgym/Town-v0]

Needs only the base install (no torch).
"""

from __future__ import annotations

import argparse

import gymnasium as gym

import roadgym  # noqa: F401  (registers the roadgym/ ids)


def main(argv: list[str] | None = None) -> list[float]:
    """Step ``--steps`` random actions; print and return each finished episode's return."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="roadgym/Track-v0")
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    env = gym.make(args.env, render_mode="rgb_array")
    env.action_space.seed(args.seed)
    observation, info = env.reset(seed=args.seed)  # (64, 64, 3) uint8 camera
    returns, episode_return = [], 0.0
    for _ in range(args.steps):
        action = env.action_space.sample()  # [steer, throttle] in [-1, 1]
        observation, reward, terminated, truncated, info = env.step(action)
        episode_return += float(reward)
        if terminated or truncated:
            returns.append(episode_return)
            print(f"episode {len(returns)}: return {episode_return:+.2f}, labels {info['labels']}")
            episode_return = 0.0
            observation, info = env.reset()  # the next seed follows from the first
    frame = env.render()  # the bird's-eye view with its HUD, (512, 512, 3)
    print(f"{args.steps} steps, camera {observation.shape}, render {frame.shape}")
    env.close()
    return returns


if __name__ == "__main__":
    main()
