"""Multi-task encoder training: one encoder, a head per task, a checkpoint others can load."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from roadgym.perception.checkpoint import load_classifier, load_encoder_weights
from roadgym.perception.encoders import build_encoder
from roadgym.perception.multitask import (
    MultiTaskConfig,
    load_multitask_classifier,
    load_multitask_split,
    rescale_features,
    train_multitask,
)

TASKS = ("road_layout", "light_state")
SMALL = {"features_dim": 32, "channels": [8, 16, 16]}


def test_split_carries_every_task_label(toy_dataset):
    data = load_multitask_split(toy_dataset, "train", TASKS)
    assert data.frames.dtype == np.uint8 and len(data) == 96
    assert set(data.labels) == set(TASKS)
    assert data.class_names["light_state"] == ["red", "green"]
    with pytest.raises(ValueError, match="object_ahead"):
        load_multitask_split(toy_dataset, "train", ("object_ahead",))


def test_trains_all_heads_and_writes_a_loadable_checkpoint(toy_dataset, tmp_path):
    config = MultiTaskConfig(
        tasks=TASKS, encoder_options=SMALL, epochs=15, batch_size=16, lr=3e-3, crop_padding=0
    )
    report = train_multitask(toy_dataset, tmp_path, config, verbose=False)
    # The toy road bar is plain (chance: 1/3); the toy light is a 4x4 corner that this small
    # net does not learn from 96 frames, so only its presence in the report is checked.
    assert report["test_accuracy"]["road_layout"] > 0.9
    assert set(report["test_accuracy"]) == set(TASKS)
    assert json.loads((tmp_path / "report.json").read_text())["tasks"] == list(TASKS)
    # The encoder loads where a single-task checkpoint's would (PPO's --pretrained).
    encoder = build_encoder("nature", (36, 36, 3), **SMALL)
    load_encoder_weights(encoder, tmp_path / "checkpoint.pt")
    model, _ = load_multitask_classifier(tmp_path / "checkpoint.pt")
    torch.testing.assert_close(encoder.state_dict(), model.encoder.state_dict())
    assert float(encoder.std.min()) < 1.0  # normalised with the dataset's statistics
    # ... and as the first task's ordinary classifier.
    classifier, meta = load_classifier(tmp_path / "checkpoint.pt")
    assert meta["task"] == "road_layout" and classifier.head.out_features == 3


def test_same_seed_same_weights(toy_dataset, tmp_path):
    config = MultiTaskConfig(tasks=TASKS, encoder_options=SMALL, epochs=1, batch_size=16)
    for name in ("a", "b"):
        train_multitask(toy_dataset, tmp_path / name, config, verbose=False)
    first, _ = load_multitask_classifier(tmp_path / "a" / "checkpoint.pt")
    second, _ = load_multitask_classifier(tmp_path / "b" / "checkpoint.pt")
    torch.testing.assert_close(first.state_dict(), second.state_dict())


def test_bad_config_names_the_field():
    with pytest.raises(ValueError, match="tasks"):
        MultiTaskConfig(tasks=())
    with pytest.raises(ValueError, match="epochs"):
        MultiTaskConfig(epochs=0)


def test_rescaled_features_keep_every_logit(toy_dataset, tmp_path):
    config = MultiTaskConfig(tasks=TASKS, encoder_options=SMALL, epochs=1, batch_size=16)
    train_multitask(toy_dataset, tmp_path, config, verbose=False)
    rescaled = rescale_features(tmp_path / "checkpoint.pt", tmp_path / "small.pt", 0.1)
    before, _ = load_multitask_classifier(tmp_path / "checkpoint.pt")
    after, _ = load_multitask_classifier(rescaled)
    frames = torch.from_numpy(load_multitask_split(toy_dataset, "test", TASKS).frames)
    with torch.no_grad():
        torch.testing.assert_close(after.encoder(frames), 0.1 * before.encoder(frames))
        for task, logits in before(frames).items():
            torch.testing.assert_close(after(frames)[task], logits, atol=1e-4, rtol=1e-4)
    with pytest.raises(ValueError, match="factor"):
        rescale_features(tmp_path / "checkpoint.pt", tmp_path / "bad.pt", 0.0)


def test_command_line_writes_the_checkpoint(toy_dataset, tmp_path):
    from roadgym.cli import main

    argv = ["train-multitask", "--dataset", toy_dataset, "--out", str(tmp_path)]
    assert main(argv + ["--tasks", *TASKS, "--epochs", "1", "--batch-size", "16"]) == 0
    assert (tmp_path / "checkpoint.pt").is_file() and (tmp_path / "report.json").is_file()
