"""Per-episode driving metrics gathered from the ``info`` dicts of a VecEnv.

One tracker serves training (TensorBoard scalars) and evaluation (tables, JSON), so the
two always agree on what "off-road rate" or "lap completion" means. The rules are
generic, so Town-v0's keys (collisions, red-light violations, route completion) are
picked up without code here:

- a bool key (``off_road``, ``lap_completed``, ``collision`` ...) becomes "did it ever
  happen in the episode" (averaged over episodes: a rate);
- ``speed_mps`` becomes ``mean_speed_mps`` and ``lateral_offset_m`` becomes
  ``mean_abs_lateral_offset_m`` (averages over the episode's steps);
- any other number (``progress``, ``route_completion``, counters) keeps its value at the
  episode's last step.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["EpisodeMetrics", "summarize"]

# Keys of SB3 and gymnasium bookkeeping, not driving.
_IGNORED_KEYS = {"terminal_observation", "episode", "TimeLimit.truncated", "labels", "_final_info"}
_MEAN_KEYS = {"speed_mps": "mean_speed_mps"}
_MEAN_ABS_KEYS = {"lateral_offset_m": "mean_abs_lateral_offset_m"}


class EpisodeMetrics:
    """Accumulates the steps of ``n_envs`` parallel episodes and emits finished ones.

    :param n_envs: number of envs in the VecEnv whose steps are fed to :meth:`update`.
    """

    def __init__(self, n_envs: int) -> None:
        if n_envs < 1:
            raise ValueError(f"n_envs = {n_envs}; allowed: an int >= 1")
        self.n_envs = n_envs
        self._episodes = [_Episode() for _ in range(n_envs)]

    def update(
        self,
        rewards: Sequence[float] | np.ndarray,
        dones: Sequence[bool] | np.ndarray,
        infos: Sequence[Mapping[str, Any]],
    ) -> list[tuple[int, dict[str, float]]]:
        """Feed one VecEnv step; return ``(env index, metrics)`` of every episode that ended."""
        finished = []
        for index in range(self.n_envs):
            episode = self._episodes[index]
            episode.add(float(rewards[index]), infos[index])
            if dones[index]:
                finished.append((index, episode.metrics()))
                self._episodes[index] = _Episode()
        return finished

    def reset(self) -> None:
        """Forget the episodes in progress (after a VecEnv reset)."""
        self._episodes = [_Episode() for _ in range(self.n_envs)]


class _Episode:
    def __init__(self) -> None:
        self.episode_return = 0.0
        self.length = 0
        self.ever: dict[str, bool] = {}
        self.sums: dict[str, float] = {}
        self.last: dict[str, float] = {}

    def add(self, reward: float, info: Mapping[str, Any]) -> None:
        self.episode_return += reward
        self.length += 1
        for key, value in info.items():
            if key in _IGNORED_KEYS:
                continue
            if isinstance(value, (bool, np.bool_)):
                self.ever[key] = self.ever.get(key, False) or bool(value)
            elif isinstance(value, (int, float, np.integer, np.floating)):
                number = float(value)
                if not math.isfinite(number):
                    continue
                if key in _MEAN_KEYS:
                    self.sums[_MEAN_KEYS[key]] = self.sums.get(_MEAN_KEYS[key], 0.0) + number
                elif key in _MEAN_ABS_KEYS:
                    name = _MEAN_ABS_KEYS[key]
                    self.sums[name] = self.sums.get(name, 0.0) + abs(number)
                else:
                    self.last[key] = number

    def metrics(self) -> dict[str, float]:
        result = {"return": self.episode_return, "length": float(self.length)}
        result.update({key: float(value) for key, value in self.ever.items()})
        result.update({key: value / max(self.length, 1) for key, value in self.sums.items()})
        result.update(self.last)
        return result


def summarize(episodes: Iterable[Mapping[str, float]]) -> dict[str, dict[str, float]]:
    """``{metric: {"mean", "std", "min", "max"}}`` over episodes (keys any episode has)."""
    episodes = list(episodes)
    keys: list[str] = []
    for episode in episodes:
        keys.extend(key for key in episode if key not in keys)
    summary = {}
    for key in keys:
        values = np.array([episode[key] for episode in episodes if key in episode], dtype=float)
        summary[key] = {
            "mean": float(values.mean()),
            "std": float(values.std()),
            "min": float(values.min()),
            "max": float(values.max()),
        }
    return summary
