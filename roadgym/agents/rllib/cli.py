"""``roadgym train --backend rllib``: the argparse front of :func:`train_rllib`.

``roadgym.agents.cli.train_main`` hands the whole command line here when it sees
``--backend rllib``, so the SB3 parser never needs Ray.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from roadgym.agents.cli_options import add_set_alias, deprecation_notes
from roadgym.agents.hyperparams import HyperparamError, parse_overrides
from roadgym.envs.seeds import TEST_SEED_START

__all__ = ["rllib_train_main", "rllib_train_parser"]


def rllib_train_parser() -> argparse.ArgumentParser:
    """Arguments of ``roadgym train --backend rllib``."""
    parser = argparse.ArgumentParser(
        prog="roadgym train --backend rllib",
        description="Train PPO with Ray RLlib, each env runner stepping one batched roadgym "
        "world. Hyperparameters come from roadgym/agents/hyperparams/ppo.yml (or --config), "
        "mapped to RLlib (roadgym.agents.rllib.config), then the flags below.",
    )
    parser.add_argument("--backend", choices=("rllib",), default="rllib")
    parser.add_argument("--algo", required=True, choices=("ppo",))
    parser.add_argument("--env", default="roadgym/Track-v0", help="roadgym env id")
    parser.add_argument("--config", type=Path, help="YAML of hyperparameters keyed by env id")
    parser.add_argument("--timesteps", type=int, help="total env steps (n_timesteps)")
    parser.add_argument(
        "--num-env-runners",
        type=int,
        default=0,
        help="remote env runners K (0: the driver samples itself)",
    )
    parser.add_argument(
        "--envs-per-runner", type=int, help="worlds M in each runner's batch (default: n_envs)"
    )
    parser.add_argument(
        "--address", help="HOST:PORT of a running Ray cluster (default: start a local Ray)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--encoder", help="roadgym encoder: nature, impala, resnet")
    parser.add_argument("--pretrained", type=Path, help="classifier checkpoint for the encoder")
    parser.add_argument("--freeze", action="store_true", help="keep the pretrained encoder fixed")
    parser.add_argument("--run-dir", type=Path, help="default runs/ppo-rllib-{env}-s{seed}")
    parser.add_argument("--resume", type=Path, help="RLlib checkpoint directory to continue")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a hyperparameter (YAML value, dotted keys reach into mappings); repeatable",
    )
    add_set_alias(parser, "--hp", None)  # the old spelling of --set
    parser.add_argument("--torch-threads", type=int, help="torch.set_num_threads on the driver")
    return parser


def rllib_train_main(argv: Sequence[str] | None = None) -> int:
    """Resolve the hyperparameters, train, print where the checkpoint went."""
    parser = rllib_train_parser()
    args = parser.parse_args(argv)
    try:
        from roadgym.agents.rllib import require_ray

        require_ray()
    except ImportError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    from roadgym.agents.hyperparams import resolve_settings
    from roadgym.agents.rllib.training import train_rllib

    overrides: dict[str, Any] = {}
    try:
        deprecation_notes(args)
        overrides.update(parse_overrides(args.set))
    except HyperparamError as error:
        parser.error(str(error))
    flags = {
        "n_timesteps": args.timesteps,
        "encoder": args.encoder,
        "pretrained": None if args.pretrained is None else str(args.pretrained),
        "freeze": True if args.freeze else None,
    }
    overrides.update({key: value for key, value in flags.items() if value is not None})
    if args.pretrained is not None and args.encoder is None:
        overrides.setdefault("encoder", None)
        overrides.setdefault("encoder_options", None)
    if args.freeze and args.pretrained is None and "pretrained" not in overrides:
        parser.error("--freeze needs --pretrained CKPT (there is nothing to freeze)")
    if args.num_env_runners < 0:
        parser.error(f"--num-env-runners {args.num_env_runners}: allowed: an int >= 0")
    if args.envs_per_runner is not None and args.envs_per_runner < 1:
        parser.error(f"--envs-per-runner {args.envs_per_runner}: allowed: an int >= 1")
    try:
        settings = resolve_settings(
            args.algo, args.env, seed=args.seed, config_path=args.config, overrides=overrides
        )
        result = train_rllib(
            settings,
            run_dir=args.run_dir,
            num_env_runners=args.num_env_runners,
            envs_per_runner=args.envs_per_runner,
            address=args.address,
            resume=args.resume,
            torch_threads=args.torch_threads,
        )
    except (HyperparamError, FileNotFoundError, ConnectionError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(
        f"trained RLlib {settings.algo} on {settings.env_id} for {result.num_timesteps} env "
        f"steps in {result.wall_s / 60:.1f} min ({result.env_steps_per_s:.0f} env steps/s)\n"
        f"  checkpoint:  {result.checkpoint}\n"
        f"  best:        {result.best_checkpoint}\n"
        f"  TensorBoard: tensorboard --logdir {result.run_dir / 'tb'}\n"
        f"  evaluate:    roadgym evaluate --model {result.checkpoint} --episodes 20 "
        f"--seed {TEST_SEED_START}"
    )
    if result.evaluations:
        steps, report = result.evaluations[-1]
        print(f"last evaluation ({steps} steps):\n{report.table()}")
    return 0
