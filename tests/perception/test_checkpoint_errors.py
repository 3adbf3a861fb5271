"""Checkpoints that disagree with themselves, and saves that fail (issue 14)."""

from __future__ import annotations

import errno

import pytest
import torch

from roadgym.perception import TrainConfig, build_classifier, load_classifier, save_classifier
from roadgym.perception.trainer import train_classifier
from tests.perception.conftest import make_image_set


def test_a_checkpoint_whose_spec_disagrees_with_its_weights_says_so(tmp_path):
    model = build_classifier("nature", (36, 36, 3), 3, features_dim=8)
    path = save_classifier(tmp_path / "c.pt", model, class_names=["a", "b", "c"], task="t")
    payload = torch.load(path, weights_only=True)
    payload["encoder"]["options"] = {**payload["encoder"]["options"], "features_dim": 16}
    torch.save(payload, path)
    with pytest.raises(ValueError, match=r"c\.pt: its weights do not fit the encoder it names"):
        load_classifier(path)


def test_a_failed_checkpoint_save_leaves_no_report(tmp_path, monkeypatch):
    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("roadgym.perception.trainer.save_classifier", disk_full)
    images = make_image_set(32, seed=0)
    config = TrainConfig(epochs=1, batch_size=16, show_progress=False, tensorboard=False,
                         encoder_options={"features_dim": 8})  # fmt: skip
    with pytest.raises(OSError, match=r"checkpoint\.pt failed .*No space left.*no report\.json"):
        train_classifier(images, None, images, config, tmp_path / "run", verbose=False)
    assert not (tmp_path / "run" / "report.json").exists()
