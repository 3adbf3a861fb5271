"""The ``roadgym`` command: one table of subcommands, each a thin front over a library main.

``roadgym <command> [args]`` (or ``python -m roadgym <command> [args]``) looks the command
up in :data:`COMMANDS`, imports its module only then (so ``roadgym --help`` needs no torch
and starts fast), and calls ``function(argv)``, which parses ``argv`` and returns an exit
code. Every parser lives in its library module, beside the function it fronts.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Sequence

# name -> ("module:function", one-line help). The function takes argv (list of str) and
# returns an exit code; its module is imported only when the command runs.
COMMANDS: dict[str, tuple[str, str]] = {
    "train": ("roadgym.agents.cli:train_main", "train SB3 PPO or DQN on a roadgym env"),
    "evaluate": (
        "roadgym.agents.cli:evaluate_main",
        "evaluate a model (or the expert) on held-out seeds",
    ),
    "watch": ("roadgym.agents.cli:watch_main", "watch a model drive (window or --record mp4)"),
    "play": ("roadgym.tools.play:main", "drive an env yourself with the arrow keys"),
    "bench": ("roadgym.tools.benchmark.cli:main", "frames per second against other driving envs"),
    "snapshot": ("roadgym.tools.snapshot:main", "write a README picture of an env"),
    "train-classifier": (
        "roadgym.perception.cli:train_classifier_command",
        "train an image classifier on simulator labels or CIFAR-10",
    ),
    "train-multitask": (
        "roadgym.perception.multitask:train_multitask_command",
        "train one encoder on several label tasks at once (light, object, layout)",
    ),
    "distill": (
        "roadgym.perception.cli:distill_command",
        "distil a teacher encoder into a small student",
    ),
    "export-curve": (
        "roadgym.agents.cli:export_curve_main",
        "a learning-curve PNG from a run's TensorBoard log",
    ),
    "imitate": (
        "roadgym.agents.imitation.cli:imitate_main",
        "teach a pixel student from the expert: behaviour cloning, then DAgger",
    ),
    "gan": (
        "roadgym.perception.gan.cli:gan_command",
        "label-conditioned GAN of camera frames: train, sample, edit, score (FD, KID, labels)",
    ),
    "compile-kernels": (
        "roadgym.envs.core.kernel_warmup:main",
        "compile the numba kernels (roadgym[fast]) into the on-disk cache now",
    ),
    # add a row here: "name": ("package.module:function", "one-line help"),
}


def _usage() -> str:
    width = max(len(name) for name in COMMANDS)
    lines = [
        "usage: roadgym <command> [options]   (roadgym <command> --help for its options)",
        "",
        "commands:",
    ]
    lines += [f"  {name:<{width}}  {help_text}" for name, (_, help_text) in COMMANDS.items()]
    return "\n".join(lines)


def resolve(name: str) -> Callable[[list[str]], int]:
    """The function behind command ``name`` (imports its module)."""
    target, _ = COMMANDS[name]
    module_name, _, function_name = target.partition(":")
    return getattr(importlib.import_module(module_name), function_name)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``roadgym <command> [args]``; returns the command's exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(_usage())
        return 0
    if args[0] == "--version":
        from roadgym import __version__

        print(f"roadgym {__version__}")
        return 0
    name, rest = args[0], args[1:]
    if name not in COMMANDS:
        print(f"roadgym: unknown command {name!r}; allowed: {', '.join(COMMANDS)}", file=sys.stderr)
        return 2
    function = resolve(name)
    # argparse names its program after sys.argv[0]: make usage lines read "roadgym train".
    saved, sys.argv[0:1] = sys.argv[0:1], [f"roadgym {name}"]
    try:
        code = function(rest)
    except SystemExit as stop:  # argparse's --help and errors
        code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
        if isinstance(stop.code, str):
            print(stop.code, file=sys.stderr)
    finally:
        sys.argv[0:1] = saved
    return int(code or 0)


if __name__ == "__main__":
    sys.exit(main())
