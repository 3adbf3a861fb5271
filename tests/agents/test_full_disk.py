"""Nothing is lost: a full disk during ``train`` keeps the last complete model and says so
in one line; a checkpoint never leaves statistics without their zip; a run dir left by
kill -9 names its newest complete checkpoint."""

from __future__ import annotations

import errno
import json

import pytest
from stable_baselines3.common.base_class import BaseAlgorithm

from roadgym.agents import cli
from roadgym.agents.run_dir import RunDirExistsError, SaveFailedError
from roadgym.agents.training import train
from tests.agents.conftest import tiny_overrides

# Normalised rewards (statistics beside every zip), a checkpoint every 64 steps.
CHECKPOINTS = {"eval_freq": 0, "video_freq": 0, "checkpoint_freq": 64, "n_timesteps": 256}


def _disk_full_after(monkeypatch, saves: int) -> None:
    """``model.save`` works ``saves`` times, then meets a full disk."""
    real_save = BaseAlgorithm.save
    count = {"n": 0}

    def save(self, path, *args, **kwargs):
        count["n"] += 1
        if count["n"] > saves:
            path.write(b"PK\x03\x04 half a zip")  # some bytes reach the disk first
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_save(self, path, *args, **kwargs)

    monkeypatch.setattr(BaseAlgorithm, "save", save)


def test_a_full_disk_keeps_the_last_checkpoint_and_leaves_no_half_pair(
    monkeypatch, tiny_settings, tmp_path
):
    _disk_full_after(monkeypatch, saves=1)  # the 64-step checkpoint, then nothing
    settings = tiny_settings("ppo", **CHECKPOINTS)
    with pytest.raises(SaveFailedError, match="No space left on device") as caught:
        train(settings, run_dir=tmp_path, progress_bar=False)
    checkpoint = tmp_path / "checkpoints" / "ppo_64_steps.zip"
    assert f"--resume {checkpoint}" in str(caught.value)
    zips = sorted(p.name for p in (tmp_path / "checkpoints").glob("*.zip"))
    stats = sorted(p.name for p in (tmp_path / "checkpoints").glob("*.vecnormalize.json"))
    assert zips == ["ppo_64_steps.zip"] and stats == ["ppo_64_steps.vecnormalize.json"]
    assert not (tmp_path / "model.zip").exists()
    assert not (tmp_path / "vecnormalize.json").exists()  # no statistics without their zip
    assert not [p for p in tmp_path.rglob(".*tmp-*")]  # no temporary file left


def test_the_command_says_it_in_one_line_and_exits_non_zero(monkeypatch, tmp_path, capsys):
    _disk_full_after(monkeypatch, saves=0)
    hp = [f"{k}={json.dumps(v)}" for k, v in tiny_overrides("ppo", **CHECKPOINTS).items()]
    hp = [item for item in hp if not item.startswith(("n_timesteps", "n_envs"))]
    argv = ["--algo", "ppo", "--timesteps", "128", "--n-envs", "2", "--run-dir"]
    argv += [str(tmp_path), "--no-progress", *sum((["--set", h] for h in hp), [])]
    assert cli.train_main(argv) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "No space left on device" in err[0], err
    assert "no complete model was saved" in err[0]


def test_a_run_left_by_kill_9_names_its_newest_complete_checkpoint(tiny_settings, tmp_path):
    settings = tiny_settings("ppo", **CHECKPOINTS)
    train(settings, run_dir=tmp_path, progress_bar=False, stop_at=192)
    (tmp_path / "model.zip").unlink()  # killed before the final save
    (tmp_path / "vecnormalize.json").unlink()
    newest = tmp_path / "checkpoints" / "ppo_192_steps.zip"
    newest.write_bytes(newest.read_bytes()[:100])  # killed while writing it (no rename)
    with pytest.raises(RunDirExistsError) as caught:
        train(settings, run_dir=tmp_path, progress_bar=False)
    message = caught.value.flag_message()
    assert f"--resume {tmp_path / 'checkpoints' / 'ppo_128_steps.zip'}" in message
    assert "model.zip" not in message.split("allowed:")[1]
