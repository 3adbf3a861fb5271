"""Shim: ``roadgym distill`` (see ``roadgym distill --help``)."""

import sys

from roadgym.cli import main

sys.exit(main(["distill", *sys.argv[1:]]))
