"""Shim: ``roadgym export-curve`` (see ``roadgym export-curve --help``)."""

import sys

from roadgym.cli import main

sys.exit(main(["export-curve", *sys.argv[1:]]))
