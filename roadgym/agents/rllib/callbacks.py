"""Driving metrics in RLlib's results and TensorBoard, from the envs' ``info`` dicts.

Each finished episode's metrics come from roadgym's own tracker
(:class:`roadgym.agents.metrics.EpisodeMetrics`), so "laps completed" or "route
completion" mean the same as in SB3 training and in ``roadgym evaluate``. They appear in
``result["env_runners"]["driving"][name]`` (mean over the last 100 episodes per env
runner, averaged over runners) and, when the callback has a TensorBoard directory, as
``driving/<name>`` scalars at the lifetime env-step count, next to ``rollout/*``,
``train/*`` and ``time/fps``.

RLlib cuts ongoing episodes into chunks at each ``sample()``; the tracker lives in the
episode's ``custom_data``, which RLlib carries over to the next chunk.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from ray.rllib.callbacks.callbacks import RLlibCallback

from roadgym.agents.metrics import EpisodeMetrics

__all__ = ["DrivingMetricsCallback", "driving_metrics_callback", "scalars_from_result"]

_TRACKER_KEY = "roadgym_metrics"
METRICS_WINDOW = 100
"""Episodes per env runner that each reported mean covers."""


class DrivingMetricsCallback(RLlibCallback):
    """Logs per-episode driving metrics; writes TensorBoard when ``tb_dir`` is set.

    Subclass with :func:`driving_metrics_callback` to give it a TensorBoard directory
    (RLlib builds callbacks from a class, with no arguments).
    """

    tb_dir: str | None = None

    def __init__(self) -> None:
        super().__init__()
        self._writer: Any = None

    def on_episode_step(self, *, episode: Any, **kwargs: Any) -> None:
        """Feed the step just taken to the episode's tracker."""
        tracker = episode.custom_data.get(_TRACKER_KEY)
        if tracker is None:
            tracker = episode.custom_data[_TRACKER_KEY] = EpisodeMetrics(1)
        info = dict(episode.get_infos(-1))
        raw = info.pop("raw_reward", None)
        reward = float(raw) if raw is not None else float(episode.get_rewards(-1))
        finished = tracker.update([reward], [episode.is_done], [info])
        if finished:
            episode.custom_data["roadgym_episode"] = finished[0][1]

    def on_episode_end(self, *, episode: Any, metrics_logger: Any = None, **kwargs: Any) -> None:
        """Log the finished episode's metrics (``driving/<name>``)."""
        metrics = episode.custom_data.pop("roadgym_episode", None)
        episode.custom_data.pop(_TRACKER_KEY, None)
        if metrics is None or metrics_logger is None:
            return
        for name, value in metrics.items():
            metrics_logger.log_value(("driving", name), value, reduce="mean", window=METRICS_WINDOW)

    def on_train_result(self, *, algorithm: Any = None, result: dict, **kwargs: Any) -> None:
        """Write this iteration's scalars to TensorBoard (driver side)."""
        if self.tb_dir is None:
            return
        if self._writer is None:
            from torch.utils.tensorboard import SummaryWriter

            self._writer = SummaryWriter(self.tb_dir)
        step, scalars = scalars_from_result(result)
        for tag, value in scalars.items():
            self._writer.add_scalar(tag, value, step)
        self._writer.flush()

    def on_algorithm_end(self, **kwargs: Any) -> None:  # not an RLlib hook; closed by us
        """Close the TensorBoard writer."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def driving_metrics_callback(tb_dir: str | Path | None) -> type[DrivingMetricsCallback]:
    """A :class:`DrivingMetricsCallback` subclass that writes TensorBoard to ``tb_dir``."""
    return type(
        "DrivingMetricsCallbackTB",
        (DrivingMetricsCallback,),
        {"tb_dir": None if tb_dir is None else str(tb_dir)},
    )


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def scalars_from_result(result: dict) -> tuple[int, dict[str, float]]:
    """(lifetime env steps, ``{tag: value}``) of one ``Algorithm.train()`` result."""
    runners = result.get("env_runners", {})
    step = int(runners.get("num_env_steps_sampled_lifetime", 0))
    scalars: dict[str, float] = {}
    for name, value in (runners.get("driving") or {}).items():
        if (number := _number(value)) is not None:
            scalars[f"driving/{name}"] = number
    for tag, key in (
        ("rollout/ep_rew_mean", "episode_return_mean"),
        ("rollout/ep_len_mean", "episode_len_mean"),
    ):
        if (number := _number(runners.get(key))) is not None:
            scalars[tag] = number
    learner = (result.get("learners") or {}).get("default_policy") or {}
    for name in ("policy_loss", "vf_loss", "entropy", "mean_kl_loss", "vf_explained_var"):
        if (number := _number(learner.get(name))) is not None:
            scalars[f"train/{name}"] = number
    steps = _number(runners.get("num_env_steps_sampled"))
    seconds = _number(result.get("time_this_iter_s"))
    if steps and seconds:
        scalars["time/fps"] = steps / seconds
    return step, scalars
