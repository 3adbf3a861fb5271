"""Shim: ``roadgym snapshot`` (see ``roadgym snapshot --help``)."""

import sys

from roadgym.cli import main

sys.exit(main(["snapshot", *sys.argv[1:]]))
