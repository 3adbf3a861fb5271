"""``roadgym train``: a dozen flags over the run config (:mod:`roadgym.agents.run_config`).

Every setting is a field of the run config, set in ``--config FILE`` or with ``--set
KEY=VALUE``; the flags are shorthands of the most used ones. Old spellings (``--hp``,
``--init-kl-coef``, ``--expert-coef``, ``--no-progress-bar``, ...) still work as hidden
aliases of ``--set`` that print a deprecation line.
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from roadgym.agents.cli_options import (
    add_config_options,
    add_renamed_flag,
    add_set_alias,
    deprecation_notes,
    fail,
)
from roadgym.agents.hyperparams import ALGOS
from roadgym.agents.typed_config import ConfigError, set_overrides

__all__ = ["train_main", "train_overrides", "train_parser"]


def train_parser() -> argparse.ArgumentParser:
    """Arguments of ``roadgym train``: a dozen options; every other setting is a field of
    the run config (:mod:`roadgym.agents.run_config`), set in ``--config`` or ``--set``."""
    parser = argparse.ArgumentParser(
        description="Train SB3 PPO or DQN on a roadgym env from pixels. A run is its config: "
        "the hyperparameters come from roadgym/agents/hyperparams/{algo}.yml (or --config, "
        "e.g. a run's config.yaml), then --set and the flags below; every run writes its "
        "config to RUN_DIR/config.yaml first, and `roadgym train --config RUN_DIR/config.yaml "
        "--run-dir NEW` trains the same weights again. Extensions (student_pull, "
        "critic_warmup, expert_term) are set with --set extensions.NAME.FIELD=VALUE.",
        epilog="Runtime options (no effect on the weights): --stop-at N (save at N steps; "
        "--resume continues), --torch-threads N, --no-progress. Ray RLlib: roadgym train "
        "--backend rllib -h.",
    )
    add_config_options(
        parser,
        "YAML run config (a run's config.yaml reproduces that run) or hyperparameters "
        "keyed by env id",
    )
    parser.add_argument("--algo", choices=ALGOS, help="ppo or dqn (default: the config's)")
    parser.add_argument("--env", help="gymnasium env id (default: the config's, else Track-v0)")
    parser.add_argument("--seed", type=int, help="training seed (default: the config's, else 0)")
    parser.add_argument("--n-envs", type=int, help="worlds stepped together (n_envs)")
    parser.add_argument("--timesteps", type=int, help="total env steps (n_timesteps)")
    parser.add_argument("--run-dir", type=Path, help="default runs/{algo}-{env}-s{seed}")
    parser.add_argument(
        "--init-from",
        type=Path,
        help="start PPO from a pixel student (student.zip from roadgym imitate): its weights, "
        "architecture and env settings (init_from)",
    )
    parser.add_argument(
        "--resume",
        type=Path,
        help="model zip to continue training from (its run dir is the default --run-dir)",
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="delete the run already in --run-dir first (otherwise such a run dir is refused)",
    )
    parser.add_argument("--device", default="auto", help="torch device: auto, cpu, cuda")
    # Runtime options, listed in the epilog rather than as a dozen more lines.
    hidden = argparse.SUPPRESS
    parser.add_argument("--backend", choices=("sb3", "rllib"), default="sb3", help=hidden)
    parser.add_argument("--stop-at", type=int, help=hidden)
    parser.add_argument("--torch-threads", type=int, help=hidden)
    parser.add_argument("--no-progress", action="store_true", help=hidden)
    _add_old_train_flags(parser)
    return parser


def _add_old_train_flags(parser: argparse.ArgumentParser) -> None:
    """Old spellings: hidden, working, each with a deprecation line naming the new one."""
    add_renamed_flag(
        parser, "--no-progress-bar", "--no-progress", "no_progress", action="store_true"
    )
    add_renamed_flag(parser, "--num-envs", "--n-envs", "n_envs", type=int)
    add_set_alias(parser, "--hp", None)
    add_set_alias(parser, "--encoder", "encoder")
    add_set_alias(parser, "--pretrained", "pretrained")
    add_set_alias(parser, "--freeze", "freeze", flag_value="true")
    pull, warmup, expert = (
        "extensions.student_pull",
        "extensions.critic_warmup",
        "extensions.expert_term",
    )
    add_set_alias(parser, "--init-kl-coef", f"{pull}.coef", type=float)
    add_set_alias(parser, "--init-kl-steps", f"{pull}.decay_steps", type=int)
    add_set_alias(parser, "--critic-warmup-steps", f"{warmup}.steps", type=int)
    add_set_alias(parser, "--expert-coef", f"{expert}.coef", type=float)
    add_set_alias(parser, "--expert-stop-zone-m", f"{expert}.stop_zone_m", type=float)
    add_set_alias(parser, "--expert-slow-mps", f"{expert}.slow_mps", type=float)
    add_set_alias(
        parser, "--expert-student-weights", f"{expert}.student_weights", flag_value="true"
    )


def _null_when_zero(value: Any) -> str:
    return "null" if value == 0 else str(value)


# Old extension flags: a value of 0 meant "off"; the sub-settings needed the main one.
_OLD_EXTENSION_FLAGS = {
    "--init-kl-coef": ("extensions.student_pull", ("--init-kl-steps",)),
    "--critic-warmup-steps": ("extensions.critic_warmup", ()),
    "--expert-coef": (
        "extensions.expert_term",
        ("--expert-stop-zone-m", "--expert-slow-mps", "--expert-student-weights"),
    ),
}


def _old_extension_items(used: dict[str, Any]) -> tuple[list[str], str | None]:
    """``--set`` items that switch off extensions an old flag set to 0, or an error when
    an old sub-setting comes without its main flag (> 0), as the old flags required."""
    items = []
    for main, (key, subs) in _OLD_EXTENSION_FLAGS.items():
        on = main in used and used[main] > 0
        for sub in subs:
            if sub in used and not on:
                return [], f"{sub} needs {main} > 0 (now: --set {key}.FIELD=VALUE)"
        if main in used and not on:
            items.append(f"{key}=null")
    return items, None


def _wants_rllib(argv: Sequence[str]) -> bool:
    """Whether the command line asks for ``--backend rllib`` (or ``--backend=rllib``)."""
    for index, item in enumerate(argv):
        if item == "--backend" and index + 1 < len(argv):
            return argv[index + 1] == "rllib"
        if item.startswith("--backend="):
            return item.partition("=")[2] == "rllib"
    return False


def train_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The run-config overrides a parsed ``roadgym train`` command line describes:
    ``--set`` items (old flags among them, in order), then the named flags on top."""
    used = deprecation_notes(args)
    if "--init-kl-steps" in used and used["--init-kl-steps"] >= 10**7:
        print(
            "note: a huge --init-kl-steps meant 'no decay'; say so with "
            "--set extensions.student_pull.decay_steps=null",
            file=sys.stderr,
        )
    off_items, problem = _old_extension_items(used)
    if problem is not None:
        raise ConfigError(problem)
    overrides = set_overrides([*args.set, *off_items])
    named = {
        "algo": args.algo,
        "env_id": args.env,
        "seed": args.seed,
        "n_envs": args.n_envs,
        "n_timesteps": args.timesteps,
        "run_dir": None if args.run_dir is None else str(args.run_dir),
        "init_from": None if args.init_from is None else str(args.init_from),
    }
    overrides.update({key: value for key, value in named.items() if value is not None})
    return overrides


def train_main(argv: Sequence[str] | None = None) -> int:
    """``roadgym train``: build the run config, train, print where things went."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if _wants_rllib(argv):
        try:  # lazily: the SB3 path never imports Ray
            from roadgym.agents.rllib.cli import rllib_train_main
        except ImportError as error:
            return fail(str(error))
        return rllib_train_main(argv)
    args = train_parser().parse_args(argv)
    from roadgym.agents.run_config import load_run_config
    from roadgym.agents.training import RunDirExistsError, SaveFailedError, train
    from roadgym.perception.atomic import DirectoryLockedError

    try:
        overrides = train_overrides(args)
        if args.resume is not None and args.run_dir is None and "run_dir" not in overrides:
            run_dir = _run_dir_of(args.resume)
            if run_dir is not None:
                overrides["run_dir"] = str(run_dir)
        if args.config is None and args.algo is None and "algo" not in overrides:
            return fail("--algo is required (ppo or dqn) unless --config is a run's config.yaml")
        config = load_run_config(args.config, overrides)
    except ConfigError as error:
        return fail(error)
    try:
        result = train(
            config,
            resume=args.resume,
            progress_bar=not args.no_progress,
            device=args.device,
            torch_threads=args.torch_threads,
            overwrite=args.overwrite,
            stop_at=args.stop_at,
        )
    except (FileExistsError, FileNotFoundError, DirectoryLockedError, ValueError) as error:
        return fail(error.flag_message() if isinstance(error, RunDirExistsError) else error)
    except SaveFailedError as error:  # a full disk: the newest whole model is named
        return fail(error, code=1)
    except KeyboardInterrupt:  # before learning started (building envs or the model)
        print("SIGINT: stopped before training started; nothing to save", file=sys.stderr)
        return 128 + int(signal.SIGINT)
    if result.interrupted is not None:
        print(
            f"{result.interrupted}: stopped after {result.num_timesteps} steps; saved "
            f"{result.model_path} (continue with --resume {result.model_path})",
            file=sys.stderr,
        )
        return 128 + int(getattr(signal, result.interrupted))
    print(
        f"trained {config.algo} on {config.env_id} for {result.num_timesteps} steps in "
        f"{result.wall_s / 60:.1f} min\n  config:     {result.run_dir / 'config.yaml'}\n"
        f"  model:      {result.model_path}\n  best model: "
        f"{result.best_model_path}\n  TensorBoard: tensorboard --logdir {result.run_dir / 'tb'}"
    )
    if result.evaluations:
        steps, report = result.evaluations[-1]
        print(f"last evaluation ({steps} steps):\n{report.table()}")
    return 0


def _run_dir_of(model_path: Path) -> Path | None:
    """The run dir a model zip belongs to (beside it, or above ``checkpoints/``)."""
    from roadgym.agents.loading import find_run_config

    config = find_run_config(model_path)
    return None if config is None else config.parent
