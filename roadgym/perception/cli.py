"""Command lines of ``roadgym train-classifier`` and ``roadgym distill``.

Flags are generated from the config dataclasses (help text from the docstring
under each field), so a new config field is a new flag with no second list to
keep in step. :mod:`roadgym.cli` runs :func:`train_classifier_command` and
:func:`distill_command`, which wrap :func:`train_classifier_main` and :func:`distill_main`
(those return the report, for callers in Python).
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import inspect
import json
import textwrap
import types
import typing
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from roadgym.perception.datasets import ImageSet, load_cifar10
from roadgym.perception.distill import DistillConfig, run_distillation
from roadgym.perception.labelled import (
    MANIFEST_NAME,
    LabelledDatasetConfig,
    generate_labelled_dataset,
    load_labelled_split,
)
from roadgym.perception.policies import resolve_policy_factory
from roadgym.perception.trainer import TrainConfig, train_classifier

__all__ = [
    "add_config_arguments",
    "config_from_arguments",
    "distill_command",
    "distill_main",
    "train_classifier_command",
    "train_classifier_main",
]


def _field_docs(cls: type) -> dict[str, str]:
    """The docstring written under each dataclass field, read from the class source."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    except (OSError, TypeError):
        return {}
    body = tree.body[0].body  # type: ignore[attr-defined]
    docs = {}
    for node, following in zip(body, body[1:], strict=False):
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and isinstance(following, ast.Expr)
            and isinstance(following.value, ast.Constant)
            and isinstance(following.value.value, str)
        ):
            docs[node.target.id] = " ".join(following.value.value.split()).replace("%", "%%")
    return docs


def _json_value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise argparse.ArgumentTypeError(f"{text!r} is not valid JSON: {error}") from error


def _optional(kind: type):
    def parse(text: str):
        return None if text.lower() == "none" else kind(text)

    parse.__name__ = kind.__name__
    return parse


def add_config_arguments(
    parser: argparse.ArgumentParser, cls: type, prefix: str = "", skip: Sequence[str] = ()
) -> None:
    """Add one ``--[prefix-]field-name`` flag per field of dataclass ``cls``.

    Nested dataclass fields become flags with the field name as prefix
    (``--augment-crop-padding``); dict fields take JSON.
    """
    hints = typing.get_type_hints(cls)
    docs = _field_docs(cls)
    defaults = cls()
    for f in dataclasses.fields(cls):
        if f.name in skip:
            continue
        flag = "--" + (prefix + f.name).replace("_", "-")
        dest = (prefix + f.name).replace("-", "_")
        hint = hints[f.name]
        default = getattr(defaults, f.name)
        if dataclasses.is_dataclass(hint):
            add_config_arguments(parser, hint, prefix=f"{prefix}{f.name}_")
            continue
        origin, args = typing.get_origin(hint), typing.get_args(hint)
        optional = origin in (typing.Union, types.UnionType) and type(None) in args
        base = next((a for a in args if a is not type(None)), hint) if optional else hint
        help_text = f"{docs.get(f.name, '')} (default: {default!r})"
        kwargs: dict[str, Any] = {"dest": dest, "default": default, "help": help_text}
        if base is bool:
            kwargs["action"] = argparse.BooleanOptionalAction
        elif typing.get_origin(base) is dict or base is dict:
            kwargs.update(type=_json_value, metavar="JSON")
        elif typing.get_origin(base) is tuple:
            inner = typing.get_args(base)
            if len(inner) == 2 and inner[1] is not Ellipsis and inner[0] in (int, float, str):
                kwargs.update(type=inner[0], nargs=2)
            else:
                kwargs.update(type=_json_value, metavar="JSON")
        elif base in (int, float, str):
            kwargs["type"] = _optional(base) if optional else base
        else:
            kwargs.update(type=_json_value, metavar="JSON")
        parser.add_argument(flag, **kwargs)


def config_from_arguments(cls: type, namespace: argparse.Namespace, prefix: str = "") -> Any:
    """Build dataclass ``cls`` from flags added by :func:`add_config_arguments`."""
    hints = typing.get_type_hints(cls)
    values = {}
    for f in dataclasses.fields(cls):
        dest = prefix + f.name
        if dataclasses.is_dataclass(hints[f.name]):
            values[f.name] = config_from_arguments(hints[f.name], namespace, f"{prefix}{f.name}_")
        elif hasattr(namespace, dest):
            value = getattr(namespace, dest)
            values[f.name] = tuple(value) if isinstance(value, list) else value
    return cls(**values)


def _add_data_arguments(parser: argparse.ArgumentParser) -> None:
    data = parser.add_argument_group("data")
    source = data.add_mutually_exclusive_group(required=True)
    source.add_argument("--dataset", type=Path, help="folder of a generated labelled dataset")
    source.add_argument("--cifar10", type=Path, help="local cifar-10-batches-py folder")
    data.add_argument("--task", help="label task of --dataset (road_layout, light_state, ...)")
    data.add_argument(
        "--env",
        help="generate --dataset from this env id first when the folder has no manifest "
        "(the --data-* flags set how)",
    )
    data.add_argument("--max-train-frames", type=int, help="use only the first N train frames")
    data.add_argument("--max-eval-frames", type=int, help="use only the first N val/test frames")
    add_config_arguments(data, LabelledDatasetConfig, prefix="data_", skip=("env_id",))
    parser.add_argument(
        "--torch-threads",
        type=_positive_int,
        help="torch.set_num_threads before training (default: torch's own choice); on a "
        "CPU shared with other jobs 1 is faster than 2 (experiments/perception/RESULTS.md)",
    )


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}; allowed: an int >= 1")
    return value


def _set_torch_threads(threads: int | None) -> None:
    """Apply ``--torch-threads`` (None leaves torch's default alone)."""
    if threads is not None:
        import torch

        torch.set_num_threads(threads)


def _load_data(
    parser: argparse.ArgumentParser, args: argparse.Namespace
) -> tuple[ImageSet, ImageSet | None, ImageSet]:
    """Resolve the data flags into (train, val, test) sets, generating the dataset if asked."""
    if args.cifar10 is not None:
        train, val, test = (
            load_cifar10(args.cifar10, "train"),
            None,
            load_cifar10(args.cifar10, "test"),
        )
    else:
        if args.task is None:
            parser.error("--dataset needs --task (the label task to train on)")
        if args.env is not None and not (args.dataset / MANIFEST_NAME).exists():
            config = config_from_arguments(LabelledDatasetConfig, args, prefix="data_")
            try:
                resolve_policy_factory(config.policy)  # a bad --data-policy fails before driving
            except ValueError as error:
                parser.error(str(error))
            generate_labelled_dataset(dataclasses.replace(config, env_id=args.env), args.dataset)
        train, val, test = (
            load_labelled_split(args.dataset, split, args.task)
            for split in ("train", "val", "test")
        )

    def head(images: ImageSet | None, limit: int | None) -> ImageSet | None:
        if images is None or limit is None:
            return images
        return images.subset(np.arange(min(limit, len(images))))

    return (
        head(train, args.max_train_frames),
        head(val, args.max_eval_frames),
        head(test, args.max_eval_frames),
    )


def train_classifier_main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """``roadgym train-classifier``, as a function: returns the evaluation report."""
    parser = argparse.ArgumentParser(
        description="Train a roadgym image classifier (encoder + linear head) on simulator "
        "labels or CIFAR-10; writes checkpoint.pt, report.json, confusion.png, tensorboard/.",
    )
    parser.add_argument("--out", type=Path, required=True, help="run folder for the artefacts")
    _add_data_arguments(parser)
    add_config_arguments(parser.add_argument_group("training"), TrainConfig)
    args = parser.parse_args(argv)
    _set_torch_threads(args.torch_threads)
    train, val, test = _load_data(parser, args)
    config = config_from_arguments(TrainConfig, args)
    return train_classifier(train, val, test, config, args.out).report


def distill_main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """``roadgym distill``, as a function: returns the comparison report."""
    parser = argparse.ArgumentParser(
        description="Distil a teacher encoder (ResNet) into a student (small CNN) and compare "
        "teacher, student alone and distilled student on accuracy, parameters and speed.",
    )
    parser.add_argument("--out", type=Path, required=True, help="folder for all artefacts")
    _add_data_arguments(parser)
    add_config_arguments(parser, DistillConfig, skip=("teacher", "student"))
    teacher = parser.add_argument_group("teacher (flags prefixed --teacher-)")
    add_config_arguments(teacher, TrainConfig, prefix="teacher_")
    student = parser.add_argument_group("student (flags prefixed --student-)")
    add_config_arguments(student, TrainConfig, prefix="student_")
    parser.set_defaults(teacher_encoder="resnet", student_encoder="nature")
    args = parser.parse_args(argv)
    _set_torch_threads(args.torch_threads)
    train, val, test = _load_data(parser, args)
    config = DistillConfig(
        teacher=config_from_arguments(TrainConfig, args, prefix="teacher_"),
        student=config_from_arguments(TrainConfig, args, prefix="student_"),
        **{
            f.name: getattr(args, f.name)
            for f in dataclasses.fields(DistillConfig)
            if f.name not in ("teacher", "student")
        },
    )
    return run_distillation(train, val, test, config, args.out)


def train_classifier_command(argv: Sequence[str] | None = None) -> int:
    """``roadgym train-classifier``: :func:`train_classifier_main`, exit code 0 when done."""
    train_classifier_main(argv)
    return 0


def distill_command(argv: Sequence[str] | None = None) -> int:
    """``roadgym distill``: :func:`distill_main`, exit code 0 when done."""
    distill_main(argv)
    return 0
