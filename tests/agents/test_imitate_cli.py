"""``roadgym imitate``: a flag per config field, generated; a file and --set; clear errors."""

from __future__ import annotations

import dataclasses
import json

import pytest

from roadgym.agents.imitation.bc import BCSettings
from roadgym.agents.imitation.cli import config_from_args, imitate_main, imitate_parser
from roadgym.agents.imitation.config import ImitationConfig
from roadgym.agents.imitation.final import FinalFit


def _leaf_keys(cls, prefix=""):
    keys = []
    for field in dataclasses.fields(cls):
        if field.name in ("bc", "final"):
            nested = {"bc": BCSettings, "final": FinalFit}[field.name]
            keys += _leaf_keys(nested, f"{field.name}.")
        else:
            keys.append(prefix + field.name)
    return keys


def test_every_config_field_has_a_flag_with_its_docstring():
    parser = imitate_parser()
    generated = {a.key: a for a in parser._actions if getattr(a, "deprecated", True) is False}
    assert sorted(generated) == sorted(_leaf_keys(ImitationConfig))
    assert "Newest camera frames the encoder sees" in generated["image_frames"].help


def test_flags_file_and_set_build_the_config_in_order(tmp_path):
    saved = ImitationConfig(
        num_envs=3, rounds=1, env_kwargs={"observation": "rgb+nav", "frame_stack": 4}
    )
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({"config": saved.to_dict(), "rounds": []}))
    assert config_from_args(imitate_parser().parse_args(["--config", str(manifest)])) == saved
    from roadgym.agents.imitation.dagger import write_student_config

    written = write_student_config(saved, tmp_path / "config.yaml")
    assert config_from_args(imitate_parser().parse_args(["--config", str(written)])) == saved
    argv = ["--config", str(manifest), "--net-arch", "[32, 32]", "--image-frames", "2"]
    argv += ["--bc-epochs", "2", "--set", "bc.epochs=5", "--epochs", "7", "--n-envs", "8"]
    config = config_from_args(imitate_parser().parse_args(argv))
    assert config.net_arch == (32, 32) and config.image_frames == 2 and config.num_envs == 8
    assert config.bc.epochs == 7  # the last one given wins (--epochs: the old --bc-epochs)
    assert dict(config.env_kwargs) == {"observation": "rgb+nav", "frame_stack": 4}


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--env", "roadgym/Track-v0"], "observation = 'rgb+nav' is not allowed"),
        (["--beta", "2"], "ImitationConfig.beta = 2.0; allowed: a float in [0, 1]"),
        (["--bc-epochs", "abc"], "ImitationConfig.bc.epochs = 'abc'; allowed: int"),
        (["--set", "bc.epoch=3"], "ImitationConfig.bc has unknown key(s) 'epoch'"),
        (["--image-frames", "20"], "image_frames = 20; allowed: 1 to the env's frame_stack"),
    ],
)
def test_bad_input_is_one_line_and_writes_no_out_dir(argv, message, tmp_path, capsys):
    out = tmp_path / "out"
    assert imitate_main([*argv, "--out", str(out)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and message in err[0], err
    assert not out.exists()
