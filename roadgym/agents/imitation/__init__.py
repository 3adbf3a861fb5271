"""Pixel students taught by the privileged expert: behaviour cloning, then DAgger.

``run_imitation(ImitationConfig(), "runs/imitate-Town-v0")`` (or ``roadgym imitate``)
records the expert driving, trains a student (a roadgym encoder with an action head and
perception heads, as an SB3 PPO policy), lets the student drive while the expert labels
every frame it visits, aggregates and trains again, and saves the best round's student
as an ordinary SB3 zip. See :mod:`roadgym.agents.imitation.dagger`.
"""

from roadgym.agents.imitation.bc import BCSettings
from roadgym.agents.imitation.config import ImitationConfig
from roadgym.agents.imitation.dagger import ImitationResult, build_student, run_imitation
from roadgym.agents.imitation.student import AUX_TASKS, StudentExtractor

__all__ = [
    "AUX_TASKS",
    "BCSettings",
    "ImitationConfig",
    "ImitationResult",
    "StudentExtractor",
    "build_student",
    "run_imitation",
]
