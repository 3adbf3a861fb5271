"""Shim over :func:`roadgym.agents.cli.train_main`; run with --help for the options."""

import sys

from roadgym.agents.cli import train_main

if __name__ == "__main__":
    sys.exit(train_main())
