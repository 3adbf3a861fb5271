"""``roadgym play``: drive an env yourself; arrow keys steer, accelerate and brake, Esc quits."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from roadgym.envs.core.manual_control import play


def main(argv: Sequence[str] | None = None) -> int:
    """Open the env's window (see :func:`roadgym.envs.core.manual_control.play`)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0].split(": ", 1)[1])
    parser.add_argument("--env", default="roadgym/Track-v0", help="env id")
    parser.add_argument("--seed", type=int, default=None, help="seed of the first episode")
    args = parser.parse_args(argv)
    import roadgym  # noqa: F401  (registers the envs)

    play(args.env, seed=args.seed)
    return 0
