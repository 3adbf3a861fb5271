"""Shim: ``roadgym bench`` (see ``roadgym bench --help``)."""

import sys

from roadgym.cli import main

sys.exit(main(["bench", *sys.argv[1:]]))
