"""The shared mechanics of PPO's pulls towards a teacher's actions (student or expert).

A pull is a few extra gradient steps that move the policy's action means towards target
actions on frames of a rollout. They must not run between collecting a rollout and PPO's
update of it: PPO's probability ratios and its ``target_kl`` early stop compare against
the policy that collected the rollout, and a policy already moved by the pull looks like
a policy that moved too far, so PPO skips its update (measured: with the pull at the end
of the rollout, 89% of PPO's updates stopped at ``target_kl`` 0.02, most of them before
their first step). So :class:`ActionPull` draws the minibatches and their targets when a
rollout ends and takes its steps when the next rollout starts, after PPO's update.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from stable_baselines3.common.callbacks import BaseCallback

__all__ = ["ActionPull"]


class ActionPull(BaseCallback):
    """Steps towards ``targets`` on a rollout's frames, after PPO's update of that rollout.

    Subclasses give :meth:`weight`, :meth:`targets` and :meth:`error`, and name the logged
    scalars with ``loss_name`` and ``weight_name`` (under ``train/``).

    :param steps_per_rollout: gradient steps per rollout, one random minibatch each.
    :param batch_size: frames per gradient step.

    Between a rollout's end and the next one's start the pull holds a copy of its
    ``steps_per_rollout * batch_size`` frames (about 250 MB at the defaults for Town's
    ``rgb+nav`` with ``frame_stack=10``), since SB3 clears the buffer before the next one.
    """

    loss_name = "pull_loss"
    weight_name = "pull_weight"

    def __init__(self, steps_per_rollout: int = 8, batch_size: int = 256, verbose: int = 0):
        super().__init__(verbose)
        if steps_per_rollout < 1 or batch_size < 1:
            raise ValueError(
                f"steps_per_rollout = {steps_per_rollout!r}, batch_size = {batch_size!r}; "
                "allowed: both >= 1"
            )
        self.steps_per_rollout = steps_per_rollout
        self.batch_size = batch_size
        self._rng = np.random.default_rng(0)
        self._stash: tuple[float, list[Any], list[torch.Tensor]] | None = None
        self.steps_taken = 0
        """Gradient steps the pull has taken so far."""

    def weight(self) -> float:
        """The weight of the pull now (<= 0: no pull)."""
        raise NotImplementedError

    def targets(self, observations: Any, rows: np.ndarray) -> torch.Tensor:
        """Target action means (len(rows), action dim) for the flattened buffer's ``rows``,
        whose observations (tensors) are ``observations``."""
        raise NotImplementedError

    def error(self, mean: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """The per-element error the pull minimises (e.g. absolute or squared)."""
        raise NotImplementedError

    def element_weights(self, observations: Any, rows: np.ndarray) -> torch.Tensor | None:
        """Weights (size, action_dim) of the errors at ``rows``, or None (all alike)."""
        return None

    def draw_rows(self, n: int, size: int) -> np.ndarray:
        """``size`` distinct rows of the flattened buffer's ``n`` for one gradient step
        (uniform; a subclass may favour some frames)."""
        return self._rng.choice(n, size, replace=False)

    def _on_training_start(self) -> None:
        self._rng = np.random.default_rng(self.model.seed)

    def _on_step(self) -> bool:
        return True

    def _on_rollout_end(self) -> None:
        weight = self.weight()
        self.logger.record(f"train/{self.weight_name}", weight)
        self._stash = None
        if weight <= 0.0:
            return
        buffer = self.model.rollout_buffer
        if not buffer.generator_ready:
            next(buffer.get(self.batch_size))  # flattens the buffer (world-major rows)
        n = buffer.buffer_size * buffer.n_envs
        size = min(self.batch_size, n)
        device = self.model.policy.device
        batches, targets, element_weights = [], [], []
        for _ in range(self.steps_per_rollout):
            rows = self.draw_rows(n, size)
            observations = _rows(buffer.observations, rows, device)
            with torch.no_grad():
                targets.append(self.targets(observations, rows).to(device))
                w = self.element_weights(observations, rows)
            element_weights.append(None if w is None else w.to(device))
            batches.append(observations)
        self._stash = (weight, batches, targets, element_weights)

    def _on_rollout_start(self) -> None:
        # PPO has updated on the last rollout by now: take the pull's steps.
        if self._stash is None:
            return
        weight, batches, targets, element_weights = self._stash
        self._stash = None
        policy = self.model.policy
        total = 0.0
        for observations, target, w in zip(batches, targets, element_weights, strict=True):
            mean = policy.get_distribution(observations).distribution.mean
            if not mean.requires_grad:  # the actor is frozen (CriticWarmup)
                return
            error = self.error(mean, target)
            loss = weight * (error if w is None else error * w).mean()
            policy.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(policy.parameters(), self.model.max_grad_norm)
            policy.optimizer.step()
            self.steps_taken += 1
            total += float(loss.detach()) / weight
        self.logger.record(f"train/{self.loss_name}", total / len(batches))


def _rows(observations: Any, rows: np.ndarray, device: torch.device) -> Any:
    """The flattened buffer's observations at ``rows`` as tensors (a dict or an array)."""
    if isinstance(observations, dict):
        return {k: torch.as_tensor(v[rows], device=device) for k, v in observations.items()}
    return torch.as_tensor(observations[rows], device=device)
