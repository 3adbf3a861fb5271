"""A run is its config: written first, read back, the same weights; bad input refused."""

from __future__ import annotations

import argparse
import io
import zipfile
from pathlib import Path

import pytest
import torch
import yaml

from roadgym.agents import cli
from roadgym.agents.extensions import CriticWarmup, ExpertTerm, StudentPull
from roadgym.agents.imitation import BCSettings, ImitationConfig, run_imitation
from roadgym.agents.run_config import load_run_config
from roadgym.agents.typed_config import ConfigError

pytestmark = pytest.mark.usefixtures("one_torch_thread")

# A fine-tune small enough for seconds: 2 Town worlds, a 48-pixel camera, 2 rollouts of 64.
TINY_RUN = [
    "--timesteps", "128",
    "--n-envs", "2",
    "--no-progress",
    "--set", "n_steps=32",
    "--set", "batch_size=32",
    "--set", "n_epochs=1",
    "--set", "eval_freq=0",
    "--set", "checkpoint_freq=0",
    "--set", "env_kwargs.max_episode_steps=30",
]  # fmt: skip


def _policy_state(model_zip: Path) -> dict[str, torch.Tensor]:
    with zipfile.ZipFile(model_zip) as archive:
        return torch.load(io.BytesIO(archive.read("policy.pth")), weights_only=True)


@pytest.fixture(scope="module")
def tiny_student(tmp_path_factory) -> Path:
    config = ImitationConfig(
        num_envs=2,
        rounds=0,
        bc_frames=32,
        selection_episodes=0,
        encoder_options={"features_dim": 16, "channels": [8, 8, 8]},
        net_arch=(16,),
        bc=BCSettings(epochs=1, batch_size=32),
        env_kwargs={"observation": "rgb+nav", "max_episode_steps": 30, "camera_size_px": 48},
    )
    out = tmp_path_factory.mktemp("student")
    return run_imitation(config, out, progress=False, log=lambda *_: None).student_path


def test_a_fine_tune_trained_again_from_its_config_gives_the_same_weights(
    tiny_student, tmp_path, monkeypatch
):
    first, again = tmp_path / "first", tmp_path / "again"
    monkeypatch.chdir(tiny_student.parent)  # a relative init_from is written absolute
    argv = ["--algo", "ppo", "--env", "roadgym/Town-v0", "--init-from", tiny_student.name]
    argv += [*TINY_RUN, "--run-dir", str(first), "--set", "learning_rate=1e-3"]
    argv += ["--set", "extensions.critic_warmup.steps=32"]
    argv += [
        "--set",
        "extensions.student_pull.coef=2.0",
        "--set",
        "extensions.student_pull.decay_steps=null",
    ]
    assert cli.train_main(argv) == 0
    written = yaml.safe_load((first / "config.yaml").read_text())
    assert written["init_from"] == str(tiny_student)
    assert written["extensions"] == [
        {"name": "critic_warmup", "steps": 32},
        {
            "name": "student_pull",
            "coef": 2.0,
            "decay_steps": None,
            "steps_per_rollout": 8,
            "batch_size": 256,
        },
    ]
    # Nothing but the file (and where to write) goes into the second run, from elsewhere.
    monkeypatch.chdir(tmp_path)
    assert (
        cli.train_main(
            ["--config", str(first / "config.yaml"), "--run-dir", str(again), "--no-progress"]
        )
        == 0
    )
    a, b = _policy_state(first / "model.zip"), _policy_state(again / "model.zip")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    student = _policy_state(tiny_student)
    assert not torch.equal(a["action_net.weight"], student["action_net.weight"])  # it trained
    rewritten = yaml.safe_load((again / "config.yaml").read_text())
    assert {**rewritten, "run_dir": None} == {**written, "run_dir": None}


def test_a_student_whose_observations_are_not_the_envs_is_refused(tiny_student, tmp_path, capsys):
    run_dir = tmp_path / "run"
    argv = ["--algo", "ppo", "--env", "roadgym/Town-v0", "--init-from", str(tiny_student)]
    argv += [*TINY_RUN, "--run-dir", str(run_dir), "--set", "env_kwargs.frame_stack=2"]
    assert cli.train_main(argv) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and "was trained on observations of shapes" in err[0], err
    assert not run_dir.exists()


def test_train_help_shows_at_most_a_dozen_options():
    parser = cli.train_parser()
    shown = [a for a in parser._actions if a.option_strings and a.help != argparse.SUPPRESS]
    shown = [a for a in shown if not isinstance(a, argparse._HelpAction)]
    assert len(shown) <= 12, [a.option_strings for a in shown]
    assert "--hp" not in parser.format_help() and "--init-kl-coef" not in parser.format_help()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--n-envs", "0"], "n_envs = 0 is out of range; allowed: an int >= 1"),
        (["--n-envs", "-3"], "n_envs = -3 is out of range"),
        (["--seed", "-5"], "seed = -5 is out of range; allowed: an int >= 0"),
        (["--env", "roadgym/Nope-v0"], "env_id = 'roadgym/Nope-v0' is not a registered"),
        (["--set", "env_kwargs.camera_size_px=abc"], "camera_size_px = 'abc'"),
        (["--set", "n_steps=abc"], "n_steps = 'abc'; allowed: int"),
        (["--set", "n_epochs=1e9"], "n_epochs = 1000000000; allowed: an int >= 1 and <= 1000"),
        (["--set", "policy_kwargs.net_arc=[64]"], "policy_kwargs has unknown key(s) 'net_arc'"),
        (["--set", "ent_coef=inf"], "ent_coef = inf; allowed: a finite number"),
        (["--set", "learning_rate=nan"], "learning_rate = nan; allowed: a finite number"),
        (["--set", "n_stepz=3"], "unknown key(s) 'n_stepz'"),
        (["--set", "extensions.student_pull.coef=2"], "extensions.student_pull pulls towards"),
        (
            ["--set", "extensions.student_pull.coef=0"],
            "student_pull.coef = 0.0; allowed: a number > 0",
        ),
        (["--set", "extensions.nope.x=1"], "unknown extension 'nope'; allowed: critic_warmup"),
        (
            ["--set", "extensions.critic_warmup.step=5"],
            "unknown key(s) 'step' (did you mean 'steps'?); allowed: steps",
        ),
        (["--set", "extensions.expert_term.coef=1"], "needs continuous actions"),
        (["--set", "freeze=true"], "freeze = True with pretrained = None"),
        (["--set", "n_steps"], "must look like key=value"),
        (["--expert-slow-mps", "1"], "--expert-slow-mps needs --expert-coef > 0"),
    ],
)
def test_bad_input_is_one_line_naming_the_field_and_leaves_no_run_dir(
    argv, message, tmp_path, capsys
):
    run_dir = tmp_path / "run"
    assert cli.train_main(["--algo", "ppo", *TINY_RUN, "--run-dir", str(run_dir), *argv]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if not line.startswith("Deprec")]
    assert len(err) == 1 and err[0].startswith("error: ") and message in err[0], err
    assert not run_dir.exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"roadgym/Track-v0:\n  n_steps: [1, 2\n", "is not valid YAML at line"),
        (bytes(range(256)) * 4, "is not text (not UTF-8)"),
        (b"- a\n- b\n", "holds list; allowed: a mapping"),
    ],
)
def test_a_broken_config_file_is_one_line(content, message, tmp_path, capsys):
    path = tmp_path / "config.yaml"
    path.write_bytes(content)
    assert (
        cli.train_main(["--algo", "ppo", "--config", str(path), "--run-dir", str(tmp_path / "r")])
        == 2
    )
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and message in err[0], err
    assert not (tmp_path / "r").exists()


def test_old_flags_still_work_as_deprecated_aliases_of_set(capsys):
    argv = ["--algo", "ppo", "--env", "roadgym/Town-v0", "--hp", "n_steps=64", "--num-envs", "3"]
    argv += ["--init-from", "student.zip", "--init-kl-coef", "2.0", "--init-kl-steps", "100000000"]
    argv += ["--critic-warmup-steps", "40000", "--expert-coef", "0", "--no-progress-bar"]
    args = cli.train_parser().parse_args(argv)
    overrides = cli.train_overrides(args)
    err = capsys.readouterr().err
    for flag in ("--hp", "--num-envs", "--init-kl-coef", "--init-kl-steps", "--no-progress-bar"):
        assert f"DeprecationWarning: {flag} is deprecated" in err
    assert "--set extensions.student_pull.coef=2.0" in err and "decay_steps=null" in err
    assert args.no_progress and overrides["n_envs"] == 3 and overrides["n_steps"] == 64
    assert overrides["extensions"] == {
        "student_pull": {"coef": 2.0, "decay_steps": 100_000_000},
        "critic_warmup": {"steps": 40000},
        "expert_term": None,  # --expert-coef 0 was "off"
    }


def test_extensions_read_from_a_file_merge_with_set_and_old_names_warn(tmp_path):
    path = tmp_path / "config.yaml"
    document = {
        "algo": "ppo",
        "env_id": "roadgym/Track-v0",
        "seed": 4,
        "extensions": [
            {"name": "init_kl", "init_kl_coef": 2.0},
            {"name": "critic_warmup", "steps": 8},
        ],
        "roadgym/Track-v0": {"n_timesteps": 64, "env_kwargs": {"action_type": "continuous"}},
    }
    path.write_text(yaml.safe_dump(document))
    with pytest.warns(DeprecationWarning, match="'init_kl' is deprecated; use 'student_pull'"):
        config = load_run_config(path, {"extensions": {"student_pull": {"decay_steps": None}}})
    assert config.seed == 4 and config.algo == "ppo"
    assert config.extensions == (StudentPull(coef=2.0, decay_steps=None), CriticWarmup(steps=8))
    with pytest.warns(DeprecationWarning, match="'init_kl' is deprecated"):
        removed = load_run_config(
            path, {"extensions": {"init_kl": None, "expert_term": {"slow_mps": 1.0}}}
        )
    assert removed.extensions == (CriticWarmup(steps=8), ExpertTerm(slow_mps=1.0))
    with pytest.raises(ConfigError, match="seed = 'x'; allowed: int"):
        load_run_config(path, {"seed": "x"})


def test_evaluate_takes_env_kwargs_and_the_old_env_config_spelling(capsys):
    from roadgym.agents.cli_options import deprecation_notes

    argv = ["--expert", "--env-kwargs", "a=1", "--env-config", "b=2"]
    args = cli.evaluate_parser().parse_args(argv)
    assert args.env_kwargs == ["a=1", "b=2"]
    deprecation_notes(args)
    assert (
        "--env-config is deprecated and will be removed; use --env-kwargs"
        in capsys.readouterr().err
    )


def test_a_config_yaml_written_before_run_configs_still_loads(tmp_path):
    # 0.1's config.yaml: run facts and the hyperparameter entry, no extensions or init_from.
    old = {
        "algo": "dqn",
        "env_id": "roadgym/Track-v0",
        "seed": 3,
        "roadgym_version": "0.1.0",
        "vec_env": "make_sb3_vec_env",
        "roadgym/Track-v0": {"n_timesteps": 64, "n_envs": 2, "buffer_size": 500},
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(old))
    config = load_run_config(path)
    assert (config.algo, config.seed, config.extensions, config.init_from) == ("dqn", 3, (), None)
    assert config.settings.algo_kwargs["buffer_size"] == 500


def test_what_an_extension_needs_of_ppo_is_written_in_the_run_config(tiny_settings):
    from roadgym.agents.preflight import with_extension_arguments
    from roadgym.agents.run_config import RunConfig

    settings = tiny_settings("ppo", env_kwargs={"action_type": "continuous"})
    handover = with_extension_arguments(RunConfig(settings, (ExpertTerm(slow_mps=1.0),)))
    assert handover.settings.algo_kwargs["normalize_advantage"] is False
    assert "normalize_advantage: false" in handover.to_yaml()
    plain = with_extension_arguments(RunConfig(settings, (ExpertTerm(),)))
    assert "normalize_advantage" not in plain.settings.algo_kwargs
    explicit = tiny_settings("ppo", normalize_advantage=True)
    with pytest.raises(ConfigError, match="normalize_advantage = True with extensions.expert_term"):
        with_extension_arguments(RunConfig(explicit, (ExpertTerm(stop_zone_m=20.0),)))
