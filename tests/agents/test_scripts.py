"""``roadgym train``, ``evaluate``, ``watch`` and ``export-curve`` as subprocesses, tiny budgets."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TINY_TRAIN = [
    "--timesteps", "64",
    "--n-envs", "2",
    "--set", "n_steps=32",
    "--set", "batch_size=32",
    "--set", "n_epochs=1",
    "--set", "env_kwargs.max_episode_steps=30",
    "--set", "encoder_options={features_dim: 32}",
    "--set", "eval_freq=64",
    "--set", "eval_episodes=2",
    "--set", "video_freq=0",
    "--set", "checkpoint_freq=0",
    "--torch-threads", "1",
    "--no-progress",
]  # fmt: skip


def run_script(name: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """``python -m roadgym <name> args`` (what the ``roadgym`` console script runs)."""
    env = {**os.environ, "SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "dummy"}
    result = subprocess.run(
        [sys.executable, "-m", "roadgym", name, *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=300,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"{name} failed ({result.returncode}):\n{result.stderr[-3000:]}")
    return result


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory) -> Path:
    run_dir = tmp_path_factory.mktemp("run")
    result = run_script("train", "--algo", "ppo", "--run-dir", str(run_dir), *TINY_TRAIN)
    assert "trained ppo on roadgym/Track-v0" in result.stdout
    return run_dir


def test_train_script_writes_the_run(trained_run):
    for name in ("model.zip", "best_model.zip", "config.yaml"):
        assert (trained_run / name).is_file()
    assert list((trained_run / "tb").glob("events.out.tfevents.*"))


def test_train_script_rejects_unknown_hyperparameter(tmp_path):
    result = run_script(
        "train",
        "--algo",
        "ppo",
        "--run-dir",
        str(tmp_path),
        "--set",
        "lerning_rate=1",
        check=False,
    )
    assert result.returncode != 0 and "'lerning_rate'" in result.stderr


def test_evaluate_script_table_and_json(trained_run, tmp_path):
    out = tmp_path / "eval.json"
    result = run_script(
        "evaluate",
        "--model",
        str(trained_run / "model.zip"),
        "--episodes",
        "3",
        "--seed",
        "2000000",
        "--json",
        str(out),
    )
    assert "progress" in result.stdout and "std" in result.stdout
    report = json.loads(out.read_text())
    assert [e["seed"] for e in report["episodes"]] == [2000000, 2000001, 2000002]
    assert report["summary"]["length"]["max"] <= 30  # the run's env config was used


def test_evaluate_script_runs_the_expert(tmp_path):
    pytest.importorskip("roadgym.drivers.expert")
    out = tmp_path / "expert.json"
    run_script(
        "evaluate",
        "--expert",
        "--episodes",
        "2",
        "--env-kwargs",
        "max_episode_steps=50",
        "--json",
        str(out),
    )
    assert json.loads(out.read_text())["agent"] == "expert"


def test_watch_script_records_mp4(trained_run, tmp_path):
    video = tmp_path / "drive.mp4"
    run_script(
        "watch",
        "--model",
        str(trained_run / "model.zip"),
        "--episodes",
        "1",
        "--record",
        str(video),
    )
    assert video.stat().st_size > 1000
    assert not list(tmp_path.glob(".*tmp-*"))
    import cv2

    capture = cv2.VideoCapture(str(video))
    ok, frame = capture.read()
    capture.release()
    assert ok and frame.shape[2] == 3


def test_export_curve_script(trained_run, tmp_path):
    out = tmp_path / "curve.png"
    run_script("export-curve", "--run", str(trained_run), "--out", str(out))
    assert out.read_bytes()[:4] == b"\x89PNG"


def test_watch_window_runs_headless(trained_run):
    from roadgym.agents.loading import load_agent
    from roadgym.agents.watch import watch_agent

    agent = load_agent(trained_run / "model.zip")
    agent.env_kwargs["max_episode_steps"] = 3  # the window ticks at the env's render_fps
    report = watch_agent(agent, episodes=1, seed=5)
    assert len(report.episodes) == 1 and report.episodes[0]["length"] == 3
