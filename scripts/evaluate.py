"""Shim: ``roadgym evaluate`` (see ``roadgym evaluate --help``)."""

import sys

from roadgym.cli import main

sys.exit(main(["evaluate", *sys.argv[1:]]))
