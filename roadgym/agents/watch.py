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

import cv2
import numpy as np

from roadgym.agents.environments import make_eval_vec_env, split_seeds
from roadgym.agents.evaluation import EvaluationReport
from roadgym.agents.loading import LoadedAgent
from roadgym.agents.metrics import EpisodeMetrics

__all__ = ["watch_agent", "write_video"]


def write_video(frames: Sequence[np.ndarray], path: str | Path, fps: float) -> Path:
    """Write RGB frames ``(H, W, 3)`` to an mp4 (``mp4v``) atomically.

    OpenCV picks the container from the file name, so the temporary file beside
    ``path`` also ends in ``.mp4``; it is renamed onto ``path`` once complete.
    """
    if len(frames) == 0:
        raise ValueError("no frames to write")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    height, width = frames[0].shape[:2]
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.stem}.tmp-", suffix=".mp4", dir=path.parent)
    os.close(fd)
    try:
        writer = cv2.VideoWriter(tmp_name, cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
        if not writer.isOpened():
            raise RuntimeError(f"OpenCV cannot open an mp4v video writer for {path}")
        try:
            for frame in frames:
                writer.write(cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2BGR))
        finally:
            writer.release()
        os.replace(tmp_name, path)
    except BaseException:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
        raise
    return path


def watch_agent(
    agent: LoadedAgent,
    *,
    episodes: int = 3,
    seed: int = 0,
    record: str | Path | None = None,
    deterministic: bool = True,
) -> EvaluationReport:
    """Drive ``episodes`` episodes (seeds ``seed, seed + 1, ...``) in a window or to a video.

    :param record: write an mp4 here instead of opening a window (works headless).
    :returns: the per-episode driving metrics.
    """
    if episodes < 1:
        raise ValueError(f"episodes = {episodes}; allowed: an int >= 1")
    seeds = list(range(seed, seed + episodes))
    render_mode = "rgb_array" if record is not None else "human"
    venv, _ = make_eval_vec_env(
        agent.env_id,
        seeds,
        agent.env_kwargs,
        n_envs=1,
        frame_stack=agent.frame_stack,
        render_mode=render_mode,
    )
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
            model_input = (
                agent.normalize_observation(observations)
                if agent.normalize_observation
                else observations
            )
            actions, state = agent.model.predict(
                model_input, state=state, episode_start=episode_start, deterministic=deterministic
            )
            observations, rewards, dones, infos = venv.step(actions)
            episode_start = dones
            for _, metrics in tracker.update(rewards, dones, infos):
                results.append(metrics)
                print(
                    f"episode {len(results)}/{episodes} (seed {seeds[len(results) - 1]}): "
                    f"return {metrics['return']:.1f}, progress {metrics.get('progress', 0):.3f}, "
                    f"steps {int(metrics['length'])}",
                    flush=True,
                )
    finally:
        venv.close()
    if record is not None:
        write_video(frames, record, fps)
    return EvaluationReport(
        env_id=agent.env_id,
        seeds=split_seeds(seeds, 1)[0][: len(results)],
        episodes=results,
        agent=str(agent.path),
    )


def _window_closed(env) -> bool:
    window = getattr(env.unwrapped, "_window", None)
    return bool(getattr(window, "closed_by_user", False))
