"""experiments/: studies outside the package, each with a RESULTS.md whose commands exist."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
EXPERIMENTS = ROOT / "experiments"
MOVED = [
    "roadgym.agents.encoder_probe",
    "roadgym.agents.init_policy",
    "roadgym.perception.gan.study",
    "roadgym.agents.rllib.throughput",
    "roadgym.tools.highway_dqn",
    "roadgym.tools.highway_expert",
    "roadgym.tools.expert_table",
]


def test_the_index_lists_every_study_and_each_has_results():
    index = (EXPERIMENTS / "README.md").read_text()
    listed = set(re.findall(r"^\| `([a-z_]+)/` \|", index, re.M))
    studies = {path.name for path in EXPERIMENTS.iterdir() if path.is_dir()}
    assert listed == studies - {"__pycache__"}
    with_results = {name for name in studies if (EXPERIMENTS / name / "RESULTS.md").is_file()}
    assert len(with_results) >= 10


@pytest.mark.parametrize("page", sorted(EXPERIMENTS.rglob("*.md")), ids=lambda p: p.name)
def test_results_name_scripts_that_exist(page):
    text = page.read_text()
    for script in re.findall(r"python (experiments/\S+\.py)", text):
        assert (ROOT / script).is_file(), f"{page.name} names {script}, which is missing"


@pytest.mark.parametrize("module", MOVED)
def test_study_code_is_not_in_the_package(module):
    path = ROOT / (module.replace(".", "/") + ".py")
    assert not path.exists() and module not in sys.modules


def test_a_study_script_runs_by_path():
    done = subprocess.run(
        [sys.executable, "experiments/expert_tables/expert_table.py", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "--episodes" in done.stdout


@pytest.mark.parametrize(
    "path", sorted(EXPERIMENTS.rglob("*.yaml")), ids=lambda p: f"{p.parent.name}/{p.name}"
)
def test_run_configs_are_valid_and_read_back_the_same(path, tmp_path):
    from roadgym.agents.hyperparams import read_config_file
    from roadgym.agents.run_config import load_run_config

    if "rounds" in read_config_file(path):  # an imitation recipe: `roadgym imitate --config`
        from roadgym.agents.imitation.cli import config_from_args, imitate_parser

        config = config_from_args(imitate_parser().parse_args(["--config", str(path)]))
        written = tmp_path / "imitation.yaml"  # what a run writes of its config, read back
        written.write_text(yaml.safe_dump(config.to_dict()))
        assert config_from_args(imitate_parser().parse_args(["--config", str(written)])) == config
        return
    config = load_run_config(path)
    assert load_run_config(None, _overrides(config.to_document())) == config


def _overrides(document):
    env_id = document["env_id"]
    keys = ("algo", "env_id", "seed", "run_dir", "init_from", "extensions")
    return {**{k: document[k] for k in keys}, **document[env_id]}
