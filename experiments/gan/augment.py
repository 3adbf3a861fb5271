"""Does adding generated rare-class frames help a classifier? Measured, same frame count.

Two training sets of equal size are built from the train split:

- ``simulator``: the train split's frames as they are (rare classes stay rare);
- ``simulator+generated``: the same frames, less ``num_generated`` frames drawn at
  random from the common classes, plus ``num_generated`` generated frames of the rare
  classes (label tuples copied from real rare-class frames, fresh latents);
- ``simulator+repeated``: the same swap with copies of real rare-class frames (the
  same frames whose labels the generated arm copies): rebalancing without a generator.

The same classifier recipe (and seeds) trains on each; both are evaluated on the test
split, whose seeds neither the GAN nor the classifier saw. The GAN was trained on the
same train split, so the generated frames add no real data the baseline lacks.

    python experiments/gan/augment.py --checkpoint runs/gan/checkpoint.pt \
        --rare yellow --num-generated 1000 --seeds 0 1 2 --out augment.json

(``--checkpoint``: a ``roadgym gan train`` checkpoint; the classifier recipe's fields are
``--clf-*`` options, as ``roadgym train-classifier``'s.)
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from roadgym.perception.datasets import ImageSet
from roadgym.perception.gan.data import LabelledFrames
from roadgym.perception.gan.models import Generator
from roadgym.perception.gan.score import generate_frames
from roadgym.perception.trainer import TrainConfig, train_classifier

__all__ = ["ARMS", "augmented_set", "augmentation_study", "build_parser", "format_study", "main"]

ARMS = ("simulator", "simulator+generated", "simulator+repeated")


def augmented_set(
    generator: Generator | None,
    train: LabelledFrames,
    task: str,
    rare_classes: list[str],
    num_generated: int,
    seed: int = 0,
) -> ImageSet:
    """The train split for ``task`` with ``num_generated`` common-class frames swapped for
    generated frames of ``rare_classes`` (split evenly between them): same count.
    ``generator=None`` swaps in copies of real rare-class frames instead (the rival:
    rebalancing without a generator)."""
    column = train.column(task)
    names = list(train.class_names[task])
    unknown = [c for c in rare_classes if c not in names]
    if unknown or not rare_classes:
        raise ValueError(f"rare_classes={rare_classes} must be classes of {task}: {names}")
    rare_ids = [names.index(c) for c in rare_classes]
    rng = np.random.default_rng(seed)
    is_rare = np.isin(train.labels[:, column], rare_ids)
    common = np.flatnonzero(~is_rare)
    if not 0 < num_generated <= len(common):
        raise ValueError(f"num_generated={num_generated} must be in [1, {len(common)}]")
    keep = np.setdiff1d(np.arange(len(train)), rng.choice(common, num_generated, replace=False))
    rows, sources = [], []
    for i, class_id in enumerate(rare_ids):
        count = num_generated // len(rare_ids) + (i < num_generated % len(rare_ids))
        members = np.flatnonzero(train.labels[:, column] == class_id)
        if len(members) == 0:
            raise ValueError(f"class {names[class_id]!r} has no train frames to copy labels from")
        picked = rng.choice(members, count)
        sources.append(picked)
        rows.append(train.labels[picked])
    labels = np.concatenate(rows)  # (num_generated, T)
    if generator is None:  # the rival without a generator: real rare frames repeated
        picks = np.concatenate(sources)
        frames = np.concatenate([train.frames[keep], train.frames[picks]])
        targets = np.concatenate([train.labels[keep, column], train.labels[picks, column]])
        return ImageSet(frames, targets, tuple(names), task)
    fake = generate_frames(generator, labels, seed=seed + 1)
    frames = np.concatenate([train.frames[keep], fake])
    return ImageSet(
        frames, np.concatenate([train.labels[keep, column], labels[:, column]]), tuple(names), task
    )


def augmentation_study(
    generator: Generator,
    train: LabelledFrames,
    test: LabelledFrames,
    task: str,
    rare_classes: list[str],
    num_generated: int,
    recipe: TrainConfig,
    seeds: list[int],
    arms: tuple[str, ...] = ARMS,
) -> dict[str, Any]:
    """Train ``recipe`` on each arm's set for each seed; per-class recall and accuracy on
    test. ``arms`` picks a subset of :data:`ARMS` (to run them as separate jobs)."""
    unknown = [arm for arm in arms if arm not in ARMS]
    if unknown or not arms:
        raise ValueError(f"arms={arms!r} must be a non-empty subset of {ARMS}")
    test_set = test.image_set(task)
    builders = {
        "simulator": lambda seed: train.image_set(task),
        "simulator+generated": lambda seed: augmented_set(
            generator, train, task, rare_classes, num_generated, seed=seed
        ),
        "simulator+repeated": lambda seed: augmented_set(
            None, train, task, rare_classes, num_generated, seed=seed
        ),
    }
    results: dict[str, Any] = {}
    for arm in arms:
        build = builders[arm]
        runs = []
        for seed in seeds:
            train_set = build(seed)
            config = dataclasses.replace(recipe, seed=seed, show_progress=False, tensorboard=False)
            report = train_classifier(train_set, None, test_set, config, verbose=False).report
            runs.append(
                {
                    "seed": seed,
                    "frames": len(train_set),
                    "class_counts": train_set.class_counts().tolist(),
                    "accuracy": report["accuracy"],
                    "recall": {c: report["per_class"][c]["recall"] for c in test_set.class_names},
                }
            )
        results[arm] = runs
    return {
        "task": task,
        "rare_classes": rare_classes,
        "num_generated": num_generated,
        "test_class_counts": test_set.class_counts().tolist(),
        "class_names": list(test_set.class_names),
        "recipe": {k: v for k, v in dataclasses.asdict(recipe).items() if k != "augment"},
        "arms": results,
    }


def format_study(report: dict[str, Any]) -> str:
    """Per-class test recall, mean +- std over seeds, for each arm."""
    names = report["class_names"]
    counts = report["test_class_counts"]
    header = f"{'training set':<22} {'accuracy':>16}" + "".join(
        f" {f'{n} ({c})':>18}" for n, c in zip(names, counts, strict=True)
    )
    lines = [header]
    for arm, runs in report["arms"].items():
        acc = np.array([r["accuracy"] for r in runs])
        cells = f"{acc.mean():.4f} +- {acc.std():.4f}"
        line = f"{arm:<22} {cells:>16}"
        for name in names:
            recall = np.array([r["recall"][name] for r in runs])
            line += f" {f'{recall.mean():.3f} +- {recall.std():.3f}':>18}"
        lines.append(line)
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    """The study's options: the GAN checkpoint, the rare classes, the arms, the recipe."""
    from roadgym.perception.cli import add_config_arguments

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--checkpoint", type=Path, required=True, help="GAN checkpoint.pt of `roadgym gan train`"
    )
    parser.add_argument(
        "--dataset", type=Path, help="labelled dataset (default: the one the GAN trained on)"
    )
    parser.add_argument("--device", default="auto", help="'auto', 'cuda' or 'cpu'")
    parser.add_argument("--task", default="light_state", help="classifier task")
    parser.add_argument(
        "--rare", action="append", default=[], help="rare class to generate (default: yellow)"
    )
    parser.add_argument("--num-generated", type=int, default=1000, help="frames swapped in")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="classifier seeds")
    parser.add_argument(
        "--arms",
        nargs="+",
        default=["simulator", "simulator+generated"],
        help=f"training sets to run (of {', '.join(ARMS)})",
    )
    parser.add_argument("--out", type=Path, help="report JSON to write")
    add_config_arguments(
        parser.add_argument_group("classifier recipe"),
        TrainConfig,
        prefix="clf_",
        skip=("seed", "show_progress", "tensorboard", "device"),
    )
    return parser


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the study from ``argv``; prints the table and returns the report."""
    from roadgym.perception.atomic import atomic_write_json
    from roadgym.perception.cli import config_from_arguments
    from roadgym.perception.device import pick_device
    from roadgym.perception.gan.checkpoint import load_generator
    from roadgym.perception.gan.data import load_labelled_frames

    args = build_parser().parse_args(argv)
    device = pick_device(args.device)
    generator, meta = load_generator(args.checkpoint, device)
    dataset = args.dataset if args.dataset is not None else Path(meta["dataset"])
    tasks = tuple(meta["tasks"])
    train = load_labelled_frames(dataset, "train", tasks)
    test = load_labelled_frames(dataset, "test", tasks)
    recipe = config_from_arguments(TrainConfig, args, prefix="clf_")
    recipe = dataclasses.replace(recipe, device=str(device))
    report = augmentation_study(
        generator,
        train,
        test,
        args.task,
        args.rare or ["yellow"],
        args.num_generated,
        recipe,
        list(args.seeds),
        tuple(args.arms),
    )
    print(format_study(report))
    if args.out is not None:
        atomic_write_json(args.out, report)
    return report


if __name__ == "__main__":
    print(json.dumps(main()["arms"], indent=2))
