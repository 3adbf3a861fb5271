"""Shim over :func:`roadgym.agents.cli.watch_main`; run with --help for the options."""

import sys

from roadgym.agents.cli import watch_main

if __name__ == "__main__":
    sys.exit(watch_main())
