"""Batched episodes of a student: its actor function and one episode per seed.

Selection during imitation plays the selection seeds with
:func:`roadgym.agents.episodes.play_seeds`, the loop ``roadgym evaluate`` uses, with a
whole round of worlds in one batch (one batched forward per step).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch
from stable_baselines3.common.policies import ActorCriticPolicy

from roadgym.agents.episodes import play_seeds
from roadgym.agents.imitation.student import student_forward

__all__ = ["ActorPolicy", "policy_final_infos", "student_actor"]


def student_actor(policy: ActorCriticPolicy) -> Callable[[dict[str, np.ndarray]], np.ndarray]:
    """Deterministic actions (B, 2) float32 of ``policy`` for a batch of observations."""

    @torch.no_grad()
    def act(observations: dict[str, np.ndarray]) -> np.ndarray:
        policy.eval()
        mean, _, _ = student_forward(
            policy,
            torch.from_numpy(observations["rgb"]).to(policy.device),
            torch.from_numpy(observations["nav"]).to(policy.device),
        )
        return mean.clamp(-1.0, 1.0).cpu().numpy().astype(np.float32)

    return act


class ActorPolicy:
    """A function of a batch of observations to actions, as a batch policy (SB3's
    ``predict``)."""

    def __init__(self, act: Callable[[dict[str, np.ndarray]], np.ndarray]) -> None:
        self.act = act

    def predict(
        self,
        observation: dict[str, np.ndarray],
        state: Any = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = True,
    ) -> tuple[np.ndarray, None]:
        """``act(observation)``; the student is deterministic."""
        return self.act(observation), None


def policy_final_infos(
    env_id: str,
    seeds: Sequence[int],
    act: Callable[[dict[str, np.ndarray]], np.ndarray],
    env_kwargs: Mapping[str, Any] | None = None,
    num_envs: int = 32,
) -> list[dict[str, Any]]:
    """One episode per seed, ``num_envs`` worlds at a time; the last info's scalars of each.

    Each world plays exactly the episode a single env reset with its seed would;
    episodes end on termination or the registered ``max_episode_steps``.
    """
    played = play_seeds(ActorPolicy(act), env_id, seeds, env_kwargs=env_kwargs, n_envs=num_envs)
    return [episode.final_info for episode in played.episodes]
