"""``python -m roadgym``: the ``roadgym`` command (see :mod:`roadgym.cli`)."""

import sys

from roadgym.cli import main

sys.exit(main())
