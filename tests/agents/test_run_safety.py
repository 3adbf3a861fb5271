"""Training runs a user can trust (issue 14): interruptions, run dirs, seeds, normaliser
statistics, exact budgets, schedules and clear errors. Tiny budgets: seconds each."""

from __future__ import annotations

import dataclasses
import json
import os
import signal

import pytest
from stable_baselines3.common.callbacks import BaseCallback

from roadgym.agents import cli, training
from roadgym.agents.environments import (
    SELECTION_SEED_START,
    TEST_SEED_START,
    TRAIN_SEED_LIMIT,
)
from roadgym.agents.hyperparams import HyperparamError, linear_schedule, resolve_settings
from roadgym.agents.loading import load_agent
from roadgym.agents.training import RunDirExistsError, train
from roadgym.perception.atomic import DirectoryLock, DirectoryLockedError
from tests.agents.conftest import tiny_overrides

QUICK = {"eval_freq": 0, "checkpoint_freq": 0, "video_freq": 0}


class _SignalAt(BaseCallback):
    """Send ``signum`` to this process once the model has taken ``steps`` env steps."""

    def __init__(self, signum: int, steps: int) -> None:
        super().__init__()
        self.signum, self.steps = signum, steps

    def _on_step(self) -> bool:
        if self.num_timesteps >= self.steps:
            os.kill(os.getpid(), self.signum)
        return True


def _with_signal(monkeypatch, signum: int, steps: int = 64) -> None:
    original = training._callbacks

    def callbacks(*args, **kwargs):
        return [*original(*args, **kwargs), _SignalAt(signum, steps)]

    monkeypatch.setattr(training, "_callbacks", callbacks)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_stops_training_and_keeps_the_model(monkeypatch, tiny_settings, tmp_path, signum):
    _with_signal(monkeypatch, signum)
    settings = tiny_settings("ppo", n_timesteps=100_000, **QUICK)
    result = train(settings, run_dir=tmp_path, progress_bar=False)
    assert result.interrupted == signal.Signals(signum).name
    assert 64 <= result.num_timesteps < 1000
    assert load_agent(tmp_path / "model.zip").model.num_timesteps == result.num_timesteps
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # handlers put back


def test_ctrl_c_in_the_command_prints_one_line_and_exits_130(monkeypatch, tmp_path, capsys):
    _with_signal(monkeypatch, signal.SIGINT)
    hp = [f"{k}={json.dumps(v)}" for k, v in tiny_overrides("ppo", **QUICK).items()]
    hp = [item for item in hp if not item.startswith(("n_timesteps", "n_envs"))]
    argv = ["--algo", "ppo", "--timesteps", "100000", "--n-envs", "2", "--run-dir"]
    argv += [str(tmp_path), "--no-progress", *sum((["--set", h] for h in hp), [])]
    assert cli.train_main(argv) == 128 + signal.SIGINT
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("SIGINT: stopped after") and "--resume" in err[0]
    assert "Traceback" not in "".join(err)
    assert (tmp_path / "model.zip").is_file()


def test_an_existing_run_dir_is_refused_unless_resume_or_overwrite(tiny_settings, tmp_path):
    settings = tiny_settings("ppo", n_timesteps=64, **QUICK)
    train(settings, run_dir=tmp_path, progress_bar=False)
    with pytest.raises(
        RunDirExistsError, match=r"already holds a run .*resume .*overwrite"
    ) as refused:
        train(settings, run_dir=tmp_path, progress_bar=False)
    assert "--" not in str(refused.value)  # the library names fields; the command, flags
    assert (
        "--resume" in refused.value.flag_message() and "--overwrite" in refused.value.flag_message()
    )
    events = list((tmp_path / "tb").rglob("events.*"))
    result = train(settings, run_dir=tmp_path, progress_bar=False, overwrite=True)
    assert result.num_timesteps == 64
    assert not any(path.exists() for path in events)  # one run's TensorBoard events only
    longer = tiny_settings("ppo", n_timesteps=128, **QUICK)
    resumed = train(longer, run_dir=tmp_path, resume=tmp_path / "model.zip", progress_bar=False)
    assert resumed.num_timesteps == 128


def test_a_run_dir_in_use_is_refused(tiny_settings, tmp_path):
    settings = tiny_settings("ppo", n_timesteps=64, **QUICK)
    with DirectoryLock(tmp_path):
        with pytest.raises(DirectoryLockedError, match="in use by another process"):
            train(settings, run_dir=tmp_path, progress_bar=False)


def test_training_selection_and_test_seeds_are_disjoint_ranges(tiny_settings, tmp_path):
    assert TRAIN_SEED_LIMIT <= SELECTION_SEED_START < TEST_SEED_START
    settings = tiny_settings("ppo", eval_episodes=5)
    evaluator = next(c for c in training._callbacks(settings, tmp_path, 0) if hasattr(c, "seeds"))
    assert evaluator.seeds == list(range(SELECTION_SEED_START, SELECTION_SEED_START + 5))
    assert cli.evaluate_parser().parse_args(["--expert"]).seed == TEST_SEED_START
    assert cli.watch_parser().parse_args(["--model", "m.zip"]).seed == TEST_SEED_START
    assert TEST_SEED_START - SELECTION_SEED_START >= 1_000_000  # room for many episodes
    with pytest.raises(ValueError, match="seed = 999999 with n_envs = 2 is not allowed"):
        training.check_train_seed(999_999, 2)
    training.check_train_seed(999_998, 2)  # worlds 999998 and 999999: still training seeds


def test_image_runs_save_and_resume_their_normaliser_as_json(tiny_settings, tmp_path):
    # Image observations: SB3 puts VecTransposeImage around VecNormalize.
    settings = tiny_settings(
        "ppo", n_timesteps=64, normalize={"norm_obs": False, "norm_reward": True}, **QUICK
    )
    settings = dataclasses.replace(settings, checkpoint_freq=64)
    train(settings, run_dir=tmp_path, progress_bar=False)
    stats = json.loads((tmp_path / "vecnormalize.json").read_text())
    assert stats["norm_reward"] and stats["ret_rms"]["count"] > 1
    checkpoint = next((tmp_path / "checkpoints").glob("*.zip"))
    assert checkpoint.with_suffix(".vecnormalize.json").is_file()  # a unit with its zip
    assert not list(tmp_path.rglob("*.pkl"))  # no pickle written
    longer = dataclasses.replace(settings, n_timesteps=128)
    train(longer, run_dir=tmp_path, resume=tmp_path / "model.zip", progress_bar=False)
    resumed = json.loads((tmp_path / "vecnormalize.json").read_text())
    assert resumed["ret_rms"]["count"] > stats["ret_rms"]["count"]  # continued, not reset
    (tmp_path / "vecnormalize.json").unlink()
    with pytest.raises(FileNotFoundError, match=r"vecnormalize\.json .*is missing"):
        train(longer, run_dir=tmp_path, resume=tmp_path / "model.zip", progress_bar=False)


def test_runs_stop_at_the_requested_timesteps(tiny_settings, tmp_path):
    # 100 steps in rollouts of 32 x 2 = 64 would run to 128.
    settings = tiny_settings("ppo", n_timesteps=100, **QUICK)
    assert train(settings, run_dir=tmp_path, progress_bar=False).num_timesteps == 100
    # A target on a rollout boundary trains on that last rollout (2 updates of 1 epoch).
    settings = tiny_settings("ppo", n_timesteps=128, **QUICK)
    train(settings, run_dir=tmp_path / "whole", progress_bar=False)
    assert load_agent(tmp_path / "whole" / "model.zip").model._n_updates == 2


def test_progress_lines_are_printed_without_a_terminal(tiny_settings, tmp_path, capsys):
    settings = tiny_settings("ppo", n_timesteps=64, **QUICK)
    train(settings, run_dir=tmp_path, progress_bar=True)  # pytest's stderr is no TTY
    out = capsys.readouterr().out
    assert "steps 64/64 (100%)" in out and "steps/s" in out


def test_linear_schedule_never_goes_negative():
    schedule = linear_schedule(3e-4)
    assert schedule(1.0) == 3e-4 and schedule(0.0) == 0.0
    assert schedule(-0.15) == 0.0  # SB3's progress_remaining after an overshoot


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"n_steps": -5}, r"n_steps = -5; allowed: an int >= 1"),
        ({"gamma": 1.5}, r"gamma = 1.5; allowed: a number > 0.0 and <= 1.0"),
        ({"batch_size": 0}, r"batch_size = 0; allowed: an int >= 1"),
    ],
)
def test_bad_hyperparameters_name_the_key(overrides, message):
    with pytest.raises(HyperparamError, match=message):
        resolve_settings("ppo", "roadgym/Track-v0", overrides=overrides)


def test_resuming_a_model_of_another_algorithm_says_so(tiny_settings, tmp_path):
    train(tiny_settings("ppo", n_timesteps=64, **QUICK), run_dir=tmp_path, progress_bar=False)
    with pytest.raises(ValueError, match=r"is a PPO model, but algo is 'dqn'"):
        train(
            tiny_settings("dqn", n_timesteps=64, **QUICK),
            run_dir=tmp_path / "dqn",
            resume=tmp_path / "model.zip",
            progress_bar=False,
        )


def test_a_config_file_that_is_a_list_says_so(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("- a\n- b\n")
    with pytest.raises(HyperparamError, match="holds list; allowed: a mapping"):
        resolve_settings("ppo", "roadgym/Track-v0", config_path=path)
