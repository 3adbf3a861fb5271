"""Frames with all their labels, read from a roadgym labelled dataset, and the palette.

The classifier loads one task at a time (:func:`~roadgym.perception.labelled.load_labelled_split`);
the GAN is conditioned on several tasks at once, so :class:`LabelledFrames` holds the
frames once and a ``(N, T)`` label matrix, one column per task.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from roadgym.perception.datasets import ImageSet
from roadgym.perception.labelled import load_labelled_split, load_manifest

__all__ = ["LabelledFrames", "extract_palette", "load_labelled_frames", "palette_indices"]


@dataclass
class LabelledFrames:
    """uint8 frames ``(N, H, W, 3)`` with class ids ``(N, T)`` for each task in ``tasks``."""

    frames: np.ndarray
    labels: np.ndarray
    tasks: tuple[str, ...]
    class_names: dict[str, tuple[str, ...]]

    def __post_init__(self) -> None:
        if self.frames.dtype != np.uint8 or self.frames.ndim != 4 or self.frames.shape[3] != 3:
            raise ValueError(f"frames must be uint8 (N, H, W, 3); got {self.frames.shape}")
        if self.labels.shape != (len(self.frames), len(self.tasks)):
            raise ValueError(
                f"labels shape {self.labels.shape} must be ({len(self.frames)}, {len(self.tasks)})"
            )
        for t, task in enumerate(self.tasks):
            k = len(self.class_names[task])
            if len(self.labels) and not 0 <= self.labels[:, t].min() <= self.labels[:, t].max() < k:
                raise ValueError(f"labels of task {task!r} fall outside [0, {k - 1}]")

    def __len__(self) -> int:
        return len(self.frames)

    @property
    def num_classes(self) -> tuple[int, ...]:
        """Classes per task, in ``tasks`` order."""
        return tuple(len(self.class_names[t]) for t in self.tasks)

    def column(self, task: str) -> int:
        """Index of ``task`` in the label matrix; ValueError naming the allowed tasks."""
        if task not in self.tasks:
            raise ValueError(f"task={task!r} is not one of {self.tasks}")
        return self.tasks.index(task)

    def subset(self, indices: np.ndarray) -> LabelledFrames:
        """A new set holding only ``indices``."""
        return LabelledFrames(
            self.frames[indices], self.labels[indices], self.tasks, self.class_names
        )

    def image_set(self, task: str) -> ImageSet:
        """The frames as a one-task :class:`ImageSet` (for the classifier trainer)."""
        column = self.column(task)
        return ImageSet(self.frames, self.labels[:, column], self.class_names[task], task)


def load_labelled_frames(
    root: str | Path, split: str, tasks: tuple[str, ...], max_frames: int | None = None
) -> LabelledFrames:
    """Load ``split`` of dataset ``root`` with the labels of every task in ``tasks``."""
    manifest = load_manifest(root)
    missing = [t for t in tasks if t not in manifest["tasks"]]
    if missing:
        raise ValueError(
            f"tasks {missing} are not in dataset {root}; it has {sorted(manifest['tasks'])}"
        )
    sets = [load_labelled_split(root, split, task) for task in tasks]
    frames = sets[0].frames
    labels = np.stack([s.labels for s in sets], axis=1)  # (N, T)
    if max_frames is not None:
        frames, labels = frames[:max_frames], labels[:max_frames]
    names = {s.task: s.class_names for s in sets}
    return LabelledFrames(np.ascontiguousarray(frames), labels, tuple(tasks), names)


def extract_palette(frames: np.ndarray, max_colours: int = 64) -> np.ndarray:
    """The distinct RGB colours of ``frames`` as float ``(K, 3)`` in [0, 1], sorted.

    Raises ValueError when there are more than ``max_colours`` (frames that are not
    palette renders, e.g. photographs: use output='rgb' for those).
    """
    pixels = frames.reshape(-1, 3).astype(np.uint32)
    # Pack each colour into one int and count: np.unique(axis=0) sorts rows, 30x slower.
    keys = np.flatnonzero(np.bincount(pixels[:, 0] << 16 | pixels[:, 1] << 8 | pixels[:, 2]))
    colours = np.stack([keys >> 16, (keys >> 8) & 255, keys & 255], axis=1)  # (K, 3) sorted
    if len(colours) > max_colours:
        raise ValueError(
            f"the frames hold {len(colours)} distinct colours, more than "
            f"max_palette_colours={max_colours}; use output='rgb' for non-palette frames"
        )
    if len(colours) < 2:
        raise ValueError(f"the frames hold {len(colours)} colour(s); a palette needs >= 2")
    return colours.astype(np.float32) / 255.0


def palette_indices(frames: np.ndarray, palette: np.ndarray) -> np.ndarray:
    """Each pixel's index in ``palette`` (float ``(K, 3)`` in [0, 1]): uint8 ``(N, H, W)``.

    Raises ValueError if a pixel's colour is not in the palette.
    """
    colours = np.round(palette * 255).astype(np.uint32)  # (K, 3)
    keys = colours[:, 0] << 16 | colours[:, 1] << 8 | colours[:, 2]
    lookup = np.full(1 << 24, 255, np.uint8)
    lookup[keys] = np.arange(len(keys), dtype=np.uint8)
    pixels = frames.astype(np.uint32)
    out = lookup[pixels[..., 0] << 16 | pixels[..., 1] << 8 | pixels[..., 2]]  # (N, H, W)
    if len(keys) < 255 and (out == 255).any():
        raise ValueError("some pixels have colours outside the palette")
    return out
