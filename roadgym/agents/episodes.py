"""Play one episode per seed: the one loop behind every evaluation, selection and expert table.

:func:`play_seeds` drives a batch policy (an SB3 model, the expert, an imitation student)
through one episode per seed, ``n_envs`` worlds at a time in one batched simulator (SB3's
``VecEnv`` interface over roadgym's native vector env; any other Gymnasium id runs in a
``DummyVecEnv``), and returns each episode's driving metrics
(:class:`~roadgym.agents.metrics.EpisodeMetrics`) and its last ``info``, in the caller's
seed order. ``roadgym evaluate``, the best-model selection during training,
the DAgger rounds' selection and the expert's tables all call it, so they count episodes,
seeds and metrics the same way.

World ``i`` of a batch is reset with its own seed, so it plays exactly the episode a
single env reset with that seed would; a world that finishes first is reset by the
vector env and plays on uncounted until the batch's last episode ends.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import gymnasium as gym
import numpy as np
from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv, VecFrameStack

import roadgym  # noqa: F401  (registers the env ids)
from roadgym.agents.environments import SeededEpisodes, has_vector_entry_point
from roadgym.agents.metrics import EpisodeMetrics

__all__ = ["BatchPolicy", "PlayedEpisode", "PlayedSeeds", "play_seeds"]

# Bookkeeping keys of an SB3 info dict that are not the env's own.
_BOOKKEEPING_KEYS = {"terminal_observation", "episode", "TimeLimit.truncated"}


class BatchPolicy(Protocol):
    """What :func:`play_seeds` drives with: SB3's ``predict`` on a batch of observations."""

    def predict(
        self,
        observation: Any,
        state: Any = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = False,
    ) -> tuple[np.ndarray, Any]: ...


@dataclasses.dataclass
class PlayedEpisode:
    """One finished episode."""

    seed: int
    """The seed its world was reset with."""
    metrics: dict[str, float]
    """Its driving metrics (``return``, ``length``, rates, means, last values)."""
    final_info: dict[str, float | int | bool]
    """The scalar entries of its last step's ``info`` (the env's own keys only)."""


@dataclasses.dataclass
class PlayedSeeds:
    """The episodes of :func:`play_seeds`, in the caller's seed order."""

    episodes: list[PlayedEpisode]
    wall_s: float
    """Wall-clock seconds, env construction included."""
    frames: list[np.ndarray] | None = dataclasses.field(default=None, repr=False)
    """``render`` frames of the first seed's episode, when asked for."""


def play_seeds(
    policy: BatchPolicy | Callable[[VecEnv], BatchPolicy],
    env_id: str,
    seeds: Sequence[int],
    *,
    env_kwargs: Mapping[str, Any] | None = None,
    n_envs: int = 8,
    frame_stack: int = 1,
    deterministic: bool = True,
    normalize_observation: Callable[[Any], Any] | None = None,
    record_first_episode: bool = False,
    max_video_frames: int = 400,
) -> PlayedSeeds:
    """Play one episode per seed, ``n_envs`` worlds at a time.

    :param policy: a batch policy (an SB3 model, anything with its ``predict``), or a
        factory called with each batch's ``VecEnv`` (e.g. ``ExpertPolicy``, which reads
        the simulator).
    :param seeds: one seed per episode; repeats are allowed.
    :param env_kwargs: env config fields (and ``max_episode_steps``).
    :param frame_stack: ``VecFrameStack`` depth the policy expects (1: none), for models
        trained with the ``frame_stack`` hyperparameter; the env's own ``frame_stack``
        field goes in ``env_kwargs``.
    :param normalize_observation: applied to observations before ``predict``
        (``VecNormalize.normalize_obs`` of a model trained with ``norm_obs``).
    :param record_first_episode: keep the ``rgb_array`` frames of the first seed's episode
        (at most ``max_video_frames``).
    """
    if len(seeds) == 0:
        raise ValueError("seeds is empty; allowed: one or more ints")
    if isinstance(n_envs, bool) or not isinstance(n_envs, (int, np.integer)) or n_envs < 1:
        raise ValueError(f"n_envs = {n_envs!r}; allowed: an int >= 1")
    start_s = time.perf_counter()
    episodes: list[PlayedEpisode] = []
    frames: list[np.ndarray] | None = [] if record_first_episode else None
    for first in range(0, len(seeds), n_envs):
        chunk = [int(seed) for seed in seeds[first : first + n_envs]]
        recording = record_first_episode and first == 0
        venv = make_seeded_vec_env(
            env_id,
            chunk,
            env_kwargs,
            frame_stack=frame_stack,
            render_mode="rgb_array" if recording else None,
        )
        try:
            episodes.extend(
                _play_batch(
                    policy,
                    venv,
                    chunk,
                    deterministic=deterministic,
                    normalize_observation=normalize_observation,
                    frames=frames if recording else None,
                    max_video_frames=max_video_frames,
                )
            )
        finally:
            venv.close()
    return PlayedSeeds(episodes, time.perf_counter() - start_s, frames)


def make_seeded_vec_env(
    env_id: str,
    seeds: Sequence[int],
    env_kwargs: Mapping[str, Any] | None = None,
    *,
    frame_stack: int = 1,
    render_mode: str | None = None,
) -> VecEnv:
    """An SB3 ``VecEnv`` of ``len(seeds)`` worlds whose first reset uses ``seeds[i]``.

    roadgym ids get one batched simulator (``make_sb3_vec_env``); other ids a
    ``DummyVecEnv`` of single envs. Later resets draw from each world's own generator.
    """
    env_kwargs = dict(env_kwargs or {})
    if has_vector_entry_point(env_id):
        from roadgym.envs.core.sb3_vec_env import make_sb3_vec_env

        venv: VecEnv = make_sb3_vec_env(
            env_id, len(seeds), seed=list(seeds), render_mode=render_mode, **env_kwargs
        )
    else:

        def factory(seed: int) -> Callable[[], gym.Env]:
            return lambda: SeededEpisodes(
                gym.make(env_id, render_mode=render_mode, **env_kwargs), [seed]
            )

        venv = DummyVecEnv([factory(seed) for seed in seeds])
    if frame_stack > 1:
        venv = VecFrameStack(venv, n_stack=frame_stack)
    return venv


def _play_batch(
    policy: BatchPolicy | Callable[[VecEnv], BatchPolicy],
    venv: VecEnv,
    seeds: list[int],
    *,
    deterministic: bool,
    normalize_observation: Callable[[Any], Any] | None,
    frames: list[np.ndarray] | None,
    max_video_frames: int,
) -> list[PlayedEpisode]:
    """The first episode of every world of ``venv`` (world i plays ``seeds[i]``)."""
    # A class (ExpertPolicy) or a function is a factory; an instance is the policy.
    is_factory = isinstance(policy, type) or not hasattr(policy, "predict")
    batch_policy = policy(venv) if is_factory else policy
    tracker = EpisodeMetrics(venv.num_envs)
    played: list[PlayedEpisode | None] = [None] * venv.num_envs
    observations = venv.reset()
    recording = frames is not None
    if recording:
        frames.append(_render_first(venv))
    state = None
    episode_start = np.ones(venv.num_envs, dtype=bool)
    while any(episode is None for episode in played):
        model_input = normalize_observation(observations) if normalize_observation else observations
        actions, state = batch_policy.predict(
            model_input, state=state, episode_start=episode_start, deterministic=deterministic
        )
        observations, rewards, dones, infos = venv.step(actions)
        episode_start = dones
        for index, metrics in tracker.update(rewards, dones, infos):
            if played[index] is None:  # a world's later episodes are not counted
                played[index] = PlayedEpisode(seeds[index], metrics, _scalars(infos[index]))
        if recording:
            # After a done the VecEnv has already reset world 0: that frame is a new map.
            if dones[0] or len(frames) >= max_video_frames:
                recording = False
            else:
                frames.append(_render_first(venv))
    return played  # type: ignore[return-value]


def _scalars(info: Mapping[str, Any]) -> dict[str, float | int | bool]:
    """The env's own scalar entries of an SB3 info dict (no labels, no bookkeeping)."""
    out: dict[str, float | int | bool] = {}
    for key, value in info.items():
        if key in _BOOKKEEPING_KEYS or key.startswith("_"):
            continue
        if isinstance(value, (bool, int, float, np.bool_, np.integer, np.floating)):
            out[key] = value.item() if isinstance(value, np.generic) else value
    return out


def _render_first(venv: VecEnv) -> np.ndarray:
    return venv.env_method("render", indices=[0])[0]
