"""The student pull: keep a fine-tuned policy's action means near the student it started from."""

from __future__ import annotations

import dataclasses
from typing import Any

from roadgym.agents.extensions.base import (
    ExtensionContext,
    TrainingExtension,
    require_continuous_actions,
)
from roadgym.agents.extensions.registry import register_extension
from roadgym.agents.typed_config import ConfigError

__all__ = ["StudentPull"]


@register_extension
@dataclasses.dataclass(frozen=True)
class StudentPull(TrainingExtension):
    """After PPO's update of each rollout, a few gradient steps that pull the policy's
    action means towards the frozen starting policy's (``init_from``: a student from
    ``roadgym imitate``) on the rollout's frames
    (:class:`~roadgym.agents.imitation.finetune.StudentPullCallback`). For two Gaussians
    of the same std this is their KL divergence up to a constant factor."""

    name = "student_pull"
    old_names = ("init_kl", "student_kl", "student_regulariser", "kl")
    old_fields = {
        "init_kl_coef": "coef",
        "init_kl_steps": "decay_steps",
        "kl_timesteps": "decay_steps",
    }
    algos = ("ppo",)

    coef: float = 1.0
    """Weight of the pull at the start (> 0)."""
    decay_steps: int | None = 100_000
    """Env steps over which the weight falls linearly to 0; null: no decay (the weight
    stays ``coef`` for the whole run)."""
    steps_per_rollout: int = 8
    """Gradient steps per rollout, one random minibatch each."""
    batch_size: int = 256
    """Frames per gradient step."""

    def __post_init__(self) -> None:
        if not self.coef > 0:
            raise self.fail("coef", self.coef, "a number > 0 (leave the extension out for none)")
        if self.decay_steps is not None and self.decay_steps < 1:
            raise self.fail("decay_steps", self.decay_steps, "an int >= 1, or null (no decay)")
        for field in ("steps_per_rollout", "batch_size"):
            if getattr(self, field) < 1:
                raise self.fail(field, getattr(self, field), "an int >= 1")

    def check(self, run: ExtensionContext) -> None:
        super().check(run)
        if run.init_from is None:
            raise ConfigError(
                f"{self.where} pulls towards the policy the run starts from; set init_from "
                "(a student.zip from `roadgym imitate`)"
            )
        require_continuous_actions(run.action_space, run.env_id, self.where)

    def callbacks(self, run: ExtensionContext) -> list[Any]:
        from roadgym.agents.imitation.finetune import StudentPullCallback

        return [
            StudentPullCallback(
                run.initial_model,
                self.coef,
                self.decay_steps,
                steps_per_rollout=self.steps_per_rollout,
                batch_size=self.batch_size,
            )
        ]
