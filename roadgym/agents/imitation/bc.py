"""Behaviour cloning epochs: fit the student's actions and perception heads to the data.

The loss is the mean absolute (or squared) error between the student's action means and
the expert's actions (steer and throttle weighted separately), plus ``aux_weight`` times
the mean cross-entropy of the perception heads against the simulator's labels. One loss trains
the encoder, the ``nav`` layer, the policy's actor head and the perception heads.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch
from stable_baselines3.common.policies import ActorCriticPolicy
from torch.nn import functional as F

from roadgym.agents.imitation.collect import RoundData
from roadgym.agents.imitation.student import student_forward

__all__ = ["BCSettings", "fit_student", "action_errors"]


@dataclasses.dataclass(frozen=True)
class BCSettings:
    """How the student is fitted each round."""

    epochs: int = 3
    """Passes over the aggregated data per round."""
    batch_size: int = 256
    """Frames per gradient step."""
    learning_rate: float = 1e-3
    """Adam learning rate (cosine-annealed to a tenth over the round's steps)."""
    action_loss: str = "l1"
    """'l1' (the student learns the median of the expert's actions in similar-looking
    states: a decision, brake or go) or 'mse' (their mean: a blend, such as a rolling stop
    where the expert either stops or drives on)."""
    steer_weight: float = 2.0
    """Weight of the steering error (steering mistakes end episodes; throttle ones rarely)."""
    throttle_weight: float = 1.0
    """Weight of the throttle error."""
    transition_weight: float = 5.0
    """Throttle-loss weight of the frames where the expert brakes hard while moving or
    pulls away from a standstill (about 4% of the expert's frames): the moments a stop
    line or a light decides, which an unweighted fit averages away (measured: the
    expert's -0.70 throttle into stop lines came out as -0.10). 1.0: all alike."""
    aux_weight: float = 0.2
    """Weight of the perception heads' cross-entropy against the action loss."""
    pedestrian_weight: float = 1.0
    """Weight, in the throttle loss and the perception heads' loss, of the frames with a
    pedestrian on the route ahead (label ``object_ahead`` = 2): 0.7% of the frames, and
    the cause of most of the student's pedestrian collisions, which a 1.4-pixel
    pedestrian in a 64-pixel frame makes easy to average away. 1.0: all alike."""
    stopping_weight: float = 1.0
    """Throttle-loss weight of the frames where the expert brakes at 0.3 to 2 m/s (the
    last metres into a stop, below what ``transition_weight`` covers; 6% of the frames).
    The student rolled over stop-sign lines at 0.3-0.56 m/s where it had to stand; a
    frame in both sets takes the larger weight. 1.0: all alike."""
    waiting_weight: float = 1.0
    """Throttle-loss weight of the frames where the expert stands and holds (throttle < 0)
    though no red or yellow light stops it: it waits for a pedestrian on the crosswalk,
    a car ahead or a gap. The shipped student pulled away at green with a pedestrian on
    the crosswalk ahead (the label said so and the expert held): pull-away frames weigh
    ``transition_weight``, so such a wait was outweighed. A frame in several sets takes
    the largest weight. 1.0: all alike. (Weight 5, one training seed: no better on 100
    development towns; experiments/town_student/NOTES.md.)"""
    max_samples_per_round: int | None = None
    """Cap on the frames a round trains on (drawn uniformly from all the data): keeps a
    round's cost bounded as DAgger's data grows. None: ``epochs`` full passes."""


MOVING_SPEED_FRACTION = 0.025  # of the top speed: 0.5 m/s at Town's 20 m/s
HARD_BRAKE = -0.3
PULL_AWAY = 0.2
PEDESTRIAN_AHEAD = 2  # object_ahead: 0 none, 1 vehicle, 2 pedestrian
LIGHT_NONE, LIGHT_GREEN = 0, 3  # light_state: 0 none, 1 red, 2 yellow, 3 green
STOPPING_SPEED_FRACTION = (0.015, 0.1)  # of the top speed: 0.3 to 2 m/s at Town's 20 m/s


def transition_frames(data: RoundData) -> np.ndarray:
    """(N,) bool: the expert brakes hard while moving, or pulls away from a standstill."""
    return transition_mask(data.nav, data.actions[:, 1])


def transition_mask(nav: np.ndarray, throttle: np.ndarray) -> np.ndarray:
    """(N,) bool from the stacked ``nav`` observations (N, ...) and the expert's throttle
    (N,): hard braking while moving, or pulling away from a standstill.

    The newest speed is the third value from the end (``nav`` is [speed, turn direction,
    turn distance] per stacked step, newest last).
    """
    speed = nav.reshape(len(nav), -1)[:, -3]
    moving = speed > MOVING_SPEED_FRACTION
    return (moving & (throttle < HARD_BRAKE)) | (~moving & (throttle > PULL_AWAY))


def stopping_frames(data: RoundData) -> np.ndarray:
    """(N,) bool: the expert brakes (throttle < 0) at 0.3 to 2 m/s, the last metres into a
    stop (the newest speed of the stacked ``nav``, as in :func:`transition_mask`)."""
    speed = data.nav.reshape(len(data.nav), -1)[:, -3]
    low, high = STOPPING_SPEED_FRACTION
    return (speed > low) & (speed < high) & (data.actions[:, 1] < 0.0)


def waiting_frames(data: RoundData) -> np.ndarray:
    """(N,) bool: the expert holds (throttle < 0) at a standstill (the newest speed of the
    stacked ``nav``, as in :func:`transition_mask`) with no red or yellow light ahead
    (label ``light_state`` 0 none or 3 green); all False without that label."""
    lights = data.labels.get("light_state")
    if lights is None:
        return np.zeros(len(data), dtype=bool)
    speed = data.nav.reshape(len(data.nav), -1)[:, -3]
    free = (lights == LIGHT_NONE) | (lights == LIGHT_GREEN)
    return (speed <= MOVING_SPEED_FRACTION) & (data.actions[:, 1] < 0.0) & free


def pedestrian_frames(data: RoundData) -> np.ndarray:
    """(N,) bool: a pedestrian is the first thing on the route ahead (label ``object_ahead``
    = 2); all False when the data carry no such label."""
    labels = data.labels.get("object_ahead")
    if labels is None:
        return np.zeros(len(data), dtype=bool)
    return labels == PEDESTRIAN_AHEAD


def _batches(n: int, batch_size: int, num_batches: int, rng: np.random.Generator):
    """``num_batches`` index batches, each pass over the data a fresh permutation."""
    per_pass = max(n // batch_size, 1)
    for k in range(num_batches):
        if k % per_pass == 0:
            order = rng.permutation(n)
        start = (k % per_pass) * batch_size
        yield np.sort(order[start : start + batch_size])  # sorted: faster gathers


def fit_student(
    policy: ActorCriticPolicy,
    data: RoundData,
    settings: BCSettings,
    rng: np.random.Generator,
    progress: bool = False,
) -> dict[str, float]:
    """Train ``policy`` on ``data`` (``settings.epochs`` passes, capped by
    ``max_samples_per_round``); the mean losses of the last pass's worth of batches."""
    device = policy.device
    policy.train()
    params = [p for p in policy.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(params, lr=settings.learning_rate)
    samples = settings.epochs * len(data)
    if settings.max_samples_per_round is not None:
        samples = min(samples, settings.max_samples_per_round)
    total = max(samples // settings.batch_size, 1)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(
        optimizer, T_max=total, eta_min=settings.learning_rate / 10
    )
    frames = torch.from_numpy(data.frames)  # (N, H, W, 3) uint8, shared memory
    nav = torch.from_numpy(data.nav)
    actions = torch.from_numpy(data.actions)
    labels = {task: torch.from_numpy(v) for task, v in data.labels.items()}
    pedestrian_weights = torch.from_numpy(
        np.where(pedestrian_frames(data), settings.pedestrian_weight, 1.0).astype(np.float32)
    )
    action_weights = np.maximum(
        np.where(transition_frames(data), settings.transition_weight, 1.0),
        np.where(stopping_frames(data), settings.stopping_weight, 1.0),
    )
    if settings.waiting_weight != 1.0:
        waiting = np.where(waiting_frames(data), settings.waiting_weight, 1.0)
        action_weights = np.maximum(action_weights, waiting)
    frame_weights = pedestrian_weights * torch.from_numpy(action_weights.astype(np.float32))
    batches = _batches(len(data), settings.batch_size, total, rng)
    if progress:
        from tqdm.auto import tqdm

        batches = tqdm(batches, total=total, desc="behaviour cloning", unit="batch", leave=False)
    # Losses are averaged over the last pass's worth of batches (the last "epoch").
    window = max(len(data) // settings.batch_size, 1)
    sums = {"loss": 0.0, "action_mse": 0.0, "aux_ce": 0.0}
    count = 0
    for step, index in enumerate(batches):
        if step % window == 0:
            sums = {"loss": 0.0, "action_mse": 0.0, "aux_ce": 0.0}
            count = 0
        idx = torch.from_numpy(index)
        mean, _, logits = student_forward(policy, frames[idx].to(device), nav[idx].to(device))
        target = actions[idx].to(device)
        error = mean - target  # (B, 2)
        error = error.abs() if settings.action_loss == "l1" else error.square()
        # The transition weight is the throttle's: steering is fitted on every frame alike.
        w = frame_weights[idx].to(device)  # (B,)
        steer_loss = error[:, 0].mean()
        throttle_loss = (error[:, 1] * w).sum() / w.sum()
        action_loss = 0.5 * (
            settings.steer_weight * steer_loss + settings.throttle_weight * throttle_loss
        )
        p = pedestrian_weights[idx].to(device)
        aux_loss = sum(
            (
                F.cross_entropy(logits[task], labels[task][idx].to(device), reduction="none") * p
            ).sum()
            / p.sum()
            for task in logits
        ) / max(len(logits), 1)
        loss = action_loss + settings.aux_weight * aux_loss
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
        sums["loss"] += float(loss.detach())
        sums["action_mse"] += float((mean.detach() - target).square().mean())
        sums["aux_ce"] += float(aux_loss.detach())
        count += 1
    policy.eval()
    return {k: v / max(count, 1) for k, v in sums.items()}


@torch.no_grad()
def action_errors(policy: ActorCriticPolicy, data: RoundData, batch_size: int = 512) -> dict:
    """Mean absolute steer and throttle error and perception accuracy of ``policy`` on ``data``."""
    policy.eval()
    errors = np.zeros(2)
    correct: dict[str, int] = {}
    for start in range(0, len(data), batch_size):
        sl = slice(start, start + batch_size)
        mean, _, logits = student_forward(
            policy,
            torch.from_numpy(data.frames[sl]).to(policy.device),
            torch.from_numpy(data.nav[sl]).to(policy.device),
        )
        clipped = mean.clamp(-1.0, 1.0).cpu().numpy()
        errors += np.abs(clipped - data.actions[sl]).sum(axis=0)
        for task, logit in logits.items():
            hits = (logit.argmax(1).cpu().numpy() == data.labels[task][sl]).sum()
            correct[task] = correct.get(task, 0) + int(hits)
    n = max(len(data), 1)
    out = {"steer_mae": errors[0] / n, "throttle_mae": errors[1] / n}
    out.update({f"{task}_accuracy": hits / n for task, hits in correct.items()})
    return out
