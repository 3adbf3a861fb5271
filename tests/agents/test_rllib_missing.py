"""Without Ray installed, ``roadgym train --backend rllib`` says how to install it."""

from __future__ import annotations

import importlib.util

import pytest

from roadgym.agents.cli import train_main
from roadgym.agents.loading import load_agent

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("ray") is not None, reason="Ray is installed here"
)


def test_rllib_backend_without_ray_names_the_extra(capsys):
    assert train_main(["--backend", "rllib", "--algo", "ppo", "--timesteps", "64"]) == 2
    assert 'pip install "roadgym[rllib]"' in capsys.readouterr().err


def test_rllib_checkpoint_without_ray_names_the_extra(tmp_path):
    (tmp_path / "rllib_checkpoint.json").write_text("{}")
    with pytest.raises(ImportError, match=r"roadgym\[rllib\]"):
        load_agent(tmp_path)


def test_a_plain_directory_is_not_a_model(tmp_path):
    with pytest.raises(FileNotFoundError, match="not an RLlib checkpoint"):
        load_agent(tmp_path)
