"""stable-baselines3 PPO from pixels on the batched SB3 VecEnv of roadgym/Track-v0.

    python examples/sb3_ppo.py [--timesteps 20000] [--n-envs 16]

``make_sb3_vec_env`` runs all worlds in one batched simulator and behaves like a seeded
``DummyVecEnv``; SB3 wraps the channel-last frames in ``VecTransposeImage`` itself. The
policy uses roadgym's NatureCNN encoder through ``policy_kwargs``. ``roadgym train`` does
the same with the tuned hyperparameters, held-out evaluation and TensorBoard.
Needs ``pip install -e ".[train]"``.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from stable_baselines3 import PPO

from roadgym.envs import make_sb3_vec_env
from roadgym.perception import RoadgymEncoderExtractor


def main(argv: list[str] | None = None) -> PPO:
    """Train for ``--timesteps`` steps, then drive one greedy step in each world."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timesteps", type=int, default=20_000)
    parser.add_argument("--n-envs", type=int, default=16)
    parser.add_argument("--n-steps", type=int, default=128, help="steps per world per rollout")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)

    venv = make_sb3_vec_env(
        "roadgym/Track-v0", n_envs=args.n_envs, seed=args.seed, action_type="discrete"
    )
    model = PPO(
        "CnnPolicy",
        venv,
        n_steps=args.n_steps,
        batch_size=min(256, args.n_envs * args.n_steps),
        n_epochs=4,
        ent_coef=0.01,
        policy_kwargs={
            "features_extractor_class": RoadgymEncoderExtractor,
            "features_extractor_kwargs": {
                "encoder": "nature",
                "encoder_options": {"channels": (16, 32, 32), "features_dim": 256},
            },
        },
        seed=args.seed,
        device="cpu",
        verbose=0,
    )
    model.learn(args.timesteps)
    observations = venv.reset()  # (n_envs, 64, 64, 3) uint8
    actions, _ = model.predict(observations, deterministic=True)  # (n_envs,)
    print(f"trained {model.num_timesteps} steps; greedy actions {np.asarray(actions).tolist()}")
    venv.close()
    return model


if __name__ == "__main__":
    main()
