"""Trainer pipeline at toy size, checkpoints, augmentation and metrics."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from roadgym.perception import (
    AugmentConfig,
    BatchAugmenter,
    TrainConfig,
    build_classifier,
    build_encoder,
    load_classifier,
    load_encoder_weights,
    load_labelled_split,
    save_classifier,
    train_classifier,
)
from roadgym.perception.metrics import classification_report, confusion_matrix
from roadgym.perception.trainer import balanced_indices
from tests.perception.conftest import make_image_set

TOY = dict(epochs=1, batch_size=16, show_progress=False, encoder_options={"features_dim": 16})


def test_whole_pipeline_on_a_generated_dataset(toy_dataset, tmp_path, capsys):
    train, val, test = (
        load_labelled_split(toy_dataset, s, "road_layout") for s in ("train", "val", "test")
    )
    config = TrainConfig(encoder="nature", augment=AugmentConfig(crop_padding=2, hflip=True), **TOY)
    result = train_classifier(train, val, test, config, tmp_path / "run")
    for name in ("checkpoint.pt", "report.json", "confusion.png"):
        assert (tmp_path / "run" / name).is_file()
    events = EventAccumulator(str(tmp_path / "run" / "tensorboard"))
    events.Reload()
    assert {"train/loss", "train/lr", "epoch/train_accuracy", "epoch/val_accuracy"} <= set(
        events.Tags()["scalars"]
    )
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    assert set(report["per_class"]) == {"straight", "curve_left", "curve_right"}
    assert report["split"] == "test" and report["support"] == len(test)
    assert len(report["history"]) == 1 and "val_accuracy" in report["history"][0]
    assert "precision" in capsys.readouterr().out
    assert result.train_images_per_s > 0
    assert not list((tmp_path / "run").glob(".*tmp*"))


def test_training_learns_an_easy_task():
    train, test = make_image_set(192, seed=1), make_image_set(64, seed=2)
    config = TrainConfig(
        encoder="nature",
        epochs=3,
        batch_size=32,
        show_progress=False,
        tensorboard=False,
        encoder_options={"features_dim": 32},
    )
    result = train_classifier(train, None, test, config, verbose=False)
    assert result.report["accuracy"] > 0.9


def test_checkpoint_round_trip_gives_identical_logits(tmp_path):
    train = make_image_set(64, seed=3)
    config = TrainConfig(
        encoder="resnet",
        encoder_options={"channels": [4, 8]},
        epochs=1,
        batch_size=16,
        show_progress=False,
        tensorboard=False,
    )
    result = train_classifier(train, None, train, config, tmp_path, verbose=False)
    model, meta = load_classifier(result.checkpoint_path)
    frames = torch.from_numpy(train.frames[:8])
    torch.testing.assert_close(model(frames), result.model.eval()(frames))
    assert meta["encoder"]["name"] == "resnet" and meta["encoder"]["input_shape"] == [36, 36, 3]
    assert meta["class_names"] == ["red", "green", "blue"] and meta["task"] == "colour"
    assert meta["normalization"]["mean"] != [0.0, 0.0, 0.0]  # dataset statistics were set


def test_checkpoint_into_the_wrong_architecture_or_shape_is_refused(tmp_path):
    model = build_classifier("nature", (36, 36, 3), 3, features_dim=8)
    path = save_classifier(tmp_path / "c.pt", model, class_names=["a", "b", "c"], task="t")
    load_encoder_weights(build_encoder("nature", (36, 36, 3), features_dim=8), path)
    with pytest.raises(ValueError, match="holds encoder 'nature'.*'impala'"):
        load_encoder_weights(build_encoder("impala", (36, 36, 3)), path)
    with pytest.raises(ValueError, match=r"input_shape \[40, 40, 3\]"):
        load_encoder_weights(build_encoder("nature", (40, 40, 3), features_dim=8), path)
    with pytest.raises(ValueError, match="options differs"):
        load_encoder_weights(build_encoder("nature", (36, 36, 3), features_dim=9), path)


def test_bad_checkpoint_files_give_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.pt"):
        load_classifier(tmp_path / "missing.pt")
    (tmp_path / "junk.pt").write_bytes(b"junk")
    with pytest.raises(ValueError, match="not a readable torch checkpoint"):
        load_classifier(tmp_path / "junk.pt")
    torch.save({"format": "other"}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="roadgym.classifier"):
        load_classifier(tmp_path / "other.pt")


def test_bad_train_config_and_mismatched_splits():
    with pytest.raises(ValueError, match="schedule = 'linear'; allowed: one of"):
        TrainConfig(schedule="linear")
    with pytest.raises(ValueError, match="epochs = 0; allowed"):
        TrainConfig(epochs=0)
    with pytest.raises(ValueError, match="crop_padding"):
        AugmentConfig(crop_padding=-1)
    train, other = make_image_set(8, seed=0), make_image_set(8, seed=0, size=40)
    with pytest.raises(ValueError, match="test set"):
        train_classifier(train, None, other, TrainConfig(**TOY))


def test_label_aware_flip_swaps_curves_only_when_mirrored():
    names = ("straight", "curve_left", "curve_right")
    augmenter = BatchAugmenter(AugmentConfig(crop_padding=0, hflip=True), names, "road_layout")
    frames = torch.arange(64 * 6 * 5 * 3, dtype=torch.int64).remainder(251).to(torch.uint8)
    frames = frames.reshape(64, 6, 5, 3)  # (B, H, W, C), no frame is its own mirror
    labels = torch.arange(64) % 3
    out, out_labels = augmenter(frames, labels, torch.Generator().manual_seed(0))
    mirrored = (out == frames.flip(2)).flatten(1).all(1)
    assert 0 < int(mirrored.sum()) < 64
    expected = torch.where(mirrored, torch.tensor([0, 2, 1])[labels], labels)
    assert torch.equal(out_labels, expected)
    assert torch.equal(out[~mirrored], frames[~mirrored])
    with pytest.raises(ValueError, match="'curve_up'"):
        BatchAugmenter(
            AugmentConfig(hflip=True, hflip_swap=(("curve_up", "straight"),)), names, "road_layout"
        )


def test_default_flip_pairs_apply_only_where_the_classes_exist():
    town = ("straight", "curve", "intersection")  # Town's road_layout: no directional curves
    augmenter = BatchAugmenter(AugmentConfig(hflip=True), town, "road_layout")
    assert augmenter.flip_permutation.tolist() == [0, 1, 2]
    track = ("straight", "curve_left", "curve_right")
    assert BatchAugmenter(
        AugmentConfig(hflip=True), track, "road_layout"
    ).flip_permutation.tolist() == [0, 2, 1]


def test_random_crop_keeps_shape_and_shifts_content():
    augmenter = BatchAugmenter(AugmentConfig(crop_padding=2), ("a", "b"), "t")
    frames = torch.randint(0, 256, (16, 10, 10, 3), dtype=torch.uint8)
    labels = torch.zeros(16, dtype=torch.int64)
    out, out_labels = augmenter(frames, labels, torch.Generator().manual_seed(0))
    assert out.shape == frames.shape and out.dtype == torch.uint8
    assert torch.equal(out_labels, labels)
    # Away from the replicated border every output frame is its input shifted by <= 2 px.
    for b in range(16):
        shifts = [
            (dy, dx)
            for dy in range(-2, 3)
            for dx in range(-2, 3)
            if torch.equal(out[b, 2:8, 2:8], frames[b, 2 + dy : 8 + dy, 2 + dx : 8 + dx])
        ]
        assert shifts, f"frame {b} is not a shifted copy of its input"
    assert not torch.equal(out, frames)


def test_oversampling_balances_classes():
    labels = torch.tensor([0] * 10 + [1] * 2 + [2] * 5)
    picks = balanced_indices(labels, torch.Generator().manual_seed(0))
    assert torch.bincount(labels[picks]).tolist() == [10, 10, 10]


def test_report_matches_hand_computed_precision_recall():
    matrix = confusion_matrix(np.array([0, 0, 1, 1, 1, 2]), np.array([0, 1, 1, 1, 0, 2]), 3)
    assert matrix.tolist() == [[1, 1, 0], [1, 2, 0], [0, 0, 1]]
    report = classification_report(matrix, ["a", "b", "c"])
    assert report["accuracy"] == pytest.approx(4 / 6)
    assert report["per_class"]["b"]["precision"] == pytest.approx(2 / 3)
    assert report["per_class"]["b"]["recall"] == pytest.approx(2 / 3)
    assert report["per_class"]["a"]["f1"] == pytest.approx(0.5)
    assert report["per_class"]["c"]["support"] == 1


def test_default_torch_threads_is_one_on_small_cpus():
    from roadgym.perception.device import default_torch_threads

    assert default_torch_threads(2) == 1
    assert default_torch_threads(4) == 1
    assert default_torch_threads(16) == 8
