"""Shim: ``roadgym play`` (see ``roadgym play --help``)."""

import sys

from roadgym.cli import main

sys.exit(main(["play", *sys.argv[1:]]))
