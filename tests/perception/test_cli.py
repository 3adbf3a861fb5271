"""The script fronts: flags generated from the configs, artefacts written, bad paths refused."""

from __future__ import annotations

import json

import pytest
import torch

from roadgym.perception.cli import distill_main, train_classifier_main
from tests.perception.test_datasets import _write_cifar

QUIET = ["--no-show-progress", "--no-tensorboard", "--epochs", "1", "--batch-size", "16"]


def test_train_classifier_cli_on_a_dataset(toy_dataset, tmp_path):
    threads_before = torch.get_num_threads()
    wanted_threads = 1 if threads_before != 1 else 2
    try:
        report = train_classifier_main(
            [
                "--dataset",
                toy_dataset,
                "--task",
                "light_state",
                "--encoder",
                "nature",
                "--encoder-options",
                '{"features_dim": 16}',
                "--augment-crop-padding",
                "2",
                "--torch-threads",
                str(wanted_threads),
                "--out",
                str(tmp_path),
                *QUIET,
            ]
        )
        assert torch.get_num_threads() == wanted_threads
    finally:
        torch.set_num_threads(threads_before)
    assert set(report["per_class"]) == {"red", "green"}
    assert json.loads((tmp_path / "report.json").read_text())["task"] == "light_state"


def test_train_classifier_cli_on_cifar(tmp_path):
    _write_cifar(tmp_path / "cifar")
    report = train_classifier_main(
        [
            "--cifar10",
            str(tmp_path / "cifar"),
            "--encoder",
            "resnet",
            "--encoder-options",
            '{"channels": [4, 8]}',
            "--augment-hflip",
            "--out",
            str(tmp_path / "run"),
            *QUIET,
        ]
    )
    assert report["support"] == 4 and len(report["per_class"]) == 10


def test_cli_errors(tmp_path, toy_dataset, capsys):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        train_classifier_main(["--cifar10", str(tmp_path / "nowhere"), "--out", str(tmp_path)])
    with pytest.raises(SystemExit):
        train_classifier_main(["--dataset", toy_dataset, "--out", str(tmp_path)])  # no --task
    with pytest.raises(SystemExit):
        train_classifier_main(
            ["--dataset", toy_dataset, "--task", "light_state", "--torch-threads", "0"]
            + ["--out", str(tmp_path)]
        )
    assert "--torch-threads: '0'; allowed: an int >= 1" in capsys.readouterr().err
    with pytest.raises(ValueError, match="'vit'"):
        train_classifier_main(
            [
                "--dataset",
                toy_dataset,
                "--task",
                "road_layout",
                "--encoder",
                "vit",
                "--out",
                str(tmp_path),
                *QUIET,
            ]
        )


def test_distill_cli(toy_dataset, tmp_path):
    report = distill_main(
        [
            "--dataset",
            toy_dataset,
            "--task",
            "road_layout",
            "--out",
            str(tmp_path),
            "--teacher-encoder-options",
            '{"channels": [4, 8]}',
            "--student-encoder-options",
            '{"features_dim": 8}',
            "--throughput-batch-size",
            "8",
            "--throughput-seconds",
            "0.05",
            "--temperature",
            "2",
            "--alpha",
            "0.5",
            *[_prefixed(flag, "teacher") for flag in QUIET],
            *[_prefixed(flag, "student") for flag in QUIET],
        ]
    )
    assert report["temperature"] == 2.0 and report["alpha"] == 0.5
    assert report["models"]["student_distilled"]["encoder"] == "nature"


def _prefixed(flag: str, prefix: str) -> str:
    """``--epochs`` -> ``--teacher-epochs``, ``--no-x`` -> ``--no-teacher-x``."""
    if flag.startswith("--no-"):
        return f"--no-{prefix}-{flag[5:]}"
    return flag.replace("--", f"--{prefix}-", 1) if flag.startswith("--") else flag


def test_train_classifier_cli_generates_a_dataset_from_an_env_id(tmp_path):
    import gymnasium

    from tests.perception.fake_env import FakeLabelledEnv

    if "roadgym_test/FakeLabelled-v0" not in gymnasium.registry:
        gymnasium.register("roadgym_test/FakeLabelled-v0", entry_point=FakeLabelledEnv)
    data = tmp_path / "data"
    args = [
        "--env",
        "roadgym_test/FakeLabelled-v0",
        "--dataset",
        str(data),
        "--task",
        "road_layout",
        "--data-policy",
        "tests.perception.fake_env:make_steady_policy",
        "--data-train-frames",
        "40",
        "--data-val-frames",
        "8",
        "--data-test-frames",
        "8",
        "--data-train-seeds",
        "0",
        "10",
        "--data-val-seeds",
        "10",
        "20",
        "--data-test-seeds",
        "20",
        "30",
        "--encoder",
        "nature",
        "--out",
        str(tmp_path / "run"),
        *QUIET,
    ]
    report = train_classifier_main(args)
    assert report["support"] == 8
    manifest = json.loads((data / "manifest.json").read_text())
    assert manifest["env_id"] == "roadgym_test/FakeLabelled-v0"
    assert manifest["config"]["train_seeds"] == [0, 10]
