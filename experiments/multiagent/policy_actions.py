"""What a self-play policy chooses on held-out Merge worlds (20 worlds x 8 cars from
seed 2,000,000, one decision a second, 30 steps of its own deterministic driving): the
share of each meta action it takes and its mean action probabilities.

    python experiments/multiagent/policy_actions.py runs/selfplay_ent005/model.zip
"""

from __future__ import annotations

import argparse

import numpy as np

from roadgym.envs.multiagent import make_multi_agent_vector_env

ACTIONS = ("LANE_LEFT", "IDLE", "LANE_RIGHT", "FASTER", "SLOWER")


def main(argv: list[str] | None = None) -> dict[str, list[float]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="SB3 PPO zip trained by selfplay_ppo.py")
    parser.add_argument("--worlds", type=int, default=20)
    parser.add_argument("--seed", type=int, default=2_000_000)
    args = parser.parse_args(argv)

    import torch
    from stable_baselines3 import PPO

    model = PPO.load(args.model, device="cpu")
    env = make_multi_agent_vector_env(
        "roadgym/Merge-v0",
        args.worlds,
        8,
        observation="kinematics",
        action_type="meta",
        policy_frequency_hz=1.0,
    )
    observation, _ = env.reset(seed=args.seed)
    taken, probabilities = np.zeros(len(ACTIONS)), []
    for _ in range(30):
        with torch.no_grad():
            distribution = model.policy.get_distribution(torch.as_tensor(observation))
        probabilities.append(distribution.distribution.probs.numpy())  # (B * N, 5)
        actions, _ = model.predict(observation, deterministic=True)
        taken += np.bincount(actions, minlength=len(ACTIONS))
        observation, *_ = env.step(actions)
    mean = np.concatenate(probabilities).mean(axis=0)
    result = {"taken": (taken / taken.sum()).round(3).tolist(), "mean_p": mean.round(3).tolist()}
    for name, share, p in zip(ACTIONS, result["taken"], result["mean_p"], strict=True):
        print(f"{name:10s} taken {share:.3f}  mean probability {p:.3f}")
    return result


if __name__ == "__main__":
    main()
