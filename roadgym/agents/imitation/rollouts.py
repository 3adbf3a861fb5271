"""Batched episodes of a student: its actor function and one episode per seed.

Selection during imitation plays every selection seed at once in one native vector
env (one batched forward per step), far faster than the per-env evaluator; the final
held-out numbers come from :func:`roadgym.agents.evaluation.evaluate_policy_on_seeds`,
the same evaluator ``roadgym evaluate`` uses.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from gymnasium.vector import AutoresetMode
from stable_baselines3.common.policies import ActorCriticPolicy

from roadgym.agents.imitation.student import student_forward

__all__ = ["policy_final_infos", "student_actor"]


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


def policy_final_infos(
    env_id: str,
    seeds: Sequence[int],
    act: Callable[[dict[str, np.ndarray]], np.ndarray],
    env_kwargs: Mapping[str, Any] | None = None,
    num_envs: int = 32,
) -> list[dict[str, Any]]:
    """One episode per seed, ``num_envs`` worlds at a time; the last info of each.

    World ``i`` of a chunk is reset with ``seeds[i]``, so each plays exactly the episode a
    single env reset with that seed would. Episodes end on termination or the
    registered ``max_episode_steps``.
    """
    results: list[dict[str, Any]] = []
    for start in range(0, len(seeds), num_envs):
        chunk = list(seeds[start : start + num_envs])
        envs = gym.make_vec(
            env_id,
            num_envs=len(chunk),
            vectorization_mode="vector_entry_point",
            autoreset_mode=AutoresetMode.SAME_STEP,
            **dict(env_kwargs or {}),
        )
        observations, _ = envs.reset(seed=chunk)
        final: list[dict[str, Any] | None] = [None] * len(chunk)
        while any(f is None for f in final):
            observations, _, terminated, truncated, infos = envs.step(act(observations))
            for i in np.flatnonzero(terminated | truncated):
                if final[i] is None:  # later episodes of a world are not counted
                    last = infos["final_info"]
                    final[i] = {
                        k: v[i].item()
                        for k, v in last.items()
                        if not k.startswith("_") and k != "labels"
                    }
        envs.close()
        results.extend(final)  # type: ignore[arg-type]
    return results
