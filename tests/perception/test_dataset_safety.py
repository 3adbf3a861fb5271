"""Datasets a user can trust (issue 14): checked manifests, confined shard paths, one
writer per folder, and CIFAR-10 batches that cannot run code."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest

from roadgym.perception import generate_labelled_dataset, load_cifar10, load_labelled_split
from roadgym.perception.atomic import DirectoryLock, DirectoryLockedError
from tests.perception.conftest import TOY_CONFIG
from tests.perception.fake_env import FakeLabelledEnv
from tests.perception.test_datasets import _write_cifar


def _edit_manifest(root, edit) -> None:
    path = root / "manifest.json"
    manifest = json.loads(path.read_text())
    edit(manifest)
    path.write_text(json.dumps(manifest))


@pytest.fixture
def dataset(tmp_path):
    root = tmp_path / "data"
    generate_labelled_dataset(TOY_CONFIG, root, env_factory=FakeLabelledEnv, show_progress=False)
    return root


def test_manifest_without_splits_says_so(dataset):
    _edit_manifest(dataset, lambda m: m.pop("splits"))
    with pytest.raises(ValueError, match="has no 'splits' mapping"):
        load_labelled_split(dataset, "train", "road_layout")


def test_shard_paths_outside_the_folder_are_refused(dataset, tmp_path):
    outside = tmp_path / "outside.npz"
    first = json.loads((dataset / "manifest.json").read_text())["splits"]["train"]["shards"][0]
    outside.write_bytes((dataset / first["file"]).read_bytes())

    def escape(manifest):
        manifest["splits"]["train"]["shards"][0]["file"] = "../outside.npz"

    _edit_manifest(dataset, escape)
    with pytest.raises(ValueError, match=r"lists shard '\.\./outside\.npz'; allowed: a file name"):
        load_labelled_split(dataset, "train", "road_layout")


def test_frame_shape_of_the_manifest_is_checked(dataset):
    _edit_manifest(dataset, lambda m: m.update(frame_shape=[64, 64, 3]))
    with pytest.raises(ValueError, match=r"frames of shape \(36, 36, 3\).*\(64, 64, 3\)"):
        load_labelled_split(dataset, "train", "road_layout")


def test_shards_of_mixed_frame_sizes_are_refused_clearly(dataset):
    manifest = json.loads((dataset / "manifest.json").read_text())
    second = manifest["splits"]["train"]["shards"][1]["file"]
    with np.load(dataset / second) as data:
        arrays = dict(data)
    arrays["frames"] = np.zeros((len(arrays["frames"]), 20, 20, 3), np.uint8)
    np.savez(dataset / second, **arrays)
    _edit_manifest(dataset, lambda m: m.update(frame_shape=None))
    with pytest.raises(ValueError, match="must share one frame size"):
        load_labelled_split(dataset, "train", "road_layout")


def test_a_second_writer_of_one_folder_is_refused(tmp_path):
    root = tmp_path / "busy"
    with DirectoryLock(root):
        with pytest.raises(
            DirectoryLockedError, match=f"in use by another process .pid {os.getpid()}"
        ):
            generate_labelled_dataset(
                TOY_CONFIG, root, env_factory=FakeLabelledEnv, show_progress=False
            )
    # Released on exit: the folder is usable again.
    generate_labelled_dataset(TOY_CONFIG, root, env_factory=FakeLabelledEnv, show_progress=False)


def test_a_killed_holder_leaves_no_stale_lock(tmp_path):
    code = (
        "import os, sys; from roadgym.perception.atomic import DirectoryLock; "
        f"DirectoryLock({str(tmp_path)!r}).__enter__(); os._exit(0)"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    with DirectoryLock(tmp_path):
        pass


class _Payload:
    def __reduce__(self):
        return (os.system, ("echo pwned > /dev/null",))


def test_cifar_batches_that_name_other_code_are_refused(tmp_path):
    root = tmp_path / "cifar"
    _write_cifar(root)
    with (root / "test_batch").open("wb") as file:
        pickle.dump({b"data": _Payload(), b"labels": [0]}, file)
    with pytest.raises(ValueError, match=r"global (posix|os)\.system is not allowed"):
        load_cifar10(root, "test")


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_cifar_batches_of_every_pickle_protocol_load(tmp_path, protocol):
    root = tmp_path / "cifar"
    images = _write_cifar(root)
    data = images.transpose(0, 3, 1, 2).reshape(len(images), -1)
    with (root / "test_batch").open("wb") as file:
        pickle.dump({b"data": data, b"labels": list(range(len(data)))}, file, protocol=protocol)
    assert load_cifar10(root, "test").frames.shape == (len(data), 32, 32, 3)
