"""The expert term: PPO keeps asking the privileged expert (online DAgger)."""

from __future__ import annotations

import dataclasses
from typing import Any

from gymnasium import spaces

from roadgym.agents.extensions.base import (
    ExtensionContext,
    TrainingExtension,
    require_continuous_actions,
)
from roadgym.agents.extensions.registry import register_extension
from roadgym.agents.typed_config import ConfigError

__all__ = ["ExpertTerm"]


@register_extension
@dataclasses.dataclass(frozen=True)
class ExpertTerm(TrainingExtension):
    """While PPO collects a rollout, the privileged expert labels every frame with its
    action; after PPO's update of the rollout, a few gradient steps pull the policy's
    action means towards those labels (:class:`~roadgym.agents.imitation.expert_term.
    ExpertTermCallback`). PPO with continuous actions on a world the expert drives
    (Track, Town)."""

    name = "expert_term"
    old_names = ("expert_regulariser", "expert")
    old_fields = {
        "expert_coef": "coef",
        "expert_stop_zone_m": "stop_zone_m",
        "expert_slow_mps": "slow_mps",
        "expert_student_weights": "student_weights",
    }
    algos = ("ppo",)

    coef: float = 1.0
    """Weight of the term (> 0), constant over training."""
    stop_zone_m: float = 0.0
    """Town only: frames this close (m) before a stop sign's line the car has not yet
    stopped at are left to the expert term (PPO's advantages there are zero). 0: off."""
    slow_mps: float = 0.0
    """Frames where the car is slower than this (m/s) are left to the expert term the
    same way. 0: off."""
    student_weights: bool = False
    """Weigh the term's errors as the student's imitation loss does (steer x 2, the
    throttle of hard-braking and pull-away frames x 5); needs a 'nav' observation."""
    steps_per_rollout: int = 8
    """Gradient steps per rollout, one random minibatch each."""
    batch_size: int = 256
    """Frames per gradient step."""

    def __post_init__(self) -> None:
        if not self.coef > 0:
            raise self.fail("coef", self.coef, "a number > 0 (leave the extension out for none)")
        for field in ("stop_zone_m", "slow_mps"):
            if not getattr(self, field) >= 0:
                raise self.fail(field, getattr(self, field), "a number >= 0 (0: off)")
        for field in ("steps_per_rollout", "batch_size"):
            if getattr(self, field) < 1:
                raise self.fail(field, getattr(self, field), "an int >= 1")

    def algo_arguments(self) -> dict[str, Any]:
        # With a handover, the term normalises PPO's advantages itself, over the frames it
        # does not take (PPO's per-minibatch normalisation would shift their zeros).
        return {"normalize_advantage": False} if self.stop_zone_m or self.slow_mps else {}

    def check(self, run: ExtensionContext) -> None:
        super().check(run)
        require_continuous_actions(run.action_space, run.env_id, self.where)
        if self.stop_zone_m:
            from roadgym.agents.imitation.expert_term import require_town

            require_town(run.world, f"{self.where}.stop_zone_m")
        space = run.observation_space
        if self.student_weights and not (isinstance(space, spaces.Dict) and "nav" in space.spaces):
            raise ConfigError(
                f"{self.where}.student_weights = True needs the speed of a 'nav' observation "
                f"(env_kwargs.observation='rgb+nav'); {run.env_id}'s observation space is "
                f"{space!r}"
            )

    def callbacks(self, run: ExtensionContext) -> list[Any]:
        from roadgym.agents.imitation.expert_term import ExpertTermCallback

        return [
            ExpertTermCallback(
                self.coef,
                steps_per_rollout=self.steps_per_rollout,
                batch_size=self.batch_size,
                stop_zone_m=self.stop_zone_m,
                slow_mps=self.slow_mps,
                student_weights=self.student_weights,
            )
        ]
