"""The critic warm-up: PPO trains its critic alone for the first steps of a run."""

from __future__ import annotations

import dataclasses
from typing import Any

from roadgym.agents.extensions.base import ExtensionContext, TrainingExtension
from roadgym.agents.extensions.registry import register_extension

__all__ = ["CriticWarmup"]


@register_extension
@dataclasses.dataclass(frozen=True)
class CriticWarmup(TrainingExtension):
    """For the first ``steps`` env steps only PPO's critic trains; the actor's weights
    stay put (:class:`~roadgym.agents.imitation.finetune.CriticWarmupCallback`), so a
    policy started from a student or a checkpoint is not moved by a value function that
    has not learnt yet."""

    name = "critic_warmup"
    old_names = ("critic_warmup_steps",)
    old_fields = {"warmup_timesteps": "steps", "critic_warmup_steps": "steps"}
    algos = ("ppo",)

    steps: int = 40_000
    """Env steps (over all envs) during which only the critic trains (>= 1)."""

    def __post_init__(self) -> None:
        if self.steps < 1:
            raise self.fail("steps", self.steps, "an int >= 1 (leave the extension out for none)")

    def check(self, run: ExtensionContext) -> None:
        super().check(run)  # DQN has no separate critic

    def callbacks(self, run: ExtensionContext) -> list[Any]:
        from roadgym.agents.imitation.finetune import CriticWarmupCallback

        return [CriticWarmupCallback(self.steps)]
