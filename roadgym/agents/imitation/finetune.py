"""PPO from a pixel student: start from its weights, and keep near it early on.

``roadgym train --init-from runs/imitate/student.zip`` (run config ``init_from``) builds
PPO with the student's architecture and env settings (``observation='rgb+nav'``) and
copies the student's weights in. The ``student_pull`` extension
(:class:`roadgym.agents.extensions.StudentPull`) adds :class:`StudentPullCallback`: after
PPO's update of each rollout, a few gradient steps that pull the policy's action means
towards the frozen student's on the rollout's observations (:class:`~roadgym.agents.
imitation.pull.ActionPull`). For two Gaussians of the same std this is their KL
divergence up to a constant factor; its weight falls linearly to zero over
``decay_steps`` (or stays, with ``decay_steps`` null), leaving plain PPO afterwards.

A student's value head was never trained (imitation learns actions, not returns), so
PPO's first advantages are noise, and with the encoder shared between actor and critic
the value loss rewrites the features the student drives with. Two remedies:
the ``critic_warmup`` extension (:class:`CriticWarmupCallback`: the first N env steps
train the critic only, the actor's weights stay put) and ``--set
policy_kwargs.share_features_extractor=false`` (the critic gets its own copy of the
student's encoder, so the value loss never reaches the actor's).

PPO explores with the policy's Gaussian, and a student's std (``log_std`` -1.6: 0.2 in
action units) is wide enough to change how it drives: sampled, the shipped student runs
several times as many stop signs as its mean does (a full stop needs a speed under
0.3 m/s before the line). ``--set action_std=S`` (:func:`fix_action_std`) fixes the std
at ``S`` for the run, so the rollouts PPO learns from drive like the policy it is scored on.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml
from stable_baselines3 import PPO
from stable_baselines3.common.callbacks import BaseCallback

from roadgym.agents.imitation.pull import ActionPull
from roadgym.agents.imitation.student import StudentExtractor
from roadgym.agents.model_zip import load_sb3_model, model_spaces, read_model_zip

__all__ = [
    "CriticWarmup",
    "CriticWarmupCallback",
    "StudentPullCallback",
    "StudentRegulariser",
    "fix_action_std",
    "load_student",
    "student_env_id",
    "student_env_kwargs",
]


def load_student(path: str | Path, device: str = "cpu") -> PPO:
    """The student PPO zip at ``path``; a clear error when it is not a student."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"init_from = {str(path)!r}: no such student file")
    model_zip = read_model_zip(path)
    if model_zip.algo() != "ppo":
        raise ValueError(
            f"init_from = {str(path)!r} is a {model_zip.algo().upper()} model, not a roadgym "
            "student; pass a student.zip from `roadgym imitate`"
        )
    # Nothing in the zip is unpickled: its spaces come from the env the student drives.
    spaces = model_spaces(student_env_id(path), student_env_kwargs(path))
    model = load_sb3_model(model_zip, algo="ppo", space_pair=spaces, device=device)
    if not isinstance(model.policy.features_extractor, StudentExtractor):
        raise ValueError(
            f"init_from = {str(path)!r} is a PPO model but not a roadgym student (its features "
            f"extractor is {type(model.policy.features_extractor).__name__}); pass a student.zip "
            "from `roadgym imitate`"
        )
    return model


def student_env_id(path: str | Path) -> str:
    """The env a student drives: the ``config.yaml`` beside it, else its JSON card, else
    ``roadgym/Town-v0``."""
    config = Path(path).with_name("config.yaml")
    if config.is_file():
        document = yaml.safe_load(config.read_text(encoding="utf-8")) or {}
        if isinstance(document, dict) and document.get("env_id"):
            return str(document["env_id"])
    if Path(path).with_suffix(".json").is_file():
        from roadgym.agents.pretrained import read_card

        return str(read_card(path).get("env_id", "roadgym/Town-v0"))
    return "roadgym/Town-v0"


def student_env_kwargs(path: str | Path) -> dict[str, Any]:
    """The env config fields a student drives with: from the ``config.yaml`` beside it
    (``roadgym imitate``'s run dir), else from the JSON card beside it (a shipped model,
    ``roadgym/agents/pretrained/NAME.json``)."""
    config = Path(path).with_name("config.yaml")
    card = Path(path).with_suffix(".json")
    if not config.is_file() and card.is_file():
        from roadgym.agents.pretrained import read_card

        return dict(read_card(path)["env_kwargs"])
    if not config.is_file():
        return {"observation": "rgb+nav"}
    document = yaml.safe_load(config.read_text(encoding="utf-8")) or {}
    entry = document.get(document.get("env_id", ""), {})
    return dict(entry.get("env_kwargs") or {"observation": "rgb+nav"})


class StudentPullCallback(ActionPull):
    """The student pull: PPO's action means towards a frozen student's, with a weight
    that may decay to 0 (the ``student_pull`` extension's callback).

    :param student: the student PPO model (copied and frozen here).
    :param coef: the weight at the start; it falls linearly to 0 at ``decay_steps``.
    :param decay_steps: env steps over which the weight decays; None: no decay.
    :param steps_per_rollout: gradient steps per rollout (after PPO's update of it).
    :param batch_size: observations per gradient step, drawn from the rollout buffer.
    """

    loss_name = "student_pull_loss"
    weight_name = "student_pull_weight"

    def __init__(
        self,
        student: PPO,
        coef: float = 1.0,
        decay_steps: int | None = 100_000,
        steps_per_rollout: int = 8,
        batch_size: int = 256,
        verbose: int = 0,
    ) -> None:
        super().__init__(steps_per_rollout, batch_size, verbose)
        if not coef >= 0 or (decay_steps is not None and decay_steps < 1):
            raise ValueError(
                f"coef = {coef!r}, decay_steps = {decay_steps!r}; allowed: coef >= 0, "
                "decay_steps >= 1 or None (no decay)"
            )
        self.teacher = copy.deepcopy(student.policy).requires_grad_(False).eval()
        self.coef = coef
        self.decay_steps = decay_steps

    def weight(self) -> float:
        """The current weight of the pull."""
        if self.decay_steps is None:
            return self.coef
        return self.coef * max(0.0, 1.0 - self.num_timesteps / self.decay_steps)

    def targets(self, observations: Any, rows: np.ndarray) -> torch.Tensor:
        self.teacher.to(self.model.policy.device)
        return self.teacher.get_distribution(observations).distribution.mean

    def error(self, mean: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return (mean - target).square()


class CriticWarmupCallback(BaseCallback):
    """Train only PPO's critic for the first ``warmup_timesteps`` env steps.

    Until then every parameter the critic does not use (the action head, the actor's
    layers, ``log_std``, and the features extractor when the critic shares it) has
    ``requires_grad`` off, so PPO's updates change the value function only and the policy
    that collects the rollouts stays the student. Parameters frozen before (a frozen
    encoder) stay frozen afterwards.
    """

    def __init__(self, warmup_timesteps: int, verbose: int = 0) -> None:
        super().__init__(verbose)
        if warmup_timesteps < 0:
            raise ValueError(f"warmup_timesteps = {warmup_timesteps!r}; allowed: an int >= 0")
        self.warmup_timesteps = warmup_timesteps
        self._frozen: list[torch.nn.Parameter] = []

    def _on_training_start(self) -> None:
        if self.num_timesteps >= self.warmup_timesteps:
            return
        policy = self.model.policy
        critic = [policy.value_net, policy.mlp_extractor.value_net]
        if not policy.share_features_extractor:
            critic.append(policy.vf_features_extractor)
        keep = {id(p) for module in critic for p in module.parameters()}
        self._frozen = [p for p in policy.parameters() if p.requires_grad and id(p) not in keep]
        for parameter in self._frozen:
            parameter.requires_grad_(False)

    def _on_step(self) -> bool:
        return True

    def _on_rollout_end(self) -> None:
        # Runs before the update of this rollout: from the first rollout past the
        # warm-up on, PPO trains the actor again.
        active = bool(self._frozen)
        if active and self.num_timesteps > self.warmup_timesteps:
            for parameter in self._frozen:
                parameter.requires_grad_(True)
            self._frozen = []
            active = False
        self.logger.record("train/critic_warmup", float(active))


StudentRegulariser = StudentPullCallback
"""Deprecated name of :class:`StudentPullCallback`."""
CriticWarmup = CriticWarmupCallback
"""Deprecated name of :class:`CriticWarmupCallback`."""


def fix_action_std(policy: torch.nn.Module, std: float) -> None:
    """Set the Gaussian policy's std to ``std`` (action units) for every action and stop
    training it (``log_std`` keeps ``requires_grad`` off; it is not saved in a zip, so
    call this after every load)."""
    log_std = getattr(policy, "log_std", None)
    if not isinstance(log_std, torch.nn.Parameter):
        raise ValueError(
            f"action_std = {std!r}: {type(policy).__name__} has no Gaussian log_std; "
            "allowed only for a policy with continuous actions"
        )
    if not 0.0 < std <= 1.0:
        raise ValueError(f"action_std = {std!r}; allowed: a number > 0 and <= 1")
    with torch.no_grad():
        log_std.fill_(float(np.log(std)))
    log_std.requires_grad_(False)
