"""``roadgym gan`` end to end on a toy dataset: train, sample, edit, score; then the
augmentation study (experiments/gan/) on the trained GAN."""

from __future__ import annotations

import json

import pytest

from roadgym.cli import main as roadgym_main
from roadgym.perception.gan.cli import build_parser, main
from roadgym.perception.labelled import generate_labelled_dataset, load_labelled_split
from roadgym.perception.trainer import TrainConfig, train_classifier
from tests.experiment_scripts import load_experiment
from tests.perception.conftest import TOY_CONFIG
from tests.perception.fake_env import FakeLabelledEnv

TINY_GAN = ["--z-dim", "8", "--embed-dim", "4", "--g-channels", "4", "--d-channels", "4"]
TINY_GAN += ["--batch-size", "8", "--output", "rgb", "--no-show-progress", "--no-tensorboard"]
TINY_GAN += ["--tasks", '["light_state", "road_layout"]', "--device", "cpu"]
SMALL_RESNET = '{"channels": [4, 8], "blocks_per_stage": 1}'


@pytest.fixture(scope="module")
def toy16(tmp_path_factory):
    """A 16x16 fake-env dataset and a light-state judge trained on it for one epoch."""
    root = tmp_path_factory.mktemp("toy16")
    generate_labelled_dataset(
        TOY_CONFIG, root / "data", env_factory=lambda: FakeLabelledEnv(size=16), show_progress=False
    )
    train = load_labelled_split(root / "data", "train", "light_state")
    config = TrainConfig(
        encoder="resnet",
        encoder_options={"channels": [4, 8], "blocks_per_stage": 1},
        epochs=1,
        batch_size=32,
        show_progress=False,
        tensorboard=False,
        device="cpu",
    )
    train_classifier(train, None, None, config, root / "judge", verbose=False)
    return root


def test_help_names_the_scores(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--help"])
    text = capsys.readouterr().out
    for word in ("Frechet distance", "KID", "label", "consistency", "floor", "ceiling"):
        assert word in text
    assert roadgym_main(["gan", "score", "--help"]) == 0  # the roadgym table reaches it
    assert "--judge" in capsys.readouterr().out


def test_train_sample_edit_score_augment(toy16, tmp_path):
    data, judge = str(toy16 / "data"), str(toy16 / "judge" / "checkpoint.pt")
    run = tmp_path / "gan"
    summary = main(["train", "--dataset", data, "--out", str(run), "--steps", "2", *TINY_GAN])
    assert summary["steps"] == 2 and (run / "checkpoint.pt").is_file()
    resumed = main(
        ["train", "--dataset", data, "--out", str(run), "--steps", "3", "--resume", *TINY_GAN]
    )
    assert resumed["steps"] == 3
    checkpoint = ["--checkpoint", str(run / "checkpoint.pt")]
    sample = main(["sample", *checkpoint, "--out", str(tmp_path / "s.png"), "--per-row", "3"])
    assert sample["rows"] == ["red", "green"] and (tmp_path / "s.png").stat().st_size > 0
    edit = main(
        ["edit", *checkpoint, "--out", str(tmp_path / "e.png"), "--count", "2", "--steps", "2"]
        + ["--restarts", "1", "--judge", judge]
    )
    assert edit["columns"] == ["real", "reconstruction", "edit to red", "edit to green"]
    assert 0.0 <= edit["edit_success"] <= 1.0
    score = main(
        ["score", *checkpoint, "--judge", judge, "--num-frames", "16"]
        + ["--out", str(tmp_path / "score.json")]
    )
    for key in ("generated", "floor_real_train", "ceiling_untrained"):
        assert {"fd", "kid", "label_consistency"} <= set(score[key])
    assert json.loads((tmp_path / "score.json").read_text())["num_frames"] == 16
    augment = load_experiment("gan/augment.py").main
    study = augment(
        [*checkpoint, "--rare", "green", "--num-generated", "4", "--seeds", "0"]
        + ["--clf-encoder", "resnet", "--clf-encoder-options", SMALL_RESNET, "--clf-epochs", "1"]
    )
    sizes = {arm: runs[0]["frames"] for arm, runs in study["arms"].items()}
    assert sizes["simulator"] == sizes["simulator+generated"]  # same count both ways


def test_bad_labels_are_named(toy16, tmp_path):
    data = str(toy16 / "data")
    main(["train", "--dataset", data, "--out", str(tmp_path), "--steps", "1", *TINY_GAN])
    with pytest.raises(ValueError, match="light_state=blue"):
        main(
            ["sample", "--checkpoint", str(tmp_path / "checkpoint.pt"), "--out", "x.png"]
            + ["--label", "light_state=blue"]
        )
