"""Privileged drivers: controllers that read the simulator's state instead of pixels.

The expert teaches the pixel students (imitation), drives while perception datasets
are recorded, and sets the bar in evaluations. numpy only: this layer sits above
``roadgym.envs`` and below ``roadgym.perception`` and ``roadgym.agents``.
"""

from roadgym.drivers.expert import ExpertConfig, ExpertDriver

__all__ = ["ExpertConfig", "ExpertDriver"]
