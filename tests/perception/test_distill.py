"""Distillation loss and the teacher / student comparison at toy size."""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F

from roadgym.perception import DistillConfig, TrainConfig, distillation_loss, run_distillation
from tests.perception.conftest import make_image_set


def test_distillation_loss_limits():
    torch.manual_seed(0)
    student, teacher = torch.randn(8, 3), torch.randn(8, 3)
    labels = torch.randint(0, 3, (8,))
    hard = distillation_loss(student, teacher, labels, temperature=4.0, alpha=0.0)
    torch.testing.assert_close(hard, F.cross_entropy(student, labels))
    same = distillation_loss(teacher, teacher, labels, temperature=4.0, alpha=1.0)
    assert float(same) == pytest.approx(0.0, abs=1e-6)
    # The soft term is scaled by T^2 so its size does not collapse as T grows.
    kl = F.kl_div(F.log_softmax(student / 2, 1), F.softmax(teacher / 2, 1), reduction="batchmean")
    soft = distillation_loss(student, teacher, labels, temperature=2.0, alpha=1.0)
    torch.testing.assert_close(soft, 4 * kl)


def test_bad_distill_config():
    with pytest.raises(ValueError, match="temperature"):
        DistillConfig(temperature=0)
    with pytest.raises(ValueError, match="alpha = 1.5; allowed: a number in"):
        DistillConfig(alpha=1.5)
    with pytest.raises(ValueError, match="student_seeds = 0; allowed"):
        DistillConfig(student_seeds=0)


def test_run_distillation_reports_all_three_models(tmp_path):
    train, test = make_image_set(96, seed=5), make_image_set(32, seed=6)
    common = dict(epochs=1, batch_size=32, show_progress=False, tensorboard=False)
    config = DistillConfig(
        teacher=TrainConfig(encoder="resnet", encoder_options={"channels": [4, 8]}, **common),
        student=TrainConfig(
            encoder="nature", encoder_options={"features_dim": 8, "channels": [4, 4, 4]}, **common
        ),
        throughput_batch_size=16,
        throughput_seconds=0.05,
    )
    report = run_distillation(train, None, test, config, tmp_path, verbose=False)
    assert set(report["models"]) == {"teacher", "student_alone", "student_distilled"}
    for row in report["models"].values():
        assert 0.0 <= row["accuracy"] <= 1.0
        assert row["parameters"] > 0 and row["cpu_images_per_s"] > 0
    saved = json.loads((tmp_path / "distill_report.json").read_text())
    assert saved["models"]["teacher"]["encoder"] == "resnet"
    assert (tmp_path / "student_distilled" / "checkpoint.pt").is_file()
    # A trained teacher can be reused from its checkpoint; students over several seeds
    # report the mean, and the first seed's run is the single-seed run again.
    reuse = DistillConfig(
        teacher_checkpoint=str(tmp_path / "teacher" / "checkpoint.pt"),
        student=config.student,
        throughput_batch_size=16,
        throughput_seconds=0.05,
        student_seeds=2,
    )
    again = run_distillation(train, None, test, reuse, tmp_path / "seeds", verbose=False)
    assert again["models"]["teacher"]["accuracy"] == report["models"]["teacher"]["accuracy"]
    for name in ("student_alone", "student_distilled"):
        runs = again["models"][name]["accuracy_runs"]
        assert len(runs) == 2 and again["models"][name]["accuracy"] == pytest.approx(sum(runs) / 2)
        assert runs[0] == report["models"][name]["accuracy"]
        assert (tmp_path / "seeds" / f"{name}_seed1" / "checkpoint.pt").is_file()
