"""Command-line fronts of the agents library, run by the ``roadgym`` command (:mod:`roadgym.cli`).

- ``train_main``: ``roadgym train --algo {ppo,dqn} --env ID [--config FILE] ...``
- ``evaluate_main``: ``roadgym evaluate (--model PATH | --expert) --episodes N --seed S``
- ``watch_main``: ``roadgym watch --model PATH [--record out.mp4]``
- ``export_curve_main``: ``roadgym export-curve --run DIR --out curve.png``
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from roadgym.agents.environments import SELECTION_SEED_START, TEST_SEED_START, TRAIN_SEED_LIMIT
from roadgym.agents.hyperparams import ALGOS, HyperparamError, parse_overrides

__all__ = ["evaluate_main", "export_curve_main", "train_main", "watch_main"]


def _threads(value: int | None) -> None:
    if value is not None:
        import torch

        torch.set_num_threads(value)


def train_parser() -> argparse.ArgumentParser:
    """Arguments of ``roadgym train``."""
    parser = argparse.ArgumentParser(
        description="Train SB3 PPO or DQN on a roadgym env from pixels. Hyperparameters come "
        "from roadgym/agents/hyperparams/{algo}.yml (or --config), then the flags below.",
    )
    parser.add_argument(
        "--backend",
        choices=("sb3", "rllib"),
        default="sb3",
        help="sb3 (default) or rllib: Ray RLlib PPO, local or on a cluster; its own flags "
        "(--num-env-runners, --envs-per-runner, --address): roadgym train --backend rllib -h",
    )
    parser.add_argument("--algo", required=True, choices=ALGOS)
    parser.add_argument("--env", default="roadgym/Track-v0", help="gymnasium env id")
    parser.add_argument("--config", type=Path, help="YAML of hyperparameters keyed by env id")
    parser.add_argument("--timesteps", type=int, help="total env steps (n_timesteps)")
    parser.add_argument("--n-envs", type=int, help="worlds stepped together (n_envs)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--encoder", help="roadgym encoder: nature, impala, resnet")
    parser.add_argument("--pretrained", type=Path, help="classifier checkpoint for the encoder")
    parser.add_argument("--freeze", action="store_true", help="keep the pretrained encoder fixed")
    parser.add_argument("--run-dir", type=Path, help="default runs/{algo}-{env}-s{seed}")
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
    parser.add_argument(
        "--init-from",
        type=Path,
        help="start PPO from a pixel student (student.zip from roadgym imitate): its weights, "
        "architecture and env settings",
    )
    parser.add_argument(
        "--init-kl-coef",
        type=float,
        default=0.0,
        help="weight of a term keeping PPO's actions near the student's (decays to 0)",
    )
    parser.add_argument(
        "--init-kl-steps",
        type=int,
        default=100_000,
        help="env steps over which --init-kl-coef decays to 0",
    )
    parser.add_argument(
        "--critic-warmup-steps",
        type=int,
        default=0,
        help="PPO: train only the critic for this many env steps first, so an untrained "
        "value function does not move a policy started from a student (0: off)",
    )
    parser.add_argument(
        "--expert-coef",
        type=float,
        default=0.0,
        help="PPO: weight of an online DAgger term pulling the policy's actions towards the "
        "privileged expert's on each rollout's frames (Track, Town; continuous actions; 0: off)",
    )
    parser.add_argument(
        "--expert-stop-zone-m",
        type=float,
        default=0.0,
        help="with --expert-coef, Town: on frames this close (m) before a stop sign's line "
        "not yet stopped at, PPO's update leaves the actions to the expert term (0: off)",
    )
    parser.add_argument(
        "--expert-slow-mps",
        type=float,
        default=0.0,
        help="with --expert-coef: on frames where the car is slower than this (m/s), PPO's "
        "update leaves the actions to the expert term (0: off)",
    )
    parser.add_argument(
        "--expert-student-weights",
        action="store_true",
        help="with --expert-coef: weigh the term's errors as the student's imitation loss "
        "(steer x 2, hard-braking and pull-away throttle x 5)",
    )
    parser.add_argument(
        "--hp",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a hyperparameter (YAML value; dotted keys reach into mappings, e.g. "
        "env_kwargs.frame_stack=2); repeatable",
    )
    parser.add_argument(
        "--stop-at",
        type=int,
        help="stop (and save) at this many env steps; --resume goes on later. Schedules "
        "(linear learning rate) still run to --timesteps, so runs taken in chunks match one",
    )
    parser.add_argument("--device", default="auto", help="torch device: auto, cpu, cuda")
    parser.add_argument("--torch-threads", type=int, help="torch.set_num_threads")
    parser.add_argument("--no-progress-bar", action="store_true")
    return parser


def _wants_rllib(argv: Sequence[str]) -> bool:
    """Whether the command line asks for ``--backend rllib`` (or ``--backend=rllib``)."""
    for index, item in enumerate(argv):
        if item == "--backend" and index + 1 < len(argv):
            return argv[index + 1] == "rllib"
        if item.startswith("--backend="):
            return item.partition("=")[2] == "rllib"
    return False


def train_main(argv: Sequence[str] | None = None) -> int:
    """``roadgym train``: resolve the hyperparameters, train, print where things went."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if _wants_rllib(argv):
        try:  # lazily: the SB3 path never imports Ray
            from roadgym.agents.rllib.cli import rllib_train_main
        except ImportError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        return rllib_train_main(argv)
    args = train_parser().parse_args(argv)
    from roadgym.agents.hyperparams import resolve_settings
    from roadgym.agents.training import train

    overrides: dict[str, Any] = {}
    try:
        overrides.update(parse_overrides(args.hp))
    except HyperparamError as error:
        train_parser().error(str(error))
    flags = {
        "n_timesteps": args.timesteps,
        "n_envs": args.n_envs,
        "encoder": args.encoder,
        "pretrained": None if args.pretrained is None else str(args.pretrained),
        "freeze": True if args.freeze else None,
    }
    overrides.update({key: value for key, value in flags.items() if value is not None})
    if args.pretrained is not None and args.encoder is None:
        # The checkpoint names its architecture; the YAML's encoder would not match it.
        overrides.setdefault("encoder", None)
        overrides.setdefault("encoder_options", None)
    if args.freeze and args.pretrained is None and "pretrained" not in overrides:
        train_parser().error("--freeze needs --pretrained CKPT (there is nothing to freeze)")
    try:
        settings = resolve_settings(
            args.algo, args.env, seed=args.seed, config_path=args.config, overrides=overrides
        )
    except HyperparamError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    from roadgym.perception.atomic import DirectoryLockedError

    run_dir = args.run_dir
    if run_dir is None and args.resume is not None:
        run_dir = _run_dir_of(args.resume)
    try:
        result = train(
            settings,
            run_dir=run_dir,
            resume=args.resume,
            progress_bar=not args.no_progress_bar,
            device=args.device,
            torch_threads=args.torch_threads,
            init_from=args.init_from,
            init_kl_coef=args.init_kl_coef,
            init_kl_timesteps=args.init_kl_steps,
            critic_warmup_timesteps=args.critic_warmup_steps,
            expert_coef=args.expert_coef,
            expert_stop_zone_m=args.expert_stop_zone_m,
            expert_slow_mps=args.expert_slow_mps,
            expert_student_weights=args.expert_student_weights,
            overwrite=args.overwrite,
            stop_at=args.stop_at,
        )
    except (FileExistsError, FileNotFoundError, DirectoryLockedError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
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
        f"trained {settings.algo} on {settings.env_id} for {result.num_timesteps} steps in "
        f"{result.wall_s / 60:.1f} min\n  model:      {result.model_path}\n  best model: "
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


def evaluate_parser() -> argparse.ArgumentParser:
    """Arguments of ``roadgym evaluate``."""
    parser = argparse.ArgumentParser(
        description="Evaluate a trained model (or the privileged expert) on held-out seeds: "
        "one episode per seed S, S+1, ..., metrics as a table (mean, std) and JSON."
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--model",
        type=Path,
        help="SB3 model zip (runs/.../model.zip) or RLlib checkpoint dir (runs/.../checkpoint)",
    )
    source.add_argument("--expert", action="store_true", help="evaluate the privileged expert")
    source.add_argument(
        "--pretrained", metavar="NAME", help="a model shipped with roadgym (town-student)"
    )
    parser.add_argument("--env", help="env id (default: the model's, else roadgym/Track-v0)")
    parser.add_argument("--episodes", type=int, default=50)
    parser.add_argument(
        "--seed",
        type=int,
        default=TEST_SEED_START,
        help=f"first held-out seed (default {TEST_SEED_START}: the test range; training "
        f"resets below {TRAIN_SEED_LIMIT}, best-model selection plays "
        f"{SELECTION_SEED_START}+)",
    )
    parser.add_argument("--n-envs", type=int, default=8, help="episodes played at once")
    parser.add_argument("--json", type=Path, help="write the report as JSON here")
    parser.add_argument("--algo", choices=ALGOS, help="override the model's algorithm")
    parser.add_argument(
        "--env-config",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="env config field for the expert (models use their run's); repeatable",
    )
    parser.add_argument("--stochastic", action="store_true", help="sample actions")
    parser.add_argument("--torch-threads", type=int, help="torch.set_num_threads")
    return parser


def evaluate_main(argv: Sequence[str] | None = None) -> int:
    """``roadgym evaluate``: print the table, write the JSON."""
    parser = evaluate_parser()
    args = parser.parse_args(argv)
    if args.episodes < 1:
        parser.error(f"--episodes {args.episodes}: allowed: an int >= 1")
    _threads(args.torch_threads)
    from roadgym.agents.environments import held_out_seeds
    from roadgym.agents.evaluation import ExpertPolicy, evaluate_policy_on_seeds

    seeds = held_out_seeds(args.episodes, start=args.seed)
    try:
        env_config = parse_overrides(args.env_config)
    except HyperparamError as error:
        parser.error(str(error))
    if args.expert:
        report = evaluate_policy_on_seeds(
            ExpertPolicy,
            args.env or "roadgym/Track-v0",
            seeds,
            env_kwargs=env_config,
            n_envs=args.n_envs,
            agent_name="expert",
        )
    else:
        from roadgym.agents.loading import load_agent

        agent = load_agent(_model_path(args), algo=args.algo, env_id=args.env)
        report = evaluate_policy_on_seeds(
            agent.model,
            agent.env_id,
            seeds,
            env_kwargs={**agent.env_kwargs, **env_config},
            frame_stack=agent.frame_stack,
            n_envs=args.n_envs,
            deterministic=not args.stochastic,
            normalize_observation=agent.normalize_observation,
            agent_name=str(args.model or args.pretrained),
        )
    print(report.table())
    print(f"({report.wall_s:.1f} s)")
    if args.json is not None:
        report.write_json(args.json)
        print(f"wrote {args.json}")
    return 0


def _model_path(args: argparse.Namespace) -> Path:
    """``--model PATH``, or the file of ``--pretrained NAME`` inside the package."""
    if getattr(args, "pretrained", None):
        from roadgym.agents.pretrained import pretrained_path

        return pretrained_path(args.pretrained)
    return args.model


def watch_parser() -> argparse.ArgumentParser:
    """Arguments of ``roadgym watch``."""
    parser = argparse.ArgumentParser(
        description="Watch a trained model drive in a pygame window (HUD and the agent's "
        "camera as an inset), or write the video headless with --record."
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--model", type=Path, help="SB3 model zip or RLlib checkpoint directory")
    source.add_argument(
        "--pretrained", metavar="NAME", help="a model shipped with roadgym (town-student)"
    )
    parser.add_argument("--env", help="env id (default: the model's)")
    parser.add_argument("--episodes", type=int, default=3)
    parser.add_argument(
        "--seed",
        type=int,
        default=TEST_SEED_START,
        help=f"first episode seed (default {TEST_SEED_START}: test seeds, not the ones "
        "best_model.zip was selected on)",
    )
    parser.add_argument("--record", type=Path, help="write an mp4 here instead of a window")
    parser.add_argument("--algo", choices=ALGOS, help="override the model's algorithm")
    parser.add_argument("--torch-threads", type=int, help="torch.set_num_threads")
    return parser


def watch_main(argv: Sequence[str] | None = None) -> int:
    """``roadgym watch``."""
    parser = watch_parser()
    args = parser.parse_args(argv)
    if args.episodes < 1:
        parser.error(f"--episodes {args.episodes}: allowed: an int >= 1")
    _threads(args.torch_threads)
    if args.record is None and not os.environ.get("DISPLAY") and sys.platform.startswith("linux"):
        if os.environ.get("SDL_VIDEODRIVER") not in ("dummy", "offscreen"):
            print(
                "warning: no DISPLAY; the window may fail to open (use --record out.mp4)",
                file=sys.stderr,
            )
    from roadgym.agents.loading import load_agent
    from roadgym.agents.watch import watch_agent

    agent = load_agent(_model_path(args), algo=args.algo, env_id=args.env)
    report = watch_agent(agent, episodes=args.episodes, seed=args.seed, record=args.record)
    if report.episodes:
        print(report.table())
    if args.record is not None:
        print(f"wrote {args.record}")
    return 0


def export_curve_main(argv: Sequence[str] | None = None) -> int:
    """``roadgym export-curve``: a learning-curve PNG from a run's TensorBoard log."""
    parser = argparse.ArgumentParser(
        description="Export a learning curve PNG from a run's TensorBoard log."
    )
    parser.add_argument("--run", type=Path, required=True, help="run directory (or its tb/)")
    parser.add_argument("--out", type=Path, required=True, help="PNG to write")
    parser.add_argument("--title", default="")
    args = parser.parse_args(argv)
    from roadgym.agents.curves import export_learning_curve

    log_dir = args.run / "tb" if (args.run / "tb").is_dir() else args.run
    path = export_learning_curve(log_dir, args.out, title=args.title or str(args.run))
    print(f"wrote {path}")
    return 0
