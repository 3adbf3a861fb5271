"""Shim: ``roadgym train`` (see ``roadgym train --help``)."""

import sys

from roadgym.cli import main

sys.exit(main(["train", *sys.argv[1:]]))
