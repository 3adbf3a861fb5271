"""Tools behind the ``roadgym`` command that are not part of a library layer's API.

- :mod:`~roadgym.tools.benchmark`: frames per second against CarRacing-v3 and highway-env
  (``roadgym bench``).
- :mod:`~roadgym.tools.snapshot`: the README pictures (``roadgym snapshot``).
- :mod:`~roadgym.tools.play`: drive with the arrow keys (``roadgym play``).

This layer sits above ``agents`` (the benchmark times SB3 PPO on roadgym's encoder) and
below :mod:`roadgym.cli`.
"""
