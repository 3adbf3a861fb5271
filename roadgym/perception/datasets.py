"""In-memory image classification sets, a torch Dataset over them, and a CIFAR-10 reader.

Every data source in roadgym.perception (simulator shards, CIFAR-10) ends up as an
:class:`ImageSet`: uint8 ``(N, H, W, C)`` frames, the agent's own layout, plus int64
class ids and the class names. The trainer moves whole sets to the device once
and batches there; :class:`FrameDataset` is for users who want a DataLoader.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

__all__ = ["CIFAR10_FILES", "FrameDataset", "ImageSet", "load_cifar10"]


@dataclass
class ImageSet:
    """A labelled set of frames for one classification task."""

    frames: np.ndarray
    """uint8 frames, ``(N, H, W, C)``, exactly as the agent sees them."""
    labels: np.ndarray
    """int64 class ids, ``(N,)``, each in ``range(len(class_names))``."""
    class_names: tuple[str, ...]
    """Name of each class id."""
    task: str
    """Name of the labelling task (``road_layout``, ``light_state``, ``cifar10``...)."""

    def __post_init__(self) -> None:
        self.class_names = tuple(str(name) for name in self.class_names)
        if self.frames.dtype != np.uint8 or self.frames.ndim != 4:
            raise ValueError(
                f"ImageSet.frames must be uint8 (N, H, W, C); got {self.frames.dtype} "
                f"{self.frames.shape}"
            )
        self.labels = np.asarray(self.labels, dtype=np.int64)
        if self.labels.shape != (len(self.frames),):
            raise ValueError(
                f"ImageSet.labels shape {self.labels.shape} must be ({len(self.frames)},)"
            )
        if len(self.class_names) < 2:
            raise ValueError(f"ImageSet.class_names={self.class_names} needs at least 2 classes")
        if len(self.labels) and (self.labels.min() < 0 or self.labels.max() >= self.num_classes):
            raise ValueError(
                f"ImageSet.labels range [{self.labels.min()}, {self.labels.max()}] is outside "
                f"[0, {self.num_classes - 1}] for classes {self.class_names}"
            )

    def __len__(self) -> int:
        return len(self.frames)

    @property
    def num_classes(self) -> int:
        """Number of classes."""
        return len(self.class_names)

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """``(H, W, C)`` of one frame."""
        return tuple(int(s) for s in self.frames.shape[1:])  # type: ignore[return-value]

    def class_counts(self) -> np.ndarray:
        """Frames per class id, ``(num_classes,)``."""
        return np.bincount(self.labels, minlength=self.num_classes)

    def subset(self, indices: np.ndarray) -> ImageSet:
        """A new set holding only ``indices`` (copies the frames)."""
        return ImageSet(self.frames[indices], self.labels[indices], self.class_names, self.task)


class FrameDataset(Dataset):
    """A map-style torch Dataset over an :class:`ImageSet`: ``(uint8 HWC frame, class id)``."""

    def __init__(self, images: ImageSet) -> None:
        self.images = images
        self.class_names = images.class_names

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        frame = torch.from_numpy(self.images.frames[index])  # (H, W, C) uint8
        return frame, int(self.images.labels[index])


CIFAR10_FILES = {
    "train": tuple(f"data_batch_{i}" for i in range(1, 6)),
    "test": ("test_batch",),
}
"""Batch files of the python-pickle CIFAR-10 release (``cifar-10-batches-py``) per split."""


class _CifarUnpickler(pickle.Unpickler):
    """Unpickles CIFAR-10 batches and nothing else: dicts, lists, bytes and numpy arrays.

    A plain ``pickle.load`` runs whatever code a pickle names; this one refuses every
    global except those that pickled numpy arrays and bytes need, so a tampered batch file
    raises instead of executing.
    """

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.numeric", "_frombuffer"),  # numpy arrays in pickle protocol 5
        ("numpy._core.numeric", "_frombuffer"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("_codecs", "encode"),  # bytes in protocol 2 pickles written by Python 3
    }

    def find_class(self, module: str, name: str):
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(
                f"global {module}.{name} is not allowed in a CIFAR-10 batch (only numpy arrays)"
            )
        return super().find_class(module, name)


def _unpickle(path: Path) -> dict:
    # CIFAR-10's python release is pickled; the restricted unpickler runs no foreign code.
    try:
        with path.open("rb") as file:
            data = _CifarUnpickler(file, encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError) as error:
        raise ValueError(f"{path} is not a CIFAR-10 python-pickle batch: {error}") from error
    if not isinstance(data, dict):
        raise ValueError(f"{path} holds a {type(data).__name__}, expected a dict of arrays")
    return data


def _get(batch: dict, key: bytes, path: Path):
    # The official files use byte keys; copies re-pickled under python 3 may use str keys.
    for candidate in (key, key.decode()):
        if candidate in batch:
            return batch[candidate]
    raise ValueError(f"{path} has no {key!r} entry; expected keys b'data' and b'labels'")


def load_cifar10(root: str | Path, split: str = "train") -> ImageSet:
    """Read a local CIFAR-10 copy in its python-pickle format; nothing is downloaded.

    ``root`` is the ``cifar-10-batches-py`` folder holding ``data_batch_1`` ...
    ``data_batch_5``, ``test_batch`` and ``batches.meta``. Each batch is a dict with
    ``b"data"``, ``(N, 3072)`` uint8 in planar CHW order, and ``b"labels"``. The frames
    come back as HWC uint8 ``(N, 32, 32, 3)``, the layout of roadgym observations.
    """
    root = Path(root)
    if split not in CIFAR10_FILES:
        raise ValueError(f"split={split!r} is not one of {sorted(CIFAR10_FILES)}")
    expected = [*CIFAR10_FILES[split], "batches.meta"]
    if not root.is_dir():
        raise FileNotFoundError(
            f"CIFAR-10 folder {root} does not exist; expected a cifar-10-batches-py folder "
            f"holding {expected}"
        )
    missing = [name for name in expected if not (root / name).is_file()]
    if missing:
        raise FileNotFoundError(
            f"CIFAR-10 folder {root} lacks {missing}; expected the python-pickle release "
            f"files {expected}"
        )
    meta_path = root / "batches.meta"
    class_names = [
        name.decode() if isinstance(name, bytes) else str(name)
        for name in _get(_unpickle(meta_path), b"label_names", meta_path)
    ]
    frames, labels = [], []
    for name in CIFAR10_FILES[split]:
        path = root / name
        batch = _unpickle(path)
        data = np.asarray(_get(batch, b"data", path))
        batch_labels = np.asarray(_get(batch, b"labels", path), dtype=np.int64)
        if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
            raise ValueError(
                f"{path} b'data' is {data.dtype} {data.shape}; expected uint8 (N, 3072)"
            )
        if batch_labels.shape != (len(data),):
            raise ValueError(
                f"{path} has {len(batch_labels)} labels for {len(data)} images; expected equal"
            )
        frames.append(data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))  # (N, 32, 32, 3)
        labels.append(batch_labels)
    return ImageSet(
        np.ascontiguousarray(np.concatenate(frames)),
        np.concatenate(labels),
        tuple(class_names),
        task="cifar10",
    )
