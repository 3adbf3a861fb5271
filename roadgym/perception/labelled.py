"""Labelled frame datasets generated from any roadgym env that emits labels.

The contract with the envs: ``reset`` and ``step`` return ``info["labels"]``, a dict
``task name -> int class id`` computed from the same render call as the
observation, and ``env.unwrapped.label_names`` maps each task to its class names.
Track-v0 provides ``road_layout``; Town-v0 adds ``light_state`` and ``object_ahead``.

A dataset is a folder of ``.npz`` shards plus ``manifest.json``. Each split
(train / val / test) is driven from its own, disjoint range of reset seeds, so
validation and test frames come from worlds the model never trained on. Shards and
the manifest are written atomically, the manifest last: a folder without one is an
interrupted run and refuses to load.
"""

from __future__ import annotations

import dataclasses
import importlib
import io
import json
import math
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from roadgym.envs.core.config import ConfigError
from roadgym.envs.seeds import SELECTION_SEED_START, TEST_SEED_START
from roadgym.perception.atomic import DirectoryLock, atomic_write_bytes, atomic_write_json
from roadgym.perception.datasets import FrameDataset, ImageSet
from roadgym.perception.policies import resolve_policy_factory

__all__ = [
    "MANIFEST_NAME",
    "SPLITS",
    "LabelledDatasetConfig",
    "Policy",
    "generate_labelled_dataset",
    "load_labelled_split",
    "load_manifest",
    "labelled_frame_dataset",
]

MANIFEST_NAME = "manifest.json"
SPLITS = ("train", "val", "test")
_FORMAT = "roadgym.labelled_frames"
_VERSION = 1

Policy = Callable[[Any, dict], Any]
"""``policy(observation, info) -> action``; None means uniform random actions."""


@dataclass(frozen=True)
class LabelledDatasetConfig:
    """How to drive an env to collect a labelled frame dataset."""

    env_id: str = "roadgym/Track-v0"
    """Gymnasium id of the env (ignored for making the env when an env factory is given)."""
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    """Keyword arguments for ``gymnasium.make``; recorded in the manifest."""
    train_seeds: tuple[int, int] = (0, 10_000)
    """Half-open range ``[start, stop)`` of reset seeds driven for the train split."""
    val_seeds: tuple[int, int] = (SELECTION_SEED_START, SELECTION_SEED_START + 10_000)
    """Reset seeds for the validation split (the selection range of
    :mod:`roadgym.envs.seeds`); must not overlap the other splits."""
    test_seeds: tuple[int, int] = (TEST_SEED_START, TEST_SEED_START + 10_000)
    """Reset seeds for the test split (the test range); must not overlap the other splits."""
    train_frames: int = 3000
    """Frames to collect for the train split (fewer if the seeds run out first)."""
    val_frames: int = 500
    """Frames to collect for the validation split."""
    test_frames: int = 500
    """Frames to collect for the test split."""
    max_episode_steps: int = 200
    """Steps driven per seed before moving on to the next seed."""
    frame_stride: int = 1
    """Keep every n-th frame of an episode; consecutive frames are near duplicates."""
    rare_frame_stride: int | None = None
    """Keep every n-th frame instead while the frame's ``balance_task`` class holds less
    than an equal share (``1 / num_classes``) of the split's target, so short-lived
    classes (a yellow light) are recorded densely; None uses ``frame_stride``."""
    balance_task: str | None = None
    """Task whose class frequencies ``max_class_fraction`` caps (None: no cap)."""
    max_class_fraction: float = 1.0
    """Largest share of a split one class of ``balance_task`` may take; frames of a
    class already at its cap are skipped. ``1 / num_classes`` asks for exact balance."""
    frames_per_shard: int = 2048
    """Frames per ``.npz`` shard (2048 frames of 64x64 RGB are 24 MiB)."""
    observation_key: str | None = None
    """Key of the image in Dict observations; None for plain image observations."""
    policy: str = "auto"
    """Who drives: 'auto' (the expert when the env has one, else random actions),
    'expert', 'random', or 'package.module:factory' with ``factory(env)`` returning
    ``policy(observation, info) -> action``."""
    steer_noise: float = 0.05
    """Std of Gaussian noise on the expert's steering, for varied poses (expert only)."""
    throttle_noise: float = 0.1
    """Std of Gaussian noise on the expert's throttle, for varied speeds (expert only)."""
    policy_seed: int = 0
    """Seed of the expert's noise."""
    num_envs: int = 1
    """Worlds driven at once through the env's own batched implementation
    (``gymnasium.make_vec(..., vectorization_mode="vector_entry_point")``: roadgym envs);
    1 steps a single env. Worlds interleave, so the frames kept depend on this number;
    the same number gives the same dataset."""

    def __post_init__(self) -> None:
        for name in ("train_seeds", "val_seeds", "test_seeds"):
            value = getattr(self, name)
            if len(value) != 2 or not 0 <= int(value[0]) < int(value[1]):
                raise ConfigError(
                    f"LabelledDatasetConfig.{name} = {value!r}; allowed: (start, stop) with "
                    "0 <= start < stop"
                )
            object.__setattr__(self, name, (int(value[0]), int(value[1])))
        ranges = sorted((getattr(self, f"{s}_seeds"), s) for s in SPLITS)
        for (low, low_name), (high, high_name) in zip(ranges, ranges[1:], strict=False):
            if low[1] > high[0]:
                raise ConfigError(
                    f"LabelledDatasetConfig.{low_name}_seeds = {low} overlaps "
                    f"{high_name}_seeds = {high}; allowed: disjoint seed ranges"
                )
        for name in ("train_frames", "val_frames", "test_frames"):
            if int(getattr(self, name)) < 0:
                raise ConfigError(
                    f"LabelledDatasetConfig.{name} = {getattr(self, name)!r}; allowed: >= 0"
                )
        for name in ("max_episode_steps", "frame_stride", "frames_per_shard", "num_envs"):
            if int(getattr(self, name)) < 1:
                raise ConfigError(
                    f"LabelledDatasetConfig.{name} = {getattr(self, name)!r}; allowed: >= 1"
                )
        if self.rare_frame_stride is not None and int(self.rare_frame_stride) < 1:
            raise ConfigError(
                f"LabelledDatasetConfig.rare_frame_stride = {self.rare_frame_stride!r}; "
                "allowed: >= 1 or None"
            )
        if self.steer_noise < 0 or self.throttle_noise < 0:
            raise ConfigError(
                f"LabelledDatasetConfig.steer_noise = {self.steer_noise!r}, throttle_noise = "
                f"{self.throttle_noise!r}; allowed: >= 0"
            )
        if not 0.0 < self.max_class_fraction <= 1.0:
            raise ConfigError(
                f"LabelledDatasetConfig.max_class_fraction = {self.max_class_fraction!r}; "
                "allowed: a number in (0, 1]"
            )


def _make_env(config: LabelledDatasetConfig):
    import gymnasium

    if config.env_id.startswith("roadgym/"):
        # roadgym envs register themselves on import; make sure that has happened.
        importlib.import_module("roadgym.envs")
    if config.num_envs == 1:
        return gymnasium.make(config.env_id, **config.env_kwargs)
    try:
        return gymnasium.make_vec(
            config.env_id,
            num_envs=config.num_envs,
            vectorization_mode="vector_entry_point",
            autoreset_mode="Disabled",
            **config.env_kwargs,
        )
    except gymnasium.error.UnregisteredEnv:
        raise
    except gymnasium.error.Error as error:
        raise ValueError(
            f"num_envs={config.num_envs} needs an env with a batched implementation "
            f"(a vector_entry_point); {config.env_id!r} has none ({error}); use num_envs=1"
        ) from error


def _extract_frame(observation: Any, key: str | None, batched: bool = False) -> np.ndarray:
    """The uint8 image of an observation: (H, W, C), or (B, H, W, C) when ``batched``."""
    if isinstance(observation, dict):
        if key is None or key not in observation:
            raise ValueError(
                f"observation is a dict with keys {sorted(observation)}; set observation_key "
                "to the image entry"
            )
        observation = observation[key]
    frame = np.asarray(observation)
    if frame.dtype != np.uint8 or frame.ndim != 3 + batched:
        wanted = "a batch of uint8 (H, W, C) images" if batched else "a uint8 (H, W, C) image"
        raise ValueError(f"observation must be {wanted}; got {frame.dtype} {frame.shape}")
    return frame


def _read_labels(
    info: dict, label_names: dict[str, list[str]], env_id: str, num_worlds: int
) -> dict[str, np.ndarray]:
    """Labels ``task -> (num_worlds,) int`` from a single env's or a vector env's info."""
    labels = info.get("labels")
    if labels is None:  # flat_labels=True: info["label_<task>"]
        flat = {k[len("label_") :]: v for k, v in info.items() if k.startswith("label_")}
        labels = flat or None
    if not isinstance(labels, dict):
        raise ValueError(f"env {env_id!r} returned no info['labels'] dict; it cannot label frames")
    out = {}
    for task, names in label_names.items():
        if task not in labels:
            raise ValueError(
                f"env {env_id!r} info['labels'] lacks task {task!r}; has {sorted(labels)}"
            )
        values = np.asarray(labels[task]).astype(np.int64).reshape(num_worlds)
        bad = (values < 0) | (values >= len(names))
        if bad.any():
            raise ValueError(
                f"env {env_id!r} label {task}={int(values[bad][0])} is outside "
                f"[0, {len(names) - 1}] ({names})"
            )
        out[task] = values
    return out


class _Worlds:
    """The env as a batch of worlds: one gymnasium env, or a roadgym vector env with
    autoreset disabled (``config.num_envs > 1``) whose worlds restart only when told to."""

    def __init__(self, env, policy: Policy | None, config: LabelledDatasetConfig) -> None:
        self.env, self.policy, self.config = env, policy, config
        self.num_worlds = config.num_envs
        self.batched = config.num_envs > 1
        self.observation, self.info = None, None

    def start(self, starting: np.ndarray, seeds: list[int | None]) -> None:
        """Reset the worlds in the (B,) mask ``starting``; ``seeds`` has one seed per world."""
        if not self.batched:
            if seeds[0] is None:  # the split's seeds ran out: the world stays idle
                return
            self.observation, self.info = self.env.reset(seed=seeds[0])
            self.env.action_space.seed(seeds[0])  # random actions follow the seed too
        elif self.observation is None:  # the first reset seeds the random actions
            self.env.action_space.seed(next(s for s in seeds if s is not None))
            self.observation, self.info = self.env.reset(seed=seeds)
        else:
            options = {"reset_mask": starting}
            self.observation, self.info = self.env.reset(seed=seeds, options=options)

    def frames(self) -> np.ndarray:
        """The worlds' current frames (B, H, W, C)."""
        frames = _extract_frame(self.observation, self.config.observation_key, self.batched)
        return frames if self.batched else frames[None]

    def advance(self) -> np.ndarray:
        """Act and step; returns which worlds (B,) ended (terminated or truncated)."""
        policy, observation = self.policy, self.observation
        action = policy(observation, self.info) if policy else self.env.action_space.sample()
        self.observation, _, terminated, truncated, self.info = self.env.step(action)
        return np.logical_or(terminated, truncated).reshape(self.num_worlds)


class _ShardWriter:
    """Buffers frames of one split and writes them as atomic ``.npz`` shards."""

    def __init__(self, root: Path, split: str, tasks: list[str], frames_per_shard: int) -> None:
        self.root, self.split, self.tasks, self.per_shard = root, split, tasks, frames_per_shard
        self.shards: list[dict[str, Any]] = []
        self._reset_buffer()

    def _reset_buffer(self) -> None:
        self.frames: list[np.ndarray] = []
        self.seeds: list[int] = []
        self.steps: list[int] = []
        self.labels: dict[str, list[int]] = {task: [] for task in self.tasks}

    def add(self, frame: np.ndarray, labels: dict[str, int], seed: int, step: int) -> None:
        self.frames.append(frame.copy())  # envs may reuse their observation buffer
        self.seeds.append(seed)
        self.steps.append(step)
        for task in self.tasks:
            self.labels[task].append(labels[task])
        if len(self.frames) >= self.per_shard:
            self.flush()

    def flush(self) -> None:
        if not self.frames:
            return
        name = f"{self.split}-{len(self.shards):05d}.npz"
        arrays = {
            "frames": np.stack(self.frames),  # (N, H, W, C) uint8
            "seeds": np.asarray(self.seeds, dtype=np.int64),
            "steps": np.asarray(self.steps, dtype=np.int64),
        }
        arrays.update({f"label_{t}": np.asarray(v, dtype=np.int64) for t, v in self.labels.items()})
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **arrays)
        atomic_write_bytes(self.root / name, buffer.getvalue())
        self.shards.append({"file": name, "frames": len(self.frames)})
        self._reset_buffer()


def _collect_split(worlds, config, split, label_names, root, progress) -> dict[str, Any]:
    """Drive ``worlds`` over the split's seeds, keep frames by stride and class cap, write
    the shards; returns the split's manifest entry. Worlds are visited in index order at
    each step, so a dataset depends on the number of worlds but on nothing else."""
    first_seed, stop_seed = getattr(config, f"{split}_seeds")
    target = int(getattr(config, f"{split}_frames"))
    tasks = list(label_names)
    counts = {task: np.zeros(len(names), dtype=np.int64) for task, names in label_names.items()}
    balance = config.balance_task
    cap = math.ceil(config.max_class_fraction * target) if balance else target
    # Below an equal share a class counts as rare and is recorded every rare_frame_stride.
    equal_share = target / len(label_names[balance]) if balance else 0.0
    rare_stride = config.rare_frame_stride or config.frame_stride
    writer = _ShardWriter(root, split, tasks, config.frames_per_shard)
    n = worlds.num_worlds
    world_seed = np.full(n, -1, dtype=np.int64)  # -1: idle, the split's seeds ran out
    world_step = np.zeros(n, dtype=np.int64)
    next_seed, kept = first_seed, 0

    def restart(ended: np.ndarray) -> None:
        nonlocal next_seed
        seeds: list[int | None] = [None] * n
        for i in np.flatnonzero(ended):
            if next_seed < stop_seed:
                seeds[i], next_seed = next_seed, next_seed + 1
            world_seed[i] = -1 if seeds[i] is None else seeds[i]
            world_step[i] = 0
        worlds.start(ended, seeds)

    if target > 0:
        restart(np.ones(n, dtype=bool))
    while kept < target and (world_seed >= 0).any():
        frames = worlds.frames()  # (B, H, W, C)
        labels = _read_labels(worlds.info, label_names, config.env_id, n)
        for i in np.flatnonzero(world_seed >= 0):
            label = int(labels[balance][i]) if balance is not None else 0
            stride = config.frame_stride
            if balance is not None and counts[balance][label] < equal_share:
                stride = rare_stride
            if world_step[i] % stride or (balance is not None and counts[balance][label] >= cap):
                continue
            writer.add(
                frames[i], {t: int(labels[t][i]) for t in tasks}, world_seed[i], world_step[i]
            )
            for task in tasks:
                counts[task][labels[task][i]] += 1
            kept += 1
            if progress is not None:
                progress.update(1)
            if kept >= target:
                break
        if kept >= target:
            break
        # The frame after an episode's end is never acted on, so it is never kept.
        ended = worlds.advance()
        world_step += 1
        ended |= world_step >= config.max_episode_steps
        if ended.any():
            restart(ended)
    writer.flush()
    return {
        "seeds": [first_seed, stop_seed],
        "seeds_used": next_seed - first_seed,
        "frames": kept,
        "requested_frames": target,
        "class_counts": {task: c.tolist() for task, c in counts.items()},
        "shards": writer.shards,
    }


def generate_labelled_dataset(
    config: LabelledDatasetConfig,
    out_dir: str | Path,
    *,
    policy: Policy | None = None,
    policy_factory: Callable[[Any], Policy] | None = None,
    env_factory: Callable[[], Any] | None = None,
    overwrite: bool = False,
    show_progress: bool = True,
) -> dict[str, Any]:
    """Drive an env over each split's seeds, write labelled shards and a manifest; return it.

    ``policy(observation, info)`` picks actions; ``policy_factory(env)`` builds one
    from the env instead (for controllers that read privileged state). Without
    either, ``config.policy`` decides: by default the expert driver for roadgym
    Track/Town envs, uniform random actions (seeded per episode) for others.
    ``env_factory`` builds the env instead of ``gymnasium.make(env_id)`` (a vector env
    with autoreset disabled and ``config.num_envs`` worlds when that is above 1).
    The same config, policy and env give bit-identical shards.
    """
    out_dir = Path(out_dir)
    # One writer per folder: a second generation into it raises instead of interleaving.
    with DirectoryLock(out_dir):
        return _generate_locked(
            config, out_dir, policy, policy_factory, env_factory, overwrite, show_progress
        )


def _generate_locked(
    config: LabelledDatasetConfig,
    out_dir: Path,
    policy: Policy | None,
    policy_factory: Callable[[Any], Policy] | None,
    env_factory: Callable[[], Any] | None,
    overwrite: bool,
    show_progress: bool,
) -> dict[str, Any]:
    manifest_path = out_dir / MANIFEST_NAME
    if manifest_path.exists():
        if not overwrite:
            raise FileExistsError(f"{manifest_path} exists; pass overwrite=True to replace it")
        # Drop the manifest first: an interrupted rewrite must not look like a complete set.
        manifest_path.unlink()
        for old in out_dir.glob("*-[0-9][0-9][0-9][0-9][0-9].npz"):
            old.unlink()
    out_dir.mkdir(parents=True, exist_ok=True)
    if policy is not None and policy_factory is not None:
        raise ValueError("pass policy or policy_factory, not both")
    if policy is None and policy_factory is None:
        policy_factory = resolve_policy_factory(
            config.policy, config.steer_noise, config.throttle_noise, config.policy_seed
        )
    env = env_factory() if env_factory is not None else _make_env(config)
    try:
        if policy_factory is not None:
            policy = policy_factory(env)
        label_names = getattr(env.unwrapped, "label_names", None)
        if not isinstance(label_names, dict) or not label_names:
            raise ValueError(
                f"env {config.env_id!r} has no unwrapped.label_names dict (task -> class names)"
            )
        label_names = {str(task): [str(n) for n in names] for task, names in label_names.items()}
        if config.balance_task is not None and config.balance_task not in label_names:
            raise ValueError(
                f"balance_task={config.balance_task!r} is not a task of {config.env_id!r}; "
                f"allowed: {sorted(label_names)}"
            )
        progress = None
        if show_progress:
            from tqdm.auto import tqdm

            total = config.train_frames + config.val_frames + config.test_frames
            progress = tqdm(total=total, desc="collecting frames", unit="frame")
        try:
            splits = {
                split: _collect_split(
                    _Worlds(env, policy, config), config, split, label_names, out_dir, progress
                )
                for split in SPLITS
            }
        finally:
            if progress is not None:
                progress.close()
    finally:
        env.close()
    shapes = set()
    for split in splits.values():
        for shard in split["shards"]:
            with np.load(out_dir / shard["file"]) as data:
                shapes.add(tuple(data["frames"].shape[1:]))
    manifest = {
        "format": _FORMAT,
        "version": _VERSION,
        "env_id": config.env_id,
        "frame_shape": list(shapes.pop()) if len(shapes) == 1 else None,
        "tasks": label_names,
        "config": json.loads(json.dumps(dataclasses.asdict(config), default=repr)),
        "driver": "random"
        if policy is None
        else getattr(policy, "description", getattr(policy, "__qualname__", repr(policy))),
        "splits": splits,
    }
    atomic_write_json(manifest_path, manifest)
    return manifest


def load_manifest(root: str | Path) -> dict[str, Any]:
    """Read and check a dataset folder's manifest; clear errors for missing or foreign folders."""
    root = Path(root)
    path = root / MANIFEST_NAME
    if not root.is_dir():
        raise FileNotFoundError(
            f"dataset folder {root} does not exist; expected a folder written by "
            "generate_labelled_dataset (shards + manifest.json)"
        )
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} is missing; {root} is not a finished roadgym dataset (an interrupted "
            "generation leaves shards without a manifest)"
        )
    try:
        manifest = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{path} is not valid JSON: {error}") from error
    if not isinstance(manifest, dict) or manifest.get("format") != _FORMAT:
        raise ValueError(f"{path} is not a {_FORMAT} manifest")
    if manifest.get("version") != _VERSION:
        raise ValueError(f"{path} has version {manifest.get('version')!r}; expected {_VERSION}")
    for key in ("splits", "tasks"):
        if not isinstance(manifest.get(key), dict):
            raise ValueError(
                f"{path} has no {key!r} mapping (got {manifest.get(key)!r}); a manifest written "
                "by generate_labelled_dataset lists its splits (with their shards) and tasks"
            )
    shape = manifest.get("frame_shape")
    if shape is not None and (
        not isinstance(shape, list) or len(shape) != 3 or not all(isinstance(n, int) for n in shape)
    ):
        raise ValueError(f"{path} frame_shape = {shape!r}; allowed: [H, W, C] ints or null")
    for split, entry in manifest["splits"].items():
        for shard in entry.get("shards", []) if isinstance(entry, dict) else [None]:
            name = shard.get("file") if isinstance(shard, dict) else None
            # A shard is a file in the dataset folder itself: no '../' or absolute paths,
            # so a manifest cannot make the loader read files elsewhere.
            if not isinstance(name, str) or Path(name).name != name or name in ("", ".", ".."):
                raise ValueError(
                    f"{path} split {split!r} lists shard {name!r}; allowed: a file name "
                    "inside the dataset folder (no directories)"
                )
    return manifest


def load_labelled_split(root: str | Path, split: str, task: str) -> ImageSet:
    """Load one split of a generated dataset as an :class:`ImageSet` for ``task``."""
    root = Path(root)
    manifest = load_manifest(root)
    if split not in manifest["splits"]:
        raise ValueError(f"split={split!r} is not in {root}; allowed: {sorted(manifest['splits'])}")
    if task not in manifest["tasks"]:
        raise ValueError(f"task={task!r} is not in {root}; allowed: {sorted(manifest['tasks'])}")
    frames, labels = [], []
    for shard in manifest["splits"][split]["shards"]:
        path = root / shard["file"]
        if not path.is_file():
            raise FileNotFoundError(f"shard {path} listed in {root / MANIFEST_NAME} is missing")
        try:
            with np.load(path) as data:
                shard_frames, shard_labels = data["frames"], data[f"label_{task}"]
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
            raise ValueError(f"shard {path} is malformed: {error}") from error
        if len(shard_frames) != shard["frames"] or len(shard_labels) != shard["frames"]:
            raise ValueError(
                f"shard {path} holds {len(shard_frames)} frames; manifest says {shard['frames']}"
            )
        expected = manifest.get("frame_shape") or (frames[0].shape[1:] if frames else None)
        if expected is not None and tuple(shard_frames.shape[1:]) != tuple(expected):
            raise ValueError(
                f"shard {path} holds frames of shape {tuple(shard_frames.shape[1:])}; the "
                f"manifest's frame_shape (or the split's first shard) is {tuple(expected)}: "
                "shards of one dataset must share one frame size"
            )
        frames.append(shard_frames)
        labels.append(shard_labels)
    if not frames:
        raise ValueError(f"split {split!r} of {root} has no frames")
    return ImageSet(np.concatenate(frames), np.concatenate(labels), manifest["tasks"][task], task)


def labelled_frame_dataset(root: str | Path, split: str, task: str) -> FrameDataset:
    """A torch Dataset of ``(uint8 HWC frame, class id)`` over one split of a generated dataset."""
    return FrameDataset(load_labelled_split(root, split, task))
