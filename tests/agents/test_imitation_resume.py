"""An imitation run stopped after a round (kill -9, Ctrl-C) and resumed is bit-identical
to one never stopped; Ctrl-C ends in one line and exit 130; config.yaml comes first."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import numpy as np
import pytest
import torch

from roadgym.agents.imitation import BCSettings, ImitationConfig, run_imitation
from roadgym.agents.model_zip import read_model_zip

TINY = {
    "num_envs": 2,
    "rounds": 3,
    "bc_frames": 32,
    "frames_per_round": 24,
    "selection_episodes": 0,
    "encoder_options": {"features_dim": 16, "channels": [8, 8, 8]},
    "net_arch": (16,),
    "bc": BCSettings(epochs=1, batch_size=16),
    "env_kwargs": {"observation": "rgb+nav", "max_episode_steps": 20},
}

pytestmark = pytest.mark.usefixtures("one_torch_thread")


class _Killed(BaseException):
    """Stands for kill -9: nothing after it runs, no handler sees it."""


def _stop_after(round_index: int):
    def log(message: str) -> None:
        if message.startswith(f"round {round_index}:"):  # after the round's files
            raise _Killed

    return log


def test_a_run_resumed_after_round_1_is_bit_identical(tmp_path):
    config = ImitationConfig(**TINY)
    whole = run_imitation(config, tmp_path / "whole", progress=False, log=lambda *_: None)
    with pytest.raises(_Killed):
        run_imitation(config, tmp_path / "cut", progress=False, log=_stop_after(1))
    assert (tmp_path / "cut" / "config.yaml").is_file()  # written first
    resumed = run_imitation(config, tmp_path / "cut", progress=False, log=lambda *_: None)
    assert len(whole.rounds) == len(resumed.rounds) == 4
    for record in whole.rounds:
        with (
            np.load(tmp_path / "whole" / record["data"]) as a,
            np.load(tmp_path / "cut" / record["data"]) as b,
        ):
            assert a.files == b.files
            for key in a.files:
                np.testing.assert_array_equal(a[key], b[key], err_msg=f"{record['data']} {key}")
        ours = read_model_zip(tmp_path / "whole" / record["student"]).policy_state_dict()
        theirs = read_model_zip(tmp_path / "cut" / record["student"]).policy_state_dict()
        assert all(torch.equal(ours[k], theirs[k]) for k in ours), record["student"]


def test_ctrl_c_in_imitate_prints_one_line_and_exits_130(monkeypatch, tmp_path, capsys):
    from roadgym.agents.imitation import cli

    def interrupted(config, out, **kwargs):  # Ctrl-C in round 1, after round 0
        Path(out).mkdir(parents=True)
        (Path(out) / "manifest.json").write_text(json.dumps({"rounds": [{"round": 0}]}))
        raise KeyboardInterrupt

    monkeypatch.setattr("roadgym.agents.imitation.dagger.run_imitation", interrupted)
    code = cli.imitate_main(["--out", str(tmp_path / "run"), "--no-progress"])
    assert code == 128 + int(signal.SIGINT)
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("SIGINT:"), err
    assert "resume after round 0" in err[0]


def test_config_yaml_is_written_before_the_first_round(tmp_path, monkeypatch):
    import roadgym.agents.imitation.dagger as dagger

    def no_rounds(*args, **kwargs):
        raise _Killed

    monkeypatch.setattr(dagger, "collect_round", no_rounds)
    with pytest.raises(_Killed):
        run_imitation(ImitationConfig(**TINY), tmp_path / "run", progress=False)
    document = (tmp_path / "run" / "config.yaml").read_text()
    assert "roadgym/Town-v0" in document
    assert json.loads((tmp_path / "run" / "manifest.json").read_text())["rounds"] == []
