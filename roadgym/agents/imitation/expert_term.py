"""PPO that keeps asking the expert: an online DAgger term on PPO's own rollouts.

``roadgym train --expert-coef W`` adds :class:`ExpertRegulariser`. While PPO collects a
rollout, the privileged expert (:class:`~roadgym.drivers.expert.ExpertDriver`, which
reads the simulator's state, not the pixels) labels every frame the policy sees with the
action it would have taken there. After PPO's own update of that rollout, a few gradient
steps pull the policy's action means towards those labels (mean absolute error, the
loss ``roadgym imitate`` trains the student with), weighted by ``W``
(:class:`~roadgym.agents.imitation.pull.ActionPull` says why after the update).

It is DAgger's aggregation without the dataset: the states are the ones PPO's current
policy reaches, so the labels follow the policy as it changes, where ``StudentRegulariser``
pulls towards a frozen student that was never shown those states. The policy never sees
the expert's inputs, only its action targets, as in DAgger.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from gymnasium import spaces

from roadgym.agents.imitation.pull import ActionPull
from roadgym.drivers.expert import ExpertDriver

__all__ = ["ExpertRegulariser", "require_continuous_actions"]


def require_continuous_actions(
    action_space: spaces.Space, where: str = "the env", what: str = "--expert-coef"
) -> None:
    """Refuse an action space that ``what`` cannot work with (the term pulls action
    means, a fixed ``action_std`` sets a Gaussian's: a Box only)."""
    if not isinstance(action_space, spaces.Box):
        raise ValueError(
            f"{what} needs continuous actions (a Box action space); {where} has "
            f"{action_space!r}: use env_kwargs.action_type=continuous"
        )


class ExpertRegulariser(ActionPull):
    """Pull PPO's action means towards the expert's actions on PPO's own rollout frames.

    :param coef: the weight of the term (> 0), constant over training.
    :param steps_per_rollout: gradient steps per rollout (after PPO's update of it), one
        random minibatch each.
    :param batch_size: frames per gradient step.

    After a rollout, :attr:`labels` holds the expert's actions (N, 2) for the rollout
    buffer's frames in the buffer's flattened order (world-major: world ``e``'s step ``t``
    is row ``e * n_steps + t``).
    """

    loss_name = "expert_l1"
    weight_name = "expert_weight"

    def __init__(
        self,
        coef: float = 1.0,
        steps_per_rollout: int = 8,
        batch_size: int = 256,
        verbose: int = 0,
    ) -> None:
        if not coef > 0:
            raise ValueError(f"--expert-coef {coef!r}; allowed: a number > 0 (0 turns it off)")
        super().__init__(steps_per_rollout, batch_size, verbose)
        self.coef = coef
        self.labels: np.ndarray | None = None
        self._expert: ExpertDriver | None = None
        self._steps: np.ndarray | None = None  # (n_steps, n_envs, 2) of the rollout
        self._pending: np.ndarray | None = None  # the expert's action for the current frames

    def _on_training_start(self) -> None:
        super()._on_training_start()
        require_continuous_actions(self.model.action_space)
        # The SB3 VecEnv under any wrappers (VecNormalize, VecMonitor): its world is the
        # one the rollout's frames come from.
        self._expert = ExpertDriver(self.training_env.unwrapped)
        buffer = self.model.rollout_buffer
        self._steps = np.zeros((buffer.buffer_size, buffer.n_envs, 2), np.float32)

    def weight(self) -> float:
        return self.coef

    def _expert_actions(self) -> np.ndarray:
        assert self._expert is not None
        actions, _ = self._expert.predict()
        return np.asarray(actions, np.float32).reshape(-1, 2)

    def _on_rollout_start(self) -> None:
        super()._on_rollout_start()  # the last rollout's pull
        # The frames PPO acts on first (``model._last_obs``) show the world as it is now.
        self._pending = self._expert_actions()

    def _on_step(self) -> bool:
        # SB3 calls this after ``env.step`` and before it adds the frames it acted on to
        # the buffer at ``buffer.pos``: those frames' label is the pending one. The world
        # is now at the new frames (a finished world already reset, as its frame shows).
        assert self._steps is not None
        self._steps[self.model.rollout_buffer.pos] = self._pending
        self._pending = self._expert_actions()
        return True

    def _on_rollout_end(self) -> None:
        assert self._steps is not None
        self.labels = self._steps.swapaxes(0, 1).reshape(-1, 2).copy()
        super()._on_rollout_end()

    def targets(self, observations: Any, rows: np.ndarray) -> torch.Tensor:
        assert self.labels is not None
        return torch.as_tensor(self.labels[rows])

    def error(self, mean: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return (mean - target).abs()
