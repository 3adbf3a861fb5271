"""Shim over :func:`roadgym.agents.cli.export_curve_main`; run with --help for the options."""

import sys

from roadgym.agents.cli import export_curve_main

if __name__ == "__main__":
    sys.exit(export_curve_main())
