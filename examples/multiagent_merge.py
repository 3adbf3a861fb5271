"""Several cars in one world: PettingZoo's parallel loop on roadgym/Merge-v0, then the
same cars as a flat batch of B worlds x N slots for parameter-shared PPO.

    python examples/multiagent_merge.py [--agents 4] [--steps 200] [--timesteps 0]

The loop needs the ``multiagent`` extra (pettingzoo); ``--timesteps`` > 0 also trains
SB3 PPO with one policy for every car (needs ``train``).
"""

from __future__ import annotations

import argparse

import numpy as np

from roadgym.envs.multiagent import make_multi_agent_sb3_vec_env, parallel_env


def main(argv: list[str] | None = None) -> dict[str, float]:
    """Drive ``--agents`` cars with IDLE meta actions (each keeps its lane, at its target
    speed) for ``--steps`` steps; print and return how the world's episode went."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=4)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timesteps", type=int, default=0, help="PPO steps (0: no training)")
    args = parser.parse_args(argv)

    env = parallel_env(
        "roadgym/Merge-v0",
        num_agents=args.agents,
        observation="kinematics",
        action_type="meta",
        finished_agent_mode="park",
    )
    observations, infos = env.reset(seed=args.seed)  # {"car_0": (5, 5) float32, ...}
    idle = 1  # LANE_LEFT 0, IDLE 1, LANE_RIGHT 2, FASTER 3, SLOWER 4
    returns = dict.fromkeys(env.possible_agents, 0.0)
    steps = 0
    while env.agents and steps < args.steps:
        actions = {agent: idle for agent in env.agents}
        observations, rewards, terminated, truncated, infos = env.step(actions)
        for agent, reward in rewards.items():
            returns[agent] += reward
        steps += 1
    crashed = sum(bool(info["crashed"]) for info in infos.values())
    summary = {
        "steps": float(steps),
        "mean_return": float(np.mean(list(returns.values()))),
        "cars_crashed_last_step": float(crashed),
    }
    print(f"{args.agents} cars, {steps} steps: {summary}")
    env.close()

    if args.timesteps > 0:
        from stable_baselines3 import PPO

        # 2 worlds x N cars = 2N slots, one shared policy.
        venv = make_multi_agent_sb3_vec_env(
            "roadgym/Merge-v0",
            2,
            args.agents,
            seed=args.seed,
            observation="kinematics",
            action_type="meta",
        )
        model = PPO("MlpPolicy", venv, n_steps=32, batch_size=64, seed=args.seed, device="cpu")
        model.learn(args.timesteps)
        summary["ppo_timesteps"] = float(model.num_timesteps)
    return summary


if __name__ == "__main__":
    main()
