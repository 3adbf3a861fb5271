"""Self-play on Merge-v0: one SB3 PPO policy (shared parameters) drives every
controlled car of B worlds x N cars, trained from scratch on highway-env's
kinematics observation and meta actions.

    python experiments/multiagent/selfplay_ppo.py --timesteps 300000 --out runs/selfplay

From scratch, not from the pixel student: the student drives Town from pixels, and
Merge with kinematics is a different input and action space. Writes ``model.zip``
(temp file, then renamed) and ``config.json`` into ``--out``; evaluate with
``evaluate_all_cars.py --driver model --model <out>/model.zip``.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from roadgym.envs.multiagent import make_multi_agent_sb3_vec_env

ENV_FIELDS = {"observation": "kinematics", "action_type": "meta"}


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="roadgym/Merge-v0")
    parser.add_argument("--worlds", type=int, default=8)
    parser.add_argument("--agents", type=int, default=8)
    parser.add_argument("--timesteps", type=int, default=300_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-steps", type=int, default=64)
    parser.add_argument("--gamma", type=float, default=0.95)
    parser.add_argument(
        "--ent-coef", type=float, default=0.01, help="entropy bonus (0.01: the first recipe)"
    )
    parser.add_argument(
        "--policy-frequency-hz", type=float, default=1.0, help="decisions a second (highway-env: 1)"
    )
    parser.add_argument("--out", type=Path, default=Path("runs/selfplay"))
    args = parser.parse_args(argv)

    from stable_baselines3 import PPO

    from roadgym.agents.multiagent_metrics import MultiAgentMetricsCallback

    fields = {**ENV_FIELDS, "policy_frequency_hz": args.policy_frequency_hz}
    venv = make_multi_agent_sb3_vec_env(
        args.env, args.worlds, args.agents, seed=args.seed, **fields
    )
    model = PPO(
        "MlpPolicy",
        venv,
        n_steps=args.n_steps,
        batch_size=512,
        n_epochs=5,
        learning_rate=3e-4,
        gamma=args.gamma,
        ent_coef=args.ent_coef,
        seed=args.seed,
        device="cpu",
        tensorboard_log=str(args.out / "tb"),
        verbose=0,
    )
    model.learn(args.timesteps, callback=MultiAgentMetricsCallback(), progress_bar=False)
    args.out.mkdir(parents=True, exist_ok=True)
    temp = args.out / "model.tmp.zip"
    model.save(temp)
    os.replace(temp, args.out / "model.zip")
    config = {"args": {k: str(v) for k, v in vars(args).items()}, "env_fields": fields}
    (args.out / "config.json").write_text(json.dumps(config, indent=1))
    print(f"wrote {args.out / 'model.zip'}")
    return args.out / "model.zip"


if __name__ == "__main__":
    main()
