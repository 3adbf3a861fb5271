"""Shim: ``roadgym train-classifier`` (see ``roadgym train-classifier --help``)."""

import sys

from roadgym.cli import main

sys.exit(main(["train-classifier", *sys.argv[1:]]))
