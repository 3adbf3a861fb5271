"""Command-line fronts of the agents library, run by the ``roadgym`` command (:mod:`roadgym.cli`).

- ``train_main``: ``roadgym train --algo {ppo,dqn} --env ID [--config FILE] [--set K=V] ...``
- ``evaluate_main``: ``roadgym evaluate (--model PATH | --expert) --episodes N --seed S``
- ``watch_main``: ``roadgym watch --model PATH | --expert [--env-kwargs num_agents=4]
  [--agent car_3] [--record out.mp4]``
- ``export_curve_main``: ``roadgym export-curve --run DIR --out curve.png``
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from roadgym.agents.cli_options import (
    add_renamed_flag,
    deprecation_notes,
)
from roadgym.agents.environments import SELECTION_SEED_START, TEST_SEED_START, TRAIN_SEED_LIMIT
from roadgym.agents.hyperparams import ALGOS, HyperparamError, parse_overrides
from roadgym.agents.train_cli import train_main, train_overrides, train_parser

__all__ = [
    "evaluate_main",
    "export_curve_main",
    "train_main",
    "train_overrides",
    "train_parser",
    "watch_main",
]


def _threads(value: int | None) -> None:
    if value is not None:
        import torch

        torch.set_num_threads(value)


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
        "--env-kwargs",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="env config field (env_kwargs) on top of the model's (the expert: of the env's "
        "defaults); repeatable",
    )
    add_renamed_flag(parser, "--env-config", "--env-kwargs", "env_kwargs", action="append")
    parser.add_argument("--stochastic", action="store_true", help="sample actions")
    parser.add_argument(
        "--trust-pickles",
        action="store_true",
        help="load an RLlib checkpoint directory (RLlib's pickles run code: only your own)",
    )
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
        deprecation_notes(args)
        env_config = parse_overrides(args.env_kwargs)
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
        agent = _load_agent_or_say_why(args)
        if agent is None:
            return 2
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


def _load_agent_or_say_why(args: argparse.Namespace) -> Any:
    """``load_agent`` of ``--model`` / ``--pretrained``; None after printing one line on a
    missing, corrupt, truncated or unsafe model file (the caller exits 2)."""
    from gymnasium.error import Error as GymError

    from roadgym.agents.loading import load_agent

    try:
        return load_agent(
            _model_path(args), algo=args.algo, env_id=args.env, trust_pickles=args.trust_pickles
        )
    except (FileNotFoundError, ValueError, GymError) as error:  # ModelFileError: a ValueError
        print(f"error: {error}", file=sys.stderr)
        return None


def _model_path(args: argparse.Namespace) -> Path:
    """``--model PATH``, or the file of ``--pretrained NAME`` inside the package."""
    if getattr(args, "pretrained", None):
        from roadgym.agents.pretrained import pretrained_path

        return pretrained_path(args.pretrained)
    return args.model


def watch_parser() -> argparse.ArgumentParser:
    """Arguments of ``roadgym watch``."""
    parser = argparse.ArgumentParser(
        description="Watch a trained model (or the privileged expert) drive in a pygame "
        "window (HUD and the agent's camera as an inset), or write the video headless with "
        "--record. With --env-kwargs num_agents=N (Town, Highway, Merge) every car of one "
        "world is driven and drawn in its own colour; --agent picks the car the view "
        "follows, Tab and the digit keys switch in the window."
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--model", type=Path, help="SB3 model zip or RLlib checkpoint directory")
    source.add_argument(
        "--pretrained", metavar="NAME", help="a model shipped with roadgym (town-student)"
    )
    source.add_argument("--expert", action="store_true", help="the privileged expert drives")
    parser.add_argument("--env", help="env id (default: the model's, else roadgym/Track-v0)")
    parser.add_argument("--episodes", type=int, default=3)
    parser.add_argument(
        "--seed",
        type=int,
        default=TEST_SEED_START,
        help=f"first episode seed (default {TEST_SEED_START}: test seeds, not the ones "
        "best_model.zip was selected on)",
    )
    parser.add_argument(
        "--env-kwargs",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="env config field on top of the model's (the expert: of the env's defaults), "
        "e.g. num_agents=4; repeatable",
    )
    parser.add_argument(
        "--agent",
        default="car_0",
        help="with several cars a world: the car the view and its HUD follow (car_J or J)",
    )
    parser.add_argument("--record", type=Path, help="write an mp4 here instead of a window")
    parser.add_argument(
        "--trust-pickles",
        action="store_true",
        help="load an RLlib checkpoint directory (RLlib's pickles run code: only your own)",
    )
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
    from roadgym.agents.environments import num_agents_of
    from roadgym.agents.watch import watch_agent
    from roadgym.agents.watch_world import watch_world

    try:
        env_config = parse_overrides(args.env_kwargs)
    except HyperparamError as error:
        parser.error(str(error))
    agent = None
    if not args.expert:
        agent = _load_agent_or_say_why(args)
        if agent is None:
            return 2
        env_config = {**agent.env_kwargs, **env_config}
    env_id = args.env or (agent.env_id if agent is not None else "roadgym/Track-v0")
    try:
        if num_agents_of(env_config) > 1:
            watch_world(
                env_id,
                env_config,
                agent=agent,
                follow=args.agent,
                episodes=args.episodes,
                seed=args.seed,
                record=args.record,
            )
        else:
            if agent is not None and env_config != agent.env_kwargs:
                agent = dataclasses.replace(agent, env_kwargs=env_config)
            report = watch_agent(
                agent,
                episodes=args.episodes,
                seed=args.seed,
                record=args.record,
                env_id=env_id,
                env_kwargs=env_config,
            )
            if report.episodes:
                print(report.table())
    except ValueError as error:  # a car that is not there, a model that does not fit
        print(f"error: {error}", file=sys.stderr)
        return 2
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
