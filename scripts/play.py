"""Drive roadgym/Track-v0 yourself: arrow keys steer, accelerate and brake; Esc quits.

python scripts/play.py [--env roadgym/Track-v0] [--seed 0]
"""

import argparse

import roadgym  # noqa: F401  (registers the envs)
from roadgym.envs.core.manual_control import play


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="roadgym/Track-v0", help="env id")
    parser.add_argument("--seed", type=int, default=None, help="seed of the first episode")
    args = parser.parse_args()
    play(args.env, seed=args.seed)


if __name__ == "__main__":
    main()
