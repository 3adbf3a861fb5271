"""``roadgym gan train|sample|edit|score``: thin fronts over the library functions.

Run as ``roadgym gan ...`` or ``python -m roadgym.perception.gan.cli ...``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["build_parser", "gan_command", "main"]

_DESCRIPTION = """\
Label-conditioned GAN of camera frames (conditional DCGAN generator, projection
discriminator, hinge loss, spectral norm, EMA generator).

  train    train on a roadgym labelled dataset (resumable, TensorBoard, checkpoints)
  sample   write a grid (PNG) and/or frames (.npz) for chosen labels
  edit     real frame + target label -> edited frame (latent inversion), as a grid
  score    Frechet distance (FD) and kernel distance (KID, cubic-kernel MMD^2) in a roadgym
           classifier's feature space, generated vs held-out real frames, and label
           consistency (that classifier's accuracy on generated frames against their
           conditioning labels); each beside the floor (held-out real vs train real)
           and the ceiling (the untrained generator)

The augmentation study (generated rare-class frames for a classifier) is a script in the
repository: experiments/gan/augment.py.
"""


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--threads", type=int, help="torch intra-op threads (default: torch's)")


def _train_parser(sub) -> None:
    from roadgym.perception.cli import add_config_arguments
    from roadgym.perception.gan.config import GanConfig

    parser = sub.add_parser("train", help="train the GAN on a labelled dataset")
    parser.add_argument("--dataset", type=Path, required=True, help="labelled dataset folder")
    parser.add_argument("--out", type=Path, required=True, help="run folder (checkpoint.pt ...)")
    parser.add_argument(
        "--resume", action="store_true", help="continue from <out>/checkpoint.pt if it exists"
    )
    _add_common(parser)
    add_config_arguments(parser.add_argument_group("gan"), GanConfig)


def build_parser() -> argparse.ArgumentParser:
    """The ``roadgym gan`` parser with its subcommands."""
    parser = argparse.ArgumentParser(
        prog="roadgym gan",
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="{train,sample,edit,score}")
    _train_parser(sub)
    _sample_parser(sub)
    _edit_parser(sub)
    _score_parser(sub)
    return parser


def _add_checkpoint(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--checkpoint", type=Path, required=True, help="GAN checkpoint.pt of `roadgym gan train`"
    )
    parser.add_argument(
        "--dataset", type=Path, help="labelled dataset (default: the one the GAN trained on)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of latents and picks")
    parser.add_argument("--device", default="auto", help="'auto', 'cuda' or 'cpu'")
    _add_common(parser)


def _sample_parser(sub) -> None:
    parser = sub.add_parser("sample", help="a grid of generated frames, one row per class")
    _add_checkpoint(parser)
    parser.add_argument("--out", type=Path, required=True, help="PNG grid to write")
    parser.add_argument("--rows-task", default="light_state", help="task whose classes are rows")
    parser.add_argument("--per-row", type=int, default=8, help="frames per row")
    parser.add_argument(
        "--label",
        action="append",
        default=[],
        metavar="TASK=CLASS",
        help="fix a label for every frame, e.g. object_ahead=vehicle (repeatable)",
    )
    parser.add_argument("--frames-out", type=Path, help="also write frames and labels (.npz)")
    parser.add_argument("--scale", type=int, default=2, help="pixel scale of the PNG")


def _edit_parser(sub) -> None:
    parser = sub.add_parser("edit", help="real held-out frames edited to each target class")
    _add_checkpoint(parser)
    parser.add_argument("--out", type=Path, required=True, help="PNG grid to write")
    parser.add_argument("--task", default="light_state", help="task whose label is edited")
    parser.add_argument("--count", type=int, default=6, help="real test-split frames to edit")
    parser.add_argument(
        "--source-class", action="append", default=[], help="edit only frames of these classes"
    )
    parser.add_argument("--steps", type=int, default=200, help="inversion Adam steps")
    parser.add_argument("--restarts", type=int, default=4, help="random starts per frame")
    parser.add_argument(
        "--judge", type=Path, help="classifier checkpoint of --task: report edit success"
    )
    parser.add_argument("--scale", type=int, default=2, help="pixel scale of the PNG")


def _score_parser(sub) -> None:
    parser = sub.add_parser(
        "score",
        help="FD, KID and label consistency vs held-out real frames, beside floor and ceiling",
    )
    _add_checkpoint(parser)
    parser.add_argument(
        "--judge",
        type=Path,
        required=True,
        help="classifier checkpoint (train-classifier) giving the features and the labels",
    )
    parser.add_argument("--num-frames", type=int, default=3000, help="frames per set")
    parser.add_argument(
        "--split",
        choices=("test", "val"),
        default="test",
        help="held-out real frames to compare with (val: for choosing a recipe)",
    )
    parser.add_argument("--out", type=Path, help="report JSON to write")


def _train(args: argparse.Namespace) -> dict[str, Any]:
    from roadgym.perception.atomic import atomic_write_json
    from roadgym.perception.cli import config_from_arguments
    from roadgym.perception.gan.config import GanConfig
    from roadgym.perception.gan.data import load_labelled_frames
    from roadgym.perception.gan.train import train_gan

    config = config_from_arguments(GanConfig, args)
    train = load_labelled_frames(args.dataset, "train", config.tasks, config.max_train_frames)
    val = load_labelled_frames(args.dataset, "val", config.tasks) if config.select_every else None
    result = train_gan(
        train, config, args.out, resume=args.resume, dataset=str(args.dataset), val=val
    )
    summary = {
        "steps": result.steps,
        "train_images_per_s": result.images_per_s,
        "train_wall_s": result.history.get("wall_s"),
        "train_cpu_s": result.history.get("cpu_s"),
        "stopped_by_time_budget": bool(result.history.get("stopped_by_time_budget", False)),
        "checkpoint": str(result.checkpoint_path),
    }
    for key in ("aux_val_accuracy", "aux_pretrain_cpu_s", "best"):
        if key in result.history:
            summary[key] = result.history[key]
    atomic_write_json(args.out / "train_summary.json", summary)
    return summary


def _load(args: argparse.Namespace):
    from roadgym.perception.device import pick_device
    from roadgym.perception.gan.checkpoint import load_generator

    device = pick_device(args.device)
    generator, meta = load_generator(args.checkpoint, device)
    dataset = args.dataset if args.dataset is not None else Path(meta["dataset"])
    return generator, meta, dataset, device


def _sample(args: argparse.Namespace) -> dict[str, Any]:
    import io

    import numpy as np

    from roadgym.perception.atomic import atomic_write_bytes
    from roadgym.perception.gan.data import load_labelled_frames
    from roadgym.perception.gan.images import frame_grid, write_png
    from roadgym.perception.gan.sample import grid_labels, parse_fixed_labels
    from roadgym.perception.gan.score import generate_frames

    generator, meta, dataset, _ = _load(args)
    train = load_labelled_frames(dataset, "train", tuple(meta["tasks"]))
    fixed = parse_fixed_labels(args.label, meta["class_names"])
    labels, rows = grid_labels(train, args.rows_task, args.per_row, fixed, seed=args.seed)
    frames = generate_frames(generator, labels, seed=args.seed)
    write_png(args.out, frame_grid(frames, args.per_row, scale=args.scale))
    if args.frames_out is not None:
        buffer = io.BytesIO()
        np.savez_compressed(buffer, frames=frames, labels=labels, tasks=np.array(meta["tasks"]))
        atomic_write_bytes(args.frames_out, buffer.getvalue())
    return {"grid": str(args.out), "rows": rows, "frames": len(frames), "step": meta["step"]}


def _edit(args: argparse.Namespace) -> dict[str, Any]:
    import numpy as np

    from roadgym.perception.checkpoint import load_classifier
    from roadgym.perception.gan.data import load_labelled_frames
    from roadgym.perception.gan.edit import find_latents, render
    from roadgym.perception.gan.images import frame_grid, write_png
    from roadgym.perception.gan.score import predict

    generator, meta, dataset, device = _load(args)
    test = load_labelled_frames(dataset, "test", tuple(meta["tasks"]))
    column = test.column(args.task)
    names = list(test.class_names[args.task])
    pool = np.arange(len(test))
    if args.source_class:
        bad = [c for c in args.source_class if c not in names]
        if bad:
            raise ValueError(f"--source-class {bad} not among {args.task} classes {names}")
        pool = pool[np.isin(test.labels[:, column], [names.index(c) for c in args.source_class])]
    rng = np.random.default_rng(args.seed)
    chosen = np.sort(rng.choice(pool, min(args.count, len(pool)), replace=False))
    frames, labels = test.frames[chosen], test.labels[chosen]
    z, mse = find_latents(
        generator, frames, labels, steps=args.steps, restarts=args.restarts, seed=args.seed
    )
    edits, targets = [], []
    for class_id in range(len(names)):
        edited = labels.copy()
        edited[:, column] = class_id
        edits.append(render(generator, z, edited))
        targets.append(np.full(len(chosen), class_id))
    tiles = [frames, render(generator, z, labels), *edits]
    # Columns: real | reconstruction | edit to each class; one row per real frame.
    grid = np.stack(tiles, axis=1).reshape(-1, *frames.shape[1:])
    write_png(args.out, frame_grid(grid, len(tiles), scale=args.scale))
    summary: dict[str, Any] = {
        "grid": str(args.out),
        "columns": ["real", "reconstruction", *[f"edit to {n}" for n in names]],
        "frames": chosen.tolist(),
        "source_labels": [names[i] for i in labels[:, column]],
        "reconstruction_mse": float(mse.mean()),
        "latents": "encoder, refined" if generator.encoder is not None else "inversion",
        "step": meta["step"],
    }
    if args.judge is not None:
        judge, _ = load_classifier(args.judge, device)
        predicted = predict(judge, np.concatenate(edits))
        wanted = np.concatenate(targets)
        summary["edit_success"] = float((predicted == wanted).mean())
        summary["edit_success_per_target"] = {
            n: float((predicted[wanted == i] == i).mean()) for i, n in enumerate(names)
        }
        summary["judge_on_real"] = float((predict(judge, frames) == labels[:, column]).mean())
    return summary


def _score(args: argparse.Namespace) -> dict[str, Any]:
    from roadgym.perception.atomic import atomic_write_json
    from roadgym.perception.device import pick_device
    from roadgym.perception.gan.score import format_scores, score_generator

    report = score_generator(
        args.checkpoint,
        args.judge,
        dataset=args.dataset,
        num_frames=args.num_frames,
        seed=args.seed,
        device=pick_device(args.device),
        split=args.split,
    )
    print(format_scores(report))
    if args.out is not None:
        atomic_write_json(args.out, report)
    return report


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Parse ``argv`` and run the subcommand; returns its summary dict."""
    args = build_parser().parse_args(argv)
    if args.threads is not None:
        import torch

        torch.set_num_threads(args.threads)
    handlers = {
        "train": _train,
        "sample": _sample,
        "edit": _edit,
        "score": _score,
    }
    handler = handlers[args.command]
    return handler(args)


def gan_command(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``roadgym gan`` (for the subcommand table): prints the summary."""
    summary = main(argv)
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(gan_command())
