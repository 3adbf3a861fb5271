"""Watch an agent drive: a pygame window, or an mp4 written headless.

The env's own ``render`` draws the bird's-eye view with the HUD (speed, progress,
reward) and the camera the agent sees as an inset, so the window and the video show
exactly what ``render_mode`` gives.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from roadgym.agents.environments import make_eval_vec_env, split_seeds
from roadgym.agents.evaluation import EvaluationReport
from roadgym.agents.loading import LoadedAgent
from roadgym.agents.metrics import EpisodeMetrics

__all__ = ["count_video_frames", "watch_agent", "write_video"]


def write_video(frames: Sequence[np.ndarray], path: str | Path, fps: float) -> Path:
    """Write RGB frames ``(H, W, 3)`` to an mp4 atomically, and check what was written.

    H.264 (plays in browsers) through the ffmpeg that the ``imageio-ffmpeg`` wheel ships,
    when it is installed; otherwise OpenCV's MPEG-4 Part 2 (``mp4v``). The video goes to
    a temporary ``.mp4`` beside ``path``, is read back and its frames counted (OpenCV's
    writer fails silently on a full disk), gets the mode a plain ``open`` would give
    under the umask, and only then is renamed onto ``path``. Raises ``OSError`` when the
    file holds fewer frames than given.
    """
    if len(frames) == 0:
        raise ValueError("no frames to write")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.stem}.tmp-", suffix=".mp4", dir=path.parent)
    os.close(fd)
    try:
        try:
            _write_h264(tmp_name, frames, fps)
        except ImportError:
            _write_mp4v(tmp_name, frames, fps, path)
        written = count_video_frames(tmp_name)
        if written != len(frames):
            raise OSError(
                f"video {path}: the writer stored {written} of {len(frames)} frames (is the "
                "disk full?); nothing was written there"
            )
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp_name, 0o666 & ~umask)  # mkstemp makes 0600; a video is for sharing
        os.replace(tmp_name, path)
    except BaseException:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
        raise
    return path


def _write_h264(name: str, frames: Sequence[np.ndarray], fps: float) -> None:
    import imageio_ffmpeg  # ImportError: fall back to OpenCV

    height, width = frames[0].shape[:2]
    # yuv420p (what browsers play) needs even sides: pad the odd row or column.
    even_h, even_w = height + height % 2, width + width % 2
    writer = imageio_ffmpeg.write_frames(
        name,
        (even_w, even_h),
        fps=fps,
        codec="libx264",
        pix_fmt_out="yuv420p",
        macro_block_size=1,
        output_params=["-movflags", "+faststart"],
    )
    writer.send(None)  # start ffmpeg
    try:
        for frame in frames:
            frame = np.ascontiguousarray(frame, dtype=np.uint8)
            if (height, width) != (even_h, even_w):
                frame = np.pad(frame, ((0, even_h - height), (0, even_w - width), (0, 0)), "edge")
            writer.send(frame)
    finally:
        writer.close()  # raises when ffmpeg failed (for example, no space left)


def _write_mp4v(name: str, frames: Sequence[np.ndarray], fps: float, path: Path) -> None:
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(name, cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    if not writer.isOpened():
        raise RuntimeError(f"OpenCV cannot open an mp4v video writer for {path}")
    try:
        for frame in frames:
            writer.write(cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2BGR))
    finally:
        writer.release()


def count_video_frames(path: str | Path) -> int:
    """Frames OpenCV can decode from the video at ``path`` (0 when it cannot open it)."""
    capture = cv2.VideoCapture(str(path))
    count = 0
    try:
        while capture.isOpened():
            ok, _ = capture.read()
            if not ok:
                break
            count += 1
    finally:
        capture.release()
    return count


def watch_agent(
    agent: LoadedAgent | None,
    *,
    episodes: int = 3,
    seed: int = 0,
    record: str | Path | None = None,
    deterministic: bool = True,
    env_id: str | None = None,
    env_kwargs: dict[str, Any] | None = None,
) -> EvaluationReport:
    """Drive ``episodes`` episodes (seeds ``seed, seed + 1, ...``) in a window or to a video.

    :param agent: the model that drives; None: the privileged expert drives ``env_id``
        with ``env_kwargs`` (a model drives its own env id and fields).
    :param record: write an mp4 here instead of opening a window (works headless).
    :returns: the per-episode driving metrics.
    """
    if episodes < 1:
        raise ValueError(f"episodes = {episodes}; allowed: an int >= 1")
    seeds = list(range(seed, seed + episodes))
    render_mode = "rgb_array" if record is not None else "human"
    if agent is None and env_id is None:
        raise ValueError("env_id = None with no agent: the expert needs an env id")
    env_id = agent.env_id if agent is not None else env_id
    venv, _ = make_eval_vec_env(
        env_id,
        seeds,
        agent.env_kwargs if agent is not None else env_kwargs,
        n_envs=1,
        frame_stack=agent.frame_stack if agent is not None else 1,
        render_mode=render_mode,
    )
    if agent is None:
        from roadgym.agents.evaluation import ExpertPolicy

        model, normalize = ExpertPolicy(venv), None
    else:
        model, normalize = agent.model, agent.normalize_observation
    env = venv.unwrapped.envs[0]
    fps = float(env.metadata.get("render_fps", 10))
    tracker = EpisodeMetrics(1)
    results: list[dict[str, float]] = []
    frames: list[np.ndarray] = []
    try:
        observations = venv.reset()  # in human mode the env draws each frame itself
        state, episode_start = None, np.ones(1, dtype=bool)
        while len(results) < episodes and not _window_closed(env):
            if record is not None:
                frames.append(env.render())
            model_input = normalize(observations) if normalize else observations
            actions, state = model.predict(
                model_input, state=state, episode_start=episode_start, deterministic=deterministic
            )
            observations, rewards, dones, infos = venv.step(actions)
            episode_start = dones
            for _, metrics in tracker.update(rewards, dones, infos):
                results.append(metrics)
                print(
                    f"episode {len(results)}/{episodes} (seed {seeds[len(results) - 1]}): "
                    + episode_summary(metrics),
                    flush=True,
                )
    finally:
        venv.close()
    if record is not None:
        write_video(frames, record, fps)
    return EvaluationReport(
        env_id=env_id,
        seeds=split_seeds(seeds, 1)[0][: len(results)],
        episodes=results,
        agent=str(agent.path) if agent is not None else "expert",
    )


# The metrics an episode line shows when the world reports them (Track: lap progress;
# Town: route completion, driving score, success; Highway: distance).
_SUMMARY_KEYS = ("progress", "route_completion", "driving_score", "success", "distance_m")


def episode_summary(metrics: dict[str, float]) -> str:
    """One line of an episode's metrics: return, the world's own progress measures, steps."""
    parts = [f"return {metrics['return']:.1f}"]
    parts += [f"{key} {metrics[key]:.3f}" for key in _SUMMARY_KEYS if key in metrics]
    return ", ".join([*parts, f"steps {int(metrics['length'])}"])


def _window_closed(env) -> bool:
    window = getattr(env.unwrapped, "_window", None)
    return bool(getattr(window, "closed_by_user", False))
