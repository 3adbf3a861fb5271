"""RL Baselines3 Zoo trains roadgym envs: untouched, and with roadgym's shipped hyperparameters.

Slow (three Zoo runs in subprocesses): ``pytest -m expensive tests/agents/test_rl_zoo.py``.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.expensive


def run_zoo(tmp_path, *args: str) -> str:
    pytest.importorskip("rl_zoo3")
    env = {**os.environ, "SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "dummy"}
    result = subprocess.run(
        [sys.executable, "-m", "rl_zoo3.train", "--gym-packages", "roadgym", "-f", str(tmp_path),
         "--env", "roadgym/Track-v0", *args],
        capture_output=True, text=True, env=env, timeout=900,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_zoo_trains_track_with_its_defaults(tmp_path):
    run_zoo(tmp_path, "--algo", "ppo", "-n", "256", "--hyperparams", "n_steps:128", "n_envs:2")
    assert list(tmp_path.glob("ppo/roadgym-Track-v0_*/roadgym-Track-v0.zip"))


@pytest.mark.parametrize("algo", ["ppo", "dqn"])
def test_zoo_trains_track_with_roadgym_hyperparams(tmp_path, algo):
    tiny = ["n_envs:2"] + (
        ["n_steps:64", "batch_size:64"]
        if algo == "ppo"
        else ["learning_starts:64", "buffer_size:1000"]
    )
    stdout = run_zoo(
        tmp_path, "--algo", algo, "-n", "256", "--conf-file", f"roadgym.agents.rl_zoo.{algo}",
        "--hyperparams", *tiny,
    )  # fmt: skip
    assert "RoadgymEncoderExtractor" in stdout
    assert list(tmp_path.glob(f"{algo}/roadgym-Track-v0_*/roadgym-Track-v0.zip"))


def test_zoo_records_a_video_through_custom_envs(tmp_path):
    # record_video has no --gym-packages: it imports a custom_envs module
    # (docs/guides/other-libraries.md).
    pytest.importorskip("rl_zoo3")
    (tmp_path / "custom_envs.py").write_text("import roadgym  # noqa: F401\n")
    env = {**os.environ, "SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "dummy"}
    common = ["--algo", "ppo", "--env", "roadgym/Town-v0", "-f", str(tmp_path / "logs")]
    train = [sys.executable, "-m", "rl_zoo3.train", *common, "--gym-packages", "roadgym",
             "--conf-file", "roadgym.agents.rl_zoo.ppo", "-n", "128",
             "--hyperparams", "n_envs:2", "n_steps:64", "batch_size:64"]  # fmt: skip
    done = subprocess.run(train, cwd=tmp_path, capture_output=True, text=True, env=env, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    record = [sys.executable, "-m", "rl_zoo3.record_video", *common, "-n", "20",
              "-o", str(tmp_path / "video")]  # fmt: skip
    done = subprocess.run(
        record, cwd=tmp_path, capture_output=True, text=True, env=env, timeout=900
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert [p for p in (tmp_path / "video").rglob("*.mp4") if p.stat().st_size > 1000]
