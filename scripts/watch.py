"""Shim: ``roadgym watch`` (see ``roadgym watch --help``)."""

import sys

from roadgym.cli import main

sys.exit(main(["watch", *sys.argv[1:]]))
