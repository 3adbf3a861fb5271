"""Privileged drivers: controllers that read the simulator's state instead of pixels.

The expert teaches the pixel students (imitation), drives while perception datasets
are recorded, and sets the bar in evaluations. numpy only: this layer sits above
``roadgym.envs`` and below ``roadgym.perception`` and ``roadgym.agents``.
"""

from types import ModuleType

from roadgym.drivers.expert import ExpertConfig, ExpertDriver

__all__ = ["ExpertConfig", "ExpertDriver"]


def __getattr__(name: str) -> ModuleType:
    """``roadgym.drivers.highway_expert``: the 0.1 name of :mod:`roadgym.drivers.highway`
    (renamed: ``experiments/expert_tables/highway_expert.py`` is the report script)."""
    if name == "highway_expert":
        import warnings

        from roadgym.drivers import highway

        warnings.warn(
            "roadgym.drivers.highway_expert is renamed roadgym.drivers.highway; the old "
            "name goes in roadgym 0.3",
            DeprecationWarning,
            stacklevel=2,
        )
        return highway
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
