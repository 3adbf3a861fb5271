"""Shim: ``roadgym expert-table`` (see ``roadgym expert-table --help``)."""

import sys

from roadgym.cli import main

sys.exit(main(["expert-table", *sys.argv[1:]]))
