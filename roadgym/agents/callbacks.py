"""SB3 callbacks: driving metrics to TensorBoard, held-out evaluation, checkpoints, video.

- :class:`DrivingMetricsCallback` logs the per-episode metrics of :mod:`metrics` under
  ``driving/`` (means over the episodes that ended since the last dump).
- :class:`HeldOutEvalCallback` evaluates on fixed held-out seeds every ``eval_freq``
  env steps (and at the end), logs ``eval/``, keeps ``best_model.zip``, and now and then
  logs a video of one evaluation episode.
- :class:`AtomicCheckpointCallback` writes ``checkpoints/{algo}_{steps}_steps.zip``.

Every file is written to a temporary name and renamed, so a crash never leaves half a
model behind.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.logger import Image, TensorBoardOutputFormat
from stable_baselines3.common.vec_env import VecNormalize

from roadgym.agents.evaluation import (
    HEADLINE_METRICS,
    EvaluationReport,
    evaluate_policy_on_seeds,
)
from roadgym.agents.metrics import EpisodeMetrics
from roadgym.agents.normalizer import normalizer_path, normalizer_state, save_normalizer
from roadgym.perception.atomic import atomic_write

__all__ = [
    "AtomicCheckpointCallback",
    "DrivingMetricsCallback",
    "HeldOutEvalCallback",
    "ProgressLinesCallback",
    "StopAtTimestepsCallback",
    "save_model_atomic",
    "save_vecnormalize_atomic",
]

# Images go to TensorBoard only; the text writers cannot show them.
_NOT_TENSORBOARD = ("stdout", "log", "json", "csv")
VIDEO_SIZE_PX = 256
VIDEO_FPS = 10


def save_model_atomic(model: BaseAlgorithm, path: str | Path) -> Path:
    """``model.save`` to a temporary file beside ``path``, then rename onto ``path``.

    When the model's env has ``VecNormalize`` statistics (through any wrapper, such as
    SB3's ``VecTransposeImage``), they are saved with it as a pair, as JSON at
    :func:`roadgym.agents.normalizer.normalizer_path`: both are written in full to
    temporary names first, then renamed, statistics first. A failed write (a full disk)
    removes the temporary files and leaves the previous pair as it was: a zip never
    exists without its statistics, nor new statistics beside an old zip.
    """
    path = Path(path)
    normalizer = model.get_vec_normalize_env()
    if normalizer is None:
        return atomic_write(path, model.save)
    stats = normalizer_path(path)
    temporary: list[str] = []
    try:
        for target, write in ((path, model.save), (stats, _json_writer(normalizer))):
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(prefix=f".{target.name}.tmp-", dir=target.parent)
            temporary.append(name)
            with os.fdopen(fd, "wb") as file:
                write(file)
                file.flush()
                os.fsync(file.fileno())
            os.chmod(name, 0o666 & ~_umask())
        os.replace(temporary[1], stats)
        os.replace(temporary[0], path)
    except BaseException:
        for name in temporary:
            if os.path.exists(name):
                os.unlink(name)
        raise
    return path


def _json_writer(venv: VecNormalize):
    def write(file) -> None:
        file.write((json.dumps(normalizer_state(venv), indent=2) + "\n").encode("utf-8"))

    return write


def _umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


def save_vecnormalize_atomic(venv: VecNormalize, path: str | Path) -> Path:
    """Write the ``VecNormalize`` statistics as JSON atomically (no pickle)."""
    return save_normalizer(venv, path)


class DrivingMetricsCallback(BaseCallback):
    """Per-episode driving metrics from the training envs' ``info`` dicts, to ``driving/``.

    Each finished episode adds to a running mean that SB3 dumps with its own scalars
    (every rollout for PPO, every ``log_interval`` episodes for DQN).
    """

    def __init__(self, verbose: int = 0) -> None:
        super().__init__(verbose)
        self.tracker: EpisodeMetrics | None = None
        self.episodes_seen = 0

    def _on_training_start(self) -> None:
        self.tracker = EpisodeMetrics(self.training_env.num_envs)

    def _on_step(self) -> bool:
        if self.tracker is None:
            self.tracker = EpisodeMetrics(self.training_env.num_envs)
        finished = self.tracker.update(
            self.locals["rewards"], self.locals["dones"], self.locals["infos"]
        )
        for _, metrics in finished:
            self.episodes_seen += 1
            for key, value in metrics.items():
                # return/length of normalised rewards would mislead: the env's episode
                # statistics already log the raw ones as rollout/ep_rew_mean, ep_len_mean.
                if key not in ("return", "length"):
                    self.logger.record_mean(f"driving/{key}", value)
        return True


class HeldOutEvalCallback(BaseCallback):
    """Evaluate on held-out seeds during training and keep the best model.

    :param env_id: env to evaluate on; ``env_kwargs`` and ``frame_stack`` as in training.
    :param seeds: held-out seeds, one episode each, the same at every evaluation.
    :param eval_freq: env steps (over all training envs) between evaluations.
    :param best_model_path: where the model with the best mean return is saved.
    :param video_freq: env steps between evaluation videos (0: never).
    """

    def __init__(
        self,
        env_id: str,
        seeds: list[int],
        eval_freq: int,
        best_model_path: str | Path,
        *,
        env_kwargs: dict[str, Any] | None = None,
        frame_stack: int = 1,
        video_freq: int = 0,
        n_envs: int = 8,
        verbose: int = 1,
    ) -> None:
        super().__init__(verbose)
        self.env_id = env_id
        self.seeds = list(seeds)
        self.eval_freq = eval_freq
        self.best_model_path = Path(best_model_path)
        self.env_kwargs = dict(env_kwargs or {})
        self.frame_stack = frame_stack
        self.video_freq = video_freq
        self.n_envs = n_envs
        self.best_mean_return = -math.inf
        self.last_eval_step = -1
        self.next_eval_step = 0
        self.next_video_step = 0
        self.history: list[tuple[int, EvaluationReport]] = []
        self._warned_no_video = False

    def _on_training_start(self) -> None:
        # On resume, count from where the model is rather than from zero.
        self.next_eval_step = self.num_timesteps + self.eval_freq
        self.next_video_step = self.num_timesteps + self.video_freq

    def _on_step(self) -> bool:
        if self.eval_freq > 0 and self.num_timesteps >= self.next_eval_step:
            while self.next_eval_step <= self.num_timesteps:
                self.next_eval_step += self.eval_freq
            self.evaluate()
        return True

    def _on_training_end(self) -> None:
        if self.last_eval_step != self.num_timesteps:
            self.evaluate(force_video=self.video_freq > 0)

    def evaluate(self, force_video: bool = False) -> EvaluationReport:
        """Run one evaluation now, log it, and save the model if it is the best so far."""
        want_video = force_video or (
            self.video_freq > 0 and self.num_timesteps >= self.next_video_step
        )
        if want_video and self.video_freq > 0:
            self.next_video_step = self.num_timesteps + self.video_freq
        normalizer = self.model.get_vec_normalize_env()
        report = evaluate_policy_on_seeds(
            self.model,
            self.env_id,
            self.seeds,
            env_kwargs=self.env_kwargs,
            frame_stack=self.frame_stack,
            n_envs=self.n_envs,
            normalize_observation=(
                normalizer.normalize_obs if normalizer is not None and normalizer.norm_obs else None
            ),
            record_first_episode=want_video,
        )
        self.last_eval_step = self.num_timesteps
        self.history.append((self.num_timesteps, report))
        summary = report.summary
        for key, row in summary.items():
            self.logger.record(f"eval/{key}", row["mean"])  # means over the held-out seeds
        self.logger.record("eval/return_std", summary["return"]["std"])
        if report.frames:
            self._log_video(report.frames)
        # Dump now, as SB3's EvalCallback does: DQN dumps only every few episodes, and an
        # evaluation at the last step would otherwise never reach the file.
        self.logger.dump(self.num_timesteps)
        mean_return = summary["return"]["mean"]
        if mean_return > self.best_mean_return:
            self.best_mean_return = mean_return
            save_model_atomic(self.model, self.best_model_path)  # with its statistics
        if self.verbose:
            # Two task metrics this env reports (lap or route completion first).
            shown = [m for m in HEADLINE_METRICS[:5] if m in summary][:2]
            task = ", ".join(f"{m} {summary[m]['mean']:.3f}" for m in shown)
            print(
                f"[eval @ {self.num_timesteps} steps] return {mean_return:.1f} "
                f"+/- {summary['return']['std']:.1f}, {task} over "
                f"{len(report.episodes)} held-out seeds "
                f"({report.wall_s:.1f} s)",
                flush=True,
            )
        return report

    def _log_video(self, frames: list[np.ndarray]) -> None:
        small = np.stack(
            [
                cv2.resize(f, (VIDEO_SIZE_PX, VIDEO_SIZE_PX), interpolation=cv2.INTER_AREA)
                for f in frames
            ]
        )  # (T, H, W, 3)
        writer = _tensorboard_writer(self.logger)
        if writer is not None and pillow_available():
            writer.add_summary(_gif_summary("eval/video", small), self.num_timesteps)
            return
        if not self._warned_no_video:
            warnings.warn(
                "Pillow is not installed, so the evaluation episode cannot be stored as an "
                "animated GIF in TensorBoard; logging an image grid of its frames instead "
                "(pip install pillow)",
                stacklevel=2,
            )
            self._warned_no_video = True
        self.logger.record("eval/frames", Image(frame_grid(small), "HWC"), exclude=_NOT_TENSORBOARD)


def pillow_available() -> bool:
    """Whether Pillow (which writes the GIF of evaluation videos) is importable."""
    return importlib.util.find_spec("PIL") is not None


def _tensorboard_writer(logger: Any) -> Any:
    """The TensorBoard file writer behind an SB3 logger, or None."""
    for output in logger.output_formats:
        if isinstance(output, TensorBoardOutputFormat):
            return output.writer._get_file_writer()
    return None


def _gif_summary(tag: str, frames: np.ndarray) -> Any:
    """A TensorBoard image summary holding an animated GIF: how TensorBoard shows videos.

    SB3's ``Video`` goes through ``SummaryWriter.add_video``, which needs the moviepy 1.x
    ``moviepy.editor`` module (gone in moviepy 2) and otherwise logs nothing; writing the
    GIF with Pillow gives the same summary without that dependency.
    """
    import io

    from PIL import Image as PILImage
    from tensorboard.compat.proto.summary_pb2 import Summary

    buffer = io.BytesIO()
    pictures = [PILImage.fromarray(frame) for frame in frames]
    pictures[0].save(
        buffer,
        format="GIF",
        save_all=True,
        append_images=pictures[1:],
        duration=int(1000 / VIDEO_FPS),
        loop=0,
    )
    height, width = frames.shape[1:3]
    image = Summary.Image(
        height=height, width=width, colorspace=3, encoded_image_string=buffer.getvalue()
    )
    return Summary(value=[Summary.Value(tag=tag, image=image)])


def frame_grid(frames: np.ndarray, columns: int = 4, rows: int = 4) -> np.ndarray:
    """Up to ``columns * rows`` evenly spaced frames of ``(T, H, W, 3)`` tiled into one image."""
    count = min(len(frames), columns * rows)
    picks = np.linspace(0, len(frames) - 1, count).round().astype(int)
    tiles = [frames[i] for i in picks]
    tiles += [np.zeros_like(frames[0])] * (columns * rows - count)
    lines = [np.concatenate(tiles[r * columns : (r + 1) * columns], axis=1) for r in range(rows)]
    return np.concatenate(lines, axis=0)  # (rows * H, columns * W, 3)


class AtomicCheckpointCallback(BaseCallback):
    """Save ``{directory}/{algo}_{steps}_steps.zip`` every ``save_freq`` env steps.

    Also saves the ``VecNormalize`` statistics beside it (``.vecnormalize.json``) when the
    env has them, before the zip, so ``--resume`` always finds them.
    """

    def __init__(self, save_freq: int, directory: str | Path, prefix: str, verbose: int = 0):
        super().__init__(verbose)
        self.save_freq = save_freq
        self.directory = Path(directory)
        self.prefix = prefix
        self.next_save_step = 0

    def _on_training_start(self) -> None:
        self.next_save_step = self.num_timesteps + self.save_freq

    def _on_step(self) -> bool:
        if self.save_freq > 0 and self.num_timesteps >= self.next_save_step:
            self.next_save_step += self.save_freq
            path = self.directory / f"{self.prefix}_{self.num_timesteps}_steps.zip"
            save_model_atomic(self.model, path)  # statistics first, then the zip
            if self.verbose:
                print(f"checkpoint: {path}", flush=True)
        return True


class StopAtTimestepsCallback(BaseCallback):
    """Stop ``learn`` once the model has taken ``total_timesteps`` env steps in all.

    SB3 finishes whole rollouts (PPO: ``n_steps * n_envs`` at a time), so 100,000 steps
    in rollouts of 16,384 would run to 114,688. This stops collection at the target
    instead (at most ``n_envs - 1`` steps past it). A rollout that the target completes
    is trained on; the steps of one it cuts short are not.
    """

    def __init__(self, total_timesteps: int) -> None:
        super().__init__(verbose=0)
        self.total_timesteps = total_timesteps

    def _on_step(self) -> bool:
        if self.num_timesteps < self.total_timesteps:
            return True
        # The last step of an on-policy rollout: let SB3 finish it (it then trains on the
        # full rollout and stops by itself, the target being reached).
        n_steps, n_rollout_steps = self.locals.get("n_steps"), self.locals.get("n_rollout_steps")
        return (
            n_steps is not None and n_rollout_steps is not None and n_steps == n_rollout_steps - 1
        )


class ProgressLinesCallback(BaseCallback):
    """Print a progress line every ``interval_s`` seconds: for logs, where no bar shows.

    ``steps 40960/100000 (41%), 812 steps/s, 0:00:50 elapsed, 0:01:12 left``
    """

    def __init__(self, total_timesteps: int, interval_s: float = 30.0, stream: Any = None):
        super().__init__(verbose=0)
        self.total_timesteps = total_timesteps
        self.interval_s = interval_s
        self.stream = stream
        self._start_s = 0.0
        self._start_steps = 0
        self._next_s = 0.0

    def _on_training_start(self) -> None:
        self._start_s = time.perf_counter()
        self._start_steps = self.num_timesteps
        self._next_s = self._start_s + self.interval_s

    def _on_step(self) -> bool:
        now = time.perf_counter()
        if now >= self._next_s:
            self._next_s = now + self.interval_s
            print(self.line(now), file=self.stream or sys.stdout, flush=True)
        return True

    def _on_training_end(self) -> None:
        print(self.line(time.perf_counter()), file=self.stream or sys.stdout, flush=True)

    def line(self, now_s: float) -> str:
        """The progress line at time ``now_s`` (``time.perf_counter``)."""
        elapsed = max(now_s - self._start_s, 1e-9)
        rate = (self.num_timesteps - self._start_steps) / elapsed
        left = max(self.total_timesteps - self.num_timesteps, 0)
        eta = _clock(left / rate) if rate > 0 else "?"
        percent = 100 * min(self.num_timesteps / max(self.total_timesteps, 1), 1.0)
        return (
            f"steps {self.num_timesteps}/{self.total_timesteps} ({percent:.0f}%), "
            f"{rate:.0f} steps/s, {_clock(elapsed)} elapsed, {eta} left"
        )


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
