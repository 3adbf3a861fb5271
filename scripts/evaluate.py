"""Shim over :func:`roadgym.agents.cli.evaluate_main`; run with --help for the options."""

import sys

from roadgym.agents.cli import evaluate_main

if __name__ == "__main__":
    sys.exit(evaluate_main())
