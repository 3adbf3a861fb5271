"""PPO that keeps asking the expert: an online DAgger term on PPO's own rollouts.

The ``expert_term`` extension (:class:`roadgym.agents.extensions.ExpertTerm`; ``roadgym
train --set extensions.expert_term.coef=W``) adds :class:`ExpertTermCallback`. While PPO collects a
rollout, the privileged expert (:class:`~roadgym.drivers.expert.ExpertDriver`, which
reads the simulator's state, not the pixels) labels every frame the policy sees with the
action it would have taken there. After PPO's own update of that rollout, a few gradient
steps pull the policy's action means towards those labels (mean absolute error, the
loss ``roadgym imitate`` trains the student with), weighted by ``W``
(:class:`~roadgym.agents.imitation.pull.ActionPull` says why after the update).

It is DAgger's aggregation without the dataset: the states are the ones PPO's current
policy reaches, so the labels follow the policy as it changes, where the student pull
pulls towards a frozen student that was never shown those states. The policy never sees
the expert's inputs, only its action targets, as in DAgger.

``stop_zone_m = M`` (Town) hands the approach to a stop sign over to the expert.
On frames whose front bumper is within ``M`` of a stop sign's line the car has not yet
stopped at, PPO's advantages are set to zero (its update leaves the policy's actions
there alone), and half of each pull minibatch is drawn from those frames. Why: every
fine-tune that really updated learnt to roll through stop signs (3-9 times the
student's rate), whatever the penalty. A likely reason (not proven): the stop is won or
lost 2-4 s before the line, beyond what PPO's advantages (GAE lambda 0.95) credit, while
the time it costs shows on every frame after it. Measured (experiments/town_finetune/): the
handover cuts the stop signs by about two thirds, not to the student's rate; and with
PPO's update off on every frame (``slow_mps`` = 1000) this term alone runs six times the
student's stop signs, so the rest is this term's doing, not PPO's. With the
handover, the advantages are normalised over the other
frames of the rollout, once per rollout, and PPO's own per-minibatch normalisation is
turned off (it would shift the zeros).

``slow_mps = V`` hands over, the same way, every frame where the car is slower
than ``V`` (standing in a queue, at a light, pulling away), to test whether PPO setting
off sooner there reached the stop-sign frames (measured at ``V`` = 1: no change). At a
huge ``V`` every frame is handed over: PPO's update is off and the pulls act alone.

``student_weights = true`` weighs the term's errors as the student's imitation loss
does (:mod:`roadgym.agents.imitation.bc`: steer x 2, the throttle of hard-braking and
pull-away frames x 5), scaled to mean 1.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from gymnasium import spaces

from roadgym.agents.extensions.base import require_continuous_actions
from roadgym.agents.imitation.bc import BCSettings, transition_mask
from roadgym.agents.imitation.pull import ActionPull
from roadgym.drivers.expert import ExpertDriver
from roadgym.envs.town.ego import approaching_stop_sign
from roadgym.envs.town.world import TownWorld

__all__ = ["ExpertRegulariser", "ExpertTermCallback", "require_continuous_actions", "require_town"]

STEER_WEIGHT = BCSettings.steer_weight
TRANSITION_WEIGHT = BCSettings.transition_weight


class ExpertTermCallback(ActionPull):
    """The expert term (the ``expert_term`` extension's callback): pull PPO's action
    means towards the expert's actions on PPO's own rollout frames.

    :param coef: the weight of the term (> 0), constant over training.
    :param steps_per_rollout: gradient steps per rollout (after PPO's update of it), one
        random minibatch each.
    :param batch_size: frames per gradient step.
    :param stop_zone_m: Town only: hand the frames this close before a stop sign's line
        (not yet stopped at) over to the expert (see the module's text). 0: off.
    :param slow_mps: hand the frames where the car is slower than this (m/s) over to the
        expert too. 0: off.
    :param student_weights: weigh the errors as the student's loss does (steer x 2, the
        throttle of hard-braking and pull-away frames x 5), scaled to mean 1; needs a
        ``nav`` observation. False: all alike.

    After a rollout, :attr:`labels` holds the expert's actions (N, 2) for the rollout
    buffer's frames in the buffer's flattened order (world-major: world ``e``'s step ``t``
    is row ``e * n_steps + t``).
    """

    loss_name = "expert_term_loss"
    weight_name = "expert_term_weight"

    def __init__(
        self,
        coef: float = 1.0,
        steps_per_rollout: int = 8,
        batch_size: int = 256,
        verbose: int = 0,
        stop_zone_m: float = 0.0,
        slow_mps: float = 0.0,
        student_weights: bool = False,
    ) -> None:
        if not coef > 0:
            raise ValueError(f"coef = {coef!r}; allowed: a number > 0")
        if not stop_zone_m >= 0:
            raise ValueError(
                f"stop_zone_m = {stop_zone_m!r}; allowed: a number >= 0 (0 turns it off)"
            )
        if not slow_mps >= 0:
            raise ValueError(f"slow_mps = {slow_mps!r}; allowed: a number >= 0 (0 turns it off)")
        super().__init__(steps_per_rollout, batch_size, verbose)
        self.coef = coef
        self.stop_zone_m = stop_zone_m
        self.slow_mps = slow_mps
        self.student_weights = student_weights
        self.hands_over = bool(stop_zone_m or slow_mps)
        self.zone: np.ndarray | None = None
        """After a rollout with a handover: which frames (N,) were handed over, in the
        order of :attr:`labels`."""
        self._zone_steps: np.ndarray | None = None  # (n_steps, n_envs)
        self._pending_zone: np.ndarray | None = None
        self.labels: np.ndarray | None = None
        self._expert: ExpertDriver | None = None
        self._steps: np.ndarray | None = None  # (n_steps, n_envs, 2) of the rollout
        self._pending: np.ndarray | None = None  # the expert's action for the current frames

    def _on_training_start(self) -> None:
        super()._on_training_start()
        require_continuous_actions(self.model.action_space, "the env", "the expert term")
        # The SB3 VecEnv under any wrappers (VecNormalize, VecMonitor): its world is the
        # one the rollout's frames come from.
        self._expert = ExpertDriver(self.training_env.unwrapped)
        buffer = self.model.rollout_buffer
        self._steps = np.zeros((buffer.buffer_size, buffer.n_envs, 2), np.float32)
        if self.stop_zone_m:
            require_town(self._expert.world, "stop_zone_m")
        space = self.model.observation_space
        if self.student_weights and not (isinstance(space, spaces.Dict) and "nav" in space.spaces):
            raise ValueError(
                f"student_weights = True needs the speed of a 'nav' observation "
                f"(observation='rgb+nav'); the env's observation space is {space!r}"
            )
        if self.hands_over:
            self._zone_steps = np.zeros((buffer.buffer_size, buffer.n_envs), bool)
            # Normalised here, without the zone. A run from a config already has it off
            # (the expert_term extension writes normalize_advantage: false); a callback
            # used on its own turns it off here.
            self.model.normalize_advantage = False

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
        self._pending_zone = self._zone_now()

    def _zone_now(self) -> np.ndarray | None:
        if not self.hands_over:
            return None
        assert self._expert is not None
        world = self._expert.world
        zone = np.zeros(world.batch_size, bool)
        if self.stop_zone_m:
            zone |= approaching_stop_sign(world, self.stop_zone_m)
        if self.slow_mps:
            zone |= world.car.speed_mps < self.slow_mps
        return zone

    def _on_step(self) -> bool:
        # SB3 calls this after ``env.step`` and before it adds the frames it acted on to
        # the buffer at ``buffer.pos``: those frames' label is the pending one. The world
        # is now at the new frames (a finished world already reset, as its frame shows).
        assert self._steps is not None
        self._steps[self.model.rollout_buffer.pos] = self._pending
        self._pending = self._expert_actions()
        if self._zone_steps is not None:
            self._zone_steps[self.model.rollout_buffer.pos] = self._pending_zone
            self._pending_zone = self._zone_now()
        return True

    def _on_rollout_end(self) -> None:
        # SB3 has computed the advantages (n_steps, n_envs); another pull may have
        # flattened the buffer already (world-major rows, the order of ``labels``).
        assert self._steps is not None
        self.labels = self._steps.swapaxes(0, 1).reshape(-1, 2).copy()
        if self._zone_steps is not None:
            self.zone = self._zone_steps.swapaxes(0, 1).reshape(-1).copy()
            buffer = self.model.rollout_buffer
            flat = buffer.generator_ready
            zone = self.zone.reshape(buffer.advantages.shape) if flat else self._zone_steps
            _hand_over(buffer.advantages, zone)
            self.logger.record("train/stop_zone_fraction", float(self.zone.mean()))
        super()._on_rollout_end()

    def draw_rows(self, n: int, size: int) -> np.ndarray:
        if self.zone is None or not self.zone.any():
            return super().draw_rows(n, size)
        # Half from the handed-over frames (all of them when fewer), the rest from the others.
        zone, other = np.flatnonzero(self.zone), np.flatnonzero(~self.zone)
        k = max(min(len(zone), size // 2), size - len(other))
        picked = [
            self._rng.choice(zone, k, replace=False),
            self._rng.choice(other, size - k, replace=False),
        ]
        return np.concatenate(picked)

    def targets(self, observations: Any, rows: np.ndarray) -> torch.Tensor:
        assert self.labels is not None
        return torch.as_tensor(self.labels[rows])

    def error(self, mean: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return (mean - target).abs()

    def element_weights(self, observations: Any, rows: np.ndarray) -> torch.Tensor | None:
        if not self.student_weights:
            return None
        assert self.labels is not None
        # The student's loss (roadgym.agents.imitation.bc): steer x 2, and the throttle of
        # the frames where the expert brakes hard while moving or pulls away x 5; scaled to
        # mean 1, so that ``coef`` keeps its size.
        transition = transition_mask(observations["nav"].cpu().numpy(), self.labels[rows][:, 1])
        w = np.stack(
            [
                np.full(len(rows), STEER_WEIGHT, np.float32),
                np.where(transition, TRANSITION_WEIGHT, 1.0).astype(np.float32),
            ],
            axis=1,
        )
        return torch.as_tensor(w / w.mean())


def require_town(world: Any, what: str = "stop_zone_m") -> None:
    """Refuse the stop-sign handover (``what``) on a world without stop signs (Town only)."""
    if not isinstance(world, TownWorld):
        raise ValueError(
            f"{what} needs roadgym/Town-v0 (stop signs); the env's world is a "
            f"{type(world).__name__}"
        )


ExpertRegulariser = ExpertTermCallback
"""Deprecated name of :class:`ExpertTermCallback`."""


def _hand_over(advantages: np.ndarray, zone: np.ndarray) -> None:
    """Advantages in place (``zone`` of the same shape): normalised over the frames outside
    ``zone``, zero inside it, so that PPO's update leaves the policy's actions there alone."""
    free = ~zone
    if free.sum() > 1:
        values = advantages[free]
        advantages[free] = (values - values.mean()) / (values.std() + 1e-8)
    advantages[zone] = 0.0
