"""One evaluator for trained models and the privileged expert.

:func:`evaluate_policy_on_seeds` plays one episode per held-out seed with
:func:`roadgym.agents.episodes.play_seeds` (several worlds at a time in one batched
simulator) and returns an :class:`EvaluationReport` of per-episode driving metrics (see
:mod:`roadgym.agents.metrics`) with their mean and std, as a table or as JSON.

A policy is anything with SB3's batched ``predict(observations, state, episode_start,
deterministic) -> (actions, state)``; a trained SB3 model is one as is, and
:class:`ExpertPolicy` turns the expert driver into one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from stable_baselines3.common.vec_env import VecEnv

from roadgym.agents.episodes import BatchPolicy, play_seeds
from roadgym.agents.metrics import summarize
from roadgym.envs.seeds import held_out_seeds
from roadgym.perception.atomic import atomic_write_json

__all__ = [
    "BatchPolicy",
    "EvaluationReport",
    "ExpertPolicy",
    "evaluate_policy_on_seeds",
    "expert_final_infos",
    "held_out_seeds",
]

# Metrics printed first in tables, when present; the rest follow alphabetically.
HEADLINE_METRICS = (
    "progress",
    "lap_completed",
    "route_completion",
    "success",
    "driving_score",
    "off_road",
    "collisions_vehicle",
    "collisions_pedestrian",
    "red_light_violations",
    "mean_speed_mps",
    "return",
    "length",
)


class ExpertPolicy:
    """The privileged expert (:class:`roadgym.drivers.expert.ExpertDriver`) as a batch policy.

    The expert reads the simulator's state, so it is built from the VecEnv it drives (pass
    the class itself to :func:`evaluate_policy_on_seeds`, which calls it with the VecEnv):
    one driver for a batched roadgym VecEnv, one per sub-env of a ``DummyVecEnv``.
    """

    def __init__(self, venv: VecEnv) -> None:
        from roadgym.drivers.expert import ExpertDriver

        envs = getattr(venv.unwrapped, "envs", None)
        self.drivers = (
            [ExpertDriver(env) for env in envs] if envs is not None else [ExpertDriver(venv)]
        )

    def predict(
        self,
        observation: Any,
        state: Any = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = True,
    ) -> tuple[np.ndarray, Any]:
        """One action per world from the expert."""
        if len(self.drivers) == 1 and not self.drivers[0].single:
            return self.drivers[0].predict(observation)[0], None
        actions = []
        for index, driver in enumerate(self.drivers):
            single = (
                {key: value[index] for key, value in observation.items()}
                if isinstance(observation, Mapping)
                else observation[index]
            )
            actions.append(driver.predict(single)[0])
        return np.stack(actions), None


@dataclasses.dataclass
class EvaluationReport:
    """Per-episode metrics of one evaluation, and their summary."""

    env_id: str
    """Gymnasium id of the evaluated env."""
    seeds: list[int]
    """Held-out seed of each episode, in the order of ``episodes``."""
    episodes: list[dict[str, float]]
    """Metrics of each episode (``return``, ``length``, ``progress``, ``off_road`` ...)."""
    wall_s: float = 0.0
    """Wall-clock seconds the evaluation took."""
    agent: str = ""
    """What was evaluated (a model path or 'expert')."""
    frames: list[np.ndarray] | None = dataclasses.field(default=None, repr=False)
    """``render`` frames of the first episode when recording was asked for."""

    @property
    def summary(self) -> dict[str, dict[str, float]]:
        """``{metric: {mean, std, min, max}}`` over the episodes."""
        return summarize(self.episodes)

    def mean(self, metric: str) -> float:
        """Mean of one metric over the episodes (KeyError when no episode has it)."""
        return self.summary[metric]["mean"]

    def to_json(self) -> dict[str, Any]:
        """Plain data: summary, then every episode with its seed."""
        return {
            "agent": self.agent,
            "env_id": self.env_id,
            "n_episodes": len(self.episodes),
            "wall_s": round(self.wall_s, 3),
            "summary": self.summary,
            "episodes": [
                {"seed": seed, **episode}
                for seed, episode in zip(self.seeds, self.episodes, strict=True)
            ],
        }

    def write_json(self, path: str | Path) -> Path:
        """Write :meth:`to_json` atomically."""
        return atomic_write_json(path, self.to_json())

    def table(self) -> str:
        """A fixed-width table: metric, mean, std, min, max."""
        summary = self.summary
        names = [m for m in HEADLINE_METRICS if m in summary]
        names += sorted(m for m in summary if m not in names)
        width = max(len(name) for name in names) if names else 6
        lines = [
            f"{self.agent or 'agent'} on {self.env_id}: {len(self.episodes)} episodes "
            f"(seeds {self.seeds[0]}..{self.seeds[-1]})",
            f"{'metric':<{width}}  {'mean':>9}  {'std':>9}  {'min':>9}  {'max':>9}",
        ]
        for name in names:
            row = summary[name]
            lines.append(
                f"{name:<{width}}  {row['mean']:9.3f}  {row['std']:9.3f}  "
                f"{row['min']:9.3f}  {row['max']:9.3f}"
            )
        return "\n".join(lines)


def evaluate_policy_on_seeds(
    policy: BatchPolicy | Callable[[VecEnv], BatchPolicy],
    env_id: str,
    seeds: Sequence[int],
    *,
    env_kwargs: Mapping[str, Any] | None = None,
    frame_stack: int = 1,
    n_envs: int = 8,
    deterministic: bool = True,
    normalize_observation: Callable[[Any], Any] | None = None,
    record_first_episode: bool = False,
    max_video_frames: int = 400,
    agent_name: str = "",
) -> EvaluationReport:
    """Play one episode per seed and return the driving metrics of each.

    :param policy: a batch policy (e.g. an SB3 model), or a factory called with the
        evaluation VecEnv (e.g. :class:`ExpertPolicy`).
    :param seeds: one held-out seed per episode (see :func:`held_out_seeds`).
    :param env_kwargs: env config fields; must match what the policy was trained on.
    :param frame_stack: ``VecFrameStack`` depth the policy expects (1: none).
    :param n_envs: episodes played at the same time (batched ``predict`` calls).
    :param normalize_observation: applied to observations before ``predict``
        (``VecNormalize.normalize_obs`` of a model trained with ``norm_obs``).
    :param record_first_episode: keep the ``rgb_array`` frames of the first seed's episode.
    """
    played = play_seeds(
        policy,
        env_id,
        seeds,
        env_kwargs=env_kwargs,
        n_envs=n_envs,
        frame_stack=frame_stack,
        deterministic=deterministic,
        normalize_observation=normalize_observation,
        record_first_episode=record_first_episode,
        max_video_frames=max_video_frames,
    )
    return EvaluationReport(
        env_id=env_id,
        seeds=[episode.seed for episode in played.episodes],
        episodes=[episode.metrics for episode in played.episodes],
        wall_s=played.wall_s,
        agent=agent_name,
        frames=played.frames,
    )


def expert_final_infos(
    env_id: str, seeds: Sequence[int], num_envs: int = 32, **config: Any
) -> list[dict[str, Any]]:
    """The expert's episode on each seed: the scalars of its last ``info`` and ``steps``.

    ``config`` holds env config fields. The same loop as :func:`evaluate_policy_on_seeds`,
    for tables of the env's own end-of-episode counters (``roadgym expert-table``).
    """
    played = play_seeds(ExpertPolicy, env_id, seeds, env_kwargs=config, n_envs=num_envs)
    return [
        {**episode.final_info, "steps": int(episode.metrics["length"])}
        for episode in played.episodes
    ]
