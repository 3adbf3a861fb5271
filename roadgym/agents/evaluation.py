"""One evaluator for trained models and the privileged expert.

:func:`evaluate_policy_on_seeds` plays one episode per held-out seed, several worlds at a
time, and returns an :class:`EvaluationReport` of per-episode driving metrics (see
:mod:`roadgym.agents.metrics`) with their mean and std, as a table or as JSON.

A policy is anything with SB3's batched ``predict(observations, state, episode_start,
deterministic) -> (actions, state)``; a trained SB3 model is one as is, and
:class:`ExpertPolicy` turns the per-env expert driver into one.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from stable_baselines3.common.vec_env import VecEnv

from roadgym.agents.environments import held_out_seeds, make_eval_vec_env
from roadgym.agents.metrics import EpisodeMetrics, summarize
from roadgym.perception.atomic import atomic_write_json

__all__ = [
    "BatchPolicy",
    "EvaluationReport",
    "ExpertPolicy",
    "evaluate_policy_on_seeds",
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


class BatchPolicy(Protocol):
    """What the evaluator drives with: SB3's ``predict`` on a batch of observations."""

    def predict(
        self,
        observation: Any,
        state: Any = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = False,
    ) -> tuple[np.ndarray, Any]: ...


class ExpertPolicy:
    """The privileged expert (``roadgym.drivers.expert.ExpertDriver``) as a batch policy.

    The expert reads each env's simulator state, so it needs the envs themselves: one
    driver per sub-env of ``venv``.
    """

    def __init__(self, venv: VecEnv) -> None:
        try:
            from roadgym.drivers.expert import ExpertDriver
        except ImportError as error:
            raise RuntimeError(
                "the expert driver (roadgym.drivers.expert.ExpertDriver) is not available "
                f"in this roadgym: {error}"
            ) from error
        envs = getattr(venv.unwrapped, "envs", None)
        if envs is None:
            raise TypeError("ExpertPolicy needs a DummyVecEnv-like VecEnv with .envs")
        self.drivers = [ExpertDriver(env) for env in envs]

    def predict(
        self,
        observation: Any,
        state: Any = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = True,
    ) -> tuple[np.ndarray, Any]:
        """One action per sub-env from its expert driver."""
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
    if len(seeds) == 0:
        raise ValueError("seeds is empty; allowed: one or more ints")
    start = time.perf_counter()
    venv, per_env = make_eval_vec_env(
        env_id,
        seeds,
        env_kwargs,
        n_envs=n_envs,
        frame_stack=frame_stack,
        render_mode="rgb_array" if record_first_episode else None,
    )
    try:
        # A class (ExpertPolicy) or a function is a factory; an instance is the policy.
        is_factory = isinstance(policy, type) or not hasattr(policy, "predict")
        batch_policy = policy(venv) if is_factory else policy
        tracker = EpisodeMetrics(venv.num_envs)
        results: list[list[dict[str, float]]] = [[] for _ in per_env]
        recording = record_first_episode
        frames: list[np.ndarray] = []
        observations = venv.reset()
        if recording:
            frames.append(_render_first(venv))
        state = None
        episode_start = np.ones(venv.num_envs, dtype=bool)
        while any(len(done) < len(todo) for done, todo in zip(results, per_env, strict=True)):
            model_input = (
                normalize_observation(observations) if normalize_observation else observations
            )
            actions, state = batch_policy.predict(
                model_input, state=state, episode_start=episode_start, deterministic=deterministic
            )
            observations, rewards, dones, infos = venv.step(actions)
            episode_start = dones
            for index, metrics in tracker.update(rewards, dones, infos):
                if len(results[index]) < len(per_env[index]):
                    results[index].append(metrics)
            if recording:
                # After a done the VecEnv has already reset env 0: that frame is a new track.
                if dones[0] or len(frames) >= max_video_frames:
                    recording = False
                else:
                    frames.append(_render_first(venv))
    finally:
        venv.close()
    # Report episodes in the caller's seed order, not the round-robin order of the envs.
    played = [
        (seed, metrics)
        for env_seeds, env_results in zip(per_env, results, strict=True)
        for seed, metrics in zip(env_seeds, env_results, strict=True)
    ]
    rank = {}
    for i, seed in enumerate(seeds):
        rank.setdefault(seed, i)
    played.sort(key=lambda item: rank[item[0]])
    return EvaluationReport(
        env_id=env_id,
        seeds=[seed for seed, _ in played],
        episodes=[metrics for _, metrics in played],
        wall_s=time.perf_counter() - start,
        agent=agent_name,
        frames=frames if record_first_episode else None,
    )


def _render_first(venv: VecEnv) -> np.ndarray:
    return venv.unwrapped.envs[0].render()
