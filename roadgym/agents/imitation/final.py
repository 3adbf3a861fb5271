"""The optional last step of an imitation run: average the last rounds, fit once more.

Each DAgger round fits the same network further on all the data so far, at a learning
rate annealed from ``bc.learning_rate`` to a tenth of it, so the students of the last
rounds lie close together and each carries the noise of its own last batches. The final
step averages the weights of the last ``average_rounds`` students (all points on one
training path, so their mean is a network of the same kind, as in stochastic weight
averaging) and fits the average once more on all the data, ``samples`` frames at
``learning_rate`` (annealed to a tenth). The result, ``student_final.zip``, is scored on
the selection seeds like a round and competes with the rounds for ``student.zip``.

Measured on ``runs/imitate-nav5`` (the shipped recipe, 15 rounds): on the 32 selection
towns, driving score 0.908 for the best round (12), 0.919 for the average of rounds
10-14, 0.941 for that average fitted once more on 320,000 frames at 2e-4; but on 100
development towns (1,000,100-1,000,199) round 12 finished 89 routes and the final
student 86. So the step is off by default: its gain on the selection towns was noise.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from stable_baselines3 import PPO

from roadgym.agents.imitation.bc import BCSettings, fit_student
from roadgym.agents.imitation.collect import RoundData
from roadgym.agents.model_zip import read_model_zip
from roadgym.envs.core.config import ConfigError

__all__ = ["FinalFit", "average_weights", "final_student"]


@dataclasses.dataclass(frozen=True)
class FinalFit:
    """Settings of the final step (both 0: no final step)."""

    average_rounds: int = 0
    """Students of the last this many rounds are averaged (0 or 1: the last round's)."""
    samples: int = 0
    """Frames of the one more fit, drawn from all the data (0: no fit)."""
    learning_rate: float = 2e-4
    """Adam learning rate of that fit (annealed to a tenth)."""
    stopping_weight: float | None = None
    """``bc.stopping_weight`` of that fit only (None: the rounds'). The Town student's
    recipe fits its last round once more with the frames of the last metres into a stop
    weighted 5x (the "stop fit": its students had rolled over stop lines at 0.3-0.56 m/s)."""
    candidates: int = 1
    """Final students made, each from the same start with its own draw of batches; each
    drives the selection seeds and competes with the rounds. One fit's driving varies
    with its batches as much as from one training seed to another (issue 27.3), so with
    several the run can keep a good draw (``student_final.zip``, ``student_final_2.zip``, ...)."""

    def __post_init__(self) -> None:
        for name in ("average_rounds", "samples"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ConfigError(f"FinalFit.{name} = {value!r}; allowed: an int >= 0")
        count = self.candidates
        if not isinstance(count, int) or isinstance(count, bool) or count < 1:
            raise ConfigError(f"FinalFit.candidates = {self.candidates!r}; allowed: an int >= 1")
        if not self.learning_rate > 0:
            raise ConfigError(f"FinalFit.learning_rate = {self.learning_rate!r}; allowed: > 0")
        if self.stopping_weight is not None and not self.stopping_weight >= 0:
            raise ConfigError(
                f"FinalFit.stopping_weight = {self.stopping_weight!r}; allowed: None or >= 0"
            )

    @property
    def enabled(self) -> bool:
        """Whether the run has a final step."""
        return self.average_rounds > 1 or self.samples > 0


def average_weights(paths: Sequence[str | Path]) -> dict[str, torch.Tensor]:
    """The mean of the students' policy weights at ``paths`` (integer buffers: the first's)."""
    if not paths:
        raise ValueError("average_weights: no student to average")
    # Weights only (torch's weights-only loader): nothing in the zips is unpickled.
    states = [read_model_zip(path).policy_state_dict() for path in paths]
    first = states[0]
    return {
        key: torch.stack([s[key].float() for s in states]).mean(0).to(value.dtype)
        if value.is_floating_point()
        else value
        for key, value in first.items()
    }


def final_student(
    model: PPO,
    round_students: Sequence[Path],
    data: RoundData,
    final: FinalFit,
    bc: BCSettings,
    rng: np.random.Generator,
    progress: bool = False,
) -> dict[str, float]:
    """Turn ``model`` into the final student, in place: the average of the last
    ``final.average_rounds`` of ``round_students``, then one more fit on ``data``.

    Returns the fit's losses (empty without a fit).
    """
    if final.average_rounds > 1:
        chosen = list(round_students)[-final.average_rounds :]
        model.policy.load_state_dict(average_weights(chosen))
    if final.samples == 0:
        return {}
    passes = max(1, -(-final.samples // max(len(data), 1)))
    settings = dataclasses.replace(
        bc, epochs=passes, learning_rate=final.learning_rate, max_samples_per_round=final.samples
    )
    if final.stopping_weight is not None:
        settings = dataclasses.replace(settings, stopping_weight=final.stopping_weight)
    return fit_student(model.policy, data, settings, rng, progress=progress)
