"""Frames per second of roadgym against CarRacing-v3 and highway-env, and SB3 PPO speed.

One process, one core (``OMP_NUM_THREADS=1``, torch and OpenCV held to one thread),
random actions, episodes reset as they end. Each row is the median of several timed
runs after a warm-up; a vector row counts frames of all its worlds. Memory is measured
per row in a fresh child process: ``rss_delta_mib`` is the peak resident set size
minus the RSS after imports, ``traced_peak_mib`` the tracemalloc peak (Python and numpy
allocations) while creating, resetting and stepping the env. Anchors that are not
installed are skipped and say so (``pip install -e .[bench]`` installs them).

- :mod:`~roadgym.tools.benchmark.anchors`: the rows (``ANCHORS``).
- :mod:`~roadgym.tools.benchmark.timing`: timing, memory probes, profiling of one row.
- :mod:`~roadgym.tools.benchmark.ppo`: SB3 PPO training speed, roadgym vs CarRacing-v3.
- :mod:`~roadgym.tools.benchmark.report`: the Markdown table and the JSON file.
- :mod:`~roadgym.tools.benchmark.cli`: ``roadgym bench``.

Usage::

    OMP_NUM_THREADS=1 roadgym bench            # full table, ~5 minutes
    OMP_NUM_THREADS=1 roadgym bench --quick    # smoke test, ~1 minute
    roadgym bench --only roadgym-vector-64 --profile  # where time goes
"""
