"""Tools behind the ``roadgym`` command that are not part of a library layer's API.

- :mod:`~roadgym.tools.benchmark`: frames per second against CarRacing-v3 and highway-env
  (``roadgym bench``).
- :mod:`~roadgym.tools.snapshot`: the README pictures (``roadgym snapshot``).
- :mod:`~roadgym.tools.expert_table`: the expert's metrics over held-out seeds
  (``roadgym expert-table``).
- :mod:`~roadgym.tools.play`: drive with the arrow keys (``roadgym play``).
- :mod:`~roadgym.tools.highway_expert`, :mod:`~roadgym.tools.highway_dqn`: the highway
  expert's table and SB3 DQN on highway-env beside roadgym/Highway-v0.

This layer sits above ``agents`` (the benchmark times SB3 PPO on roadgym's encoder) and
below :mod:`roadgym.cli`.
"""
