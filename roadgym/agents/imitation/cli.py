"""``roadgym imitate``: behaviour cloning then DAgger from the privileged expert.

Its flags are generated from :class:`~roadgym.agents.imitation.config.ImitationConfig`
(and its nested :class:`~roadgym.agents.imitation.bc.BCSettings` and
:class:`~roadgym.agents.imitation.final.FinalFit`): one flag per field, help from the
field's docstring, each a shorthand of ``--set field=VALUE``. ``--config FILE`` takes a
YAML of those fields, or a run's ``config.yaml`` or ``manifest.json`` (the same run again).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from roadgym.agents.cli_options import (
    add_config_options,
    add_dataclass_flags,
    add_renamed_flag,
    add_set_alias,
    deprecation_notes,
    fail,
)
from roadgym.agents.hyperparams import read_config_file
from roadgym.agents.imitation.config import ImitationConfig
from roadgym.agents.interrupts import stop_on_signals
from roadgym.agents.typed_config import ConfigError, deep_merge, from_mapping, set_overrides

__all__ = ["config_from_args", "imitate_main", "imitate_parser"]

# Flags of earlier releases whose field has another flag now: old flag -> config key.
_OLD_FLAGS = {
    "--frame-stack": "env_kwargs.frame_stack",
    "--epochs": "bc.epochs",
    "--batch-size": "bc.batch_size",
    "--lr": "bc.learning_rate",
    "--action-loss": "bc.action_loss",
    "--transition-weight": "bc.transition_weight",
    "--aux-weight": "bc.aux_weight",
    "--pedestrian-weight": "bc.pedestrian_weight",
    "--max-samples-per-round": "bc.max_samples_per_round",
    "--final-fit-samples": "final.samples",
    "--final-fit-lr": "final.learning_rate",
}


def imitate_parser() -> argparse.ArgumentParser:
    """Arguments of ``roadgym imitate``: a flag per config field, plus where and how to run."""
    parser = argparse.ArgumentParser(
        prog="roadgym imitate",
        description=(
            "Teach a pixel student (camera + speed + next turn) from the privileged expert: "
            "behaviour cloning, then DAgger rounds in which the student drives and the expert "
            "labels every frame it visits. Writes student.zip (an SB3 PPO model: roadgym "
            "evaluate / watch / train --init-from take it) and manifest.json to --out; run "
            "again with the same options to resume after the last finished round. Every "
            "field of ImitationConfig has a flag below (or --set FIELD=VALUE)."
        ),
    )
    add_config_options(
        parser, "YAML of ImitationConfig fields, or a run's config.yaml (the same run again)"
    )
    parser.add_argument("--out", type=Path, help="output dir (default runs/imitate-{env}-s{seed})")
    parser.add_argument("--device", default="auto", help="torch device: auto, cpu, cuda")
    parser.add_argument(
        "--torch-threads", type=int, help="torch threads (default: 1 on <= 4 cores)"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    add_dataclass_flags(parser, ImitationConfig, ImitationConfig())
    add_renamed_flag(parser, "--num-envs", "--n-envs", "_old_num_envs", type=int)
    for flag, key in _OLD_FLAGS.items():
        add_set_alias(parser, flag, key)
    return parser


def _file_fields(path: Path) -> Mapping[str, Any]:
    """The ImitationConfig fields in ``path``: a YAML of them, a run's ``config.yaml``
    (under ``imitation``) or its ``manifest.json`` (under ``config``)."""
    document = read_config_file(path)
    if isinstance(document.get("imitation"), Mapping):
        return document["imitation"]  # a run's config.yaml
    if isinstance(document.get("config"), Mapping) and "rounds" in document:
        return document["config"]  # a run's manifest.json
    return document


def config_from_args(args: argparse.Namespace) -> ImitationConfig:
    """The :class:`ImitationConfig` that parsed ``roadgym imitate`` arguments describe:
    the defaults, then ``--config``, then the flags and ``--set`` in command-line order."""
    data: dict[str, Any] = {}
    if args.config is not None:
        data = dict(_file_fields(args.config))
    items = list(args.set)
    if getattr(args, "_old_num_envs", None) is not None:
        items.append(f"num_envs={args._old_num_envs}")
    data = deep_merge(data, set_overrides(items))
    try:
        return from_mapping(ImitationConfig, data, where="ImitationConfig", base=ImitationConfig())
    except ConfigError:
        raise
    except (TypeError, ValueError) as error:  # __post_init__ range checks
        raise ConfigError(str(error)) from None


def _check_env(config: ImitationConfig) -> None:
    """Build the env once, so a bad id or config is refused before the out dir exists."""
    import gymnasium as gym

    try:
        gym.make(config.env_id, **dict(config.env_kwargs)).close()
    except gym.error.Error as error:
        raise ConfigError(f"ImitationConfig.env_id = {config.env_id!r}: {error}") from None
    except (TypeError, ValueError) as error:
        raise ConfigError(
            f"ImitationConfig.env_id = {config.env_id!r} with env_kwargs "
            f"{dict(config.env_kwargs)!r}: {error}"
        ) from None


def _kept(out: Path) -> str:
    """What an interrupted run leaves: its finished rounds, and how to go on."""
    try:
        rounds = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["rounds"]
    except (OSError, ValueError, KeyError, TypeError):
        rounds = []
    if not rounds:
        return f"no round finished; run the same command to start again in {out}"
    return (
        f"rounds 0-{rounds[-1]['round']} are kept in {out}; run the same command to resume "
        f"after round {rounds[-1]['round']}"
    )


def imitate_main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv``, run :func:`roadgym.agents.imitation.run_imitation`, print the rounds."""
    args = imitate_parser().parse_args(argv)
    deprecation_notes(args)
    try:
        config = config_from_args(args)
        _check_env(config)
    except ConfigError as error:
        return fail(error)
    import torch

    from roadgym.agents.imitation.dagger import run_imitation
    from roadgym.agents.run_dir import env_short_name
    from roadgym.perception.device import default_torch_threads, pick_device

    torch.set_num_threads(args.torch_threads or default_torch_threads())
    device = str(pick_device(args.device))
    out = args.out or f"runs/imitate-{env_short_name(config.env_id)}-s{config.seed}"
    start = time.perf_counter()
    caught: dict[str, str | None] = {"signal": None}
    try:
        with stop_on_signals() as caught:  # SIGTERM stops it as Ctrl-C does
            result = run_imitation(config, out, device=device, progress=not args.no_progress)
    except (ValueError, FileExistsError) as error:
        return fail(error)
    except KeyboardInterrupt:
        name = caught["signal"] or "SIGINT"
        print(f"{name}: stopped; {_kept(Path(out))}", file=sys.stderr)
        return 128 + int(getattr(signal, name))
    print(
        f"student: {result.student_path} (selected: round {result.best_round}); "
        f"{time.perf_counter() - start:.0f} s this call",
        file=sys.stdout,
    )
    return 0
