"""SB3's defaults are read from the installed SB3, not copied by hand."""

from __future__ import annotations

import subprocess
import sys

import pytest

import roadgym.agents.algo_defaults as algo_defaults
from roadgym.agents.hyperparams import HyperparamError


def test_defaults_follow_the_installed_sb3(monkeypatch):
    import inspect

    from stable_baselines3 import PPO

    defaults = algo_defaults.sb3_defaults("ppo", ["n_steps", "gae_lambda", "clip_range"])
    signature = inspect.signature(PPO.__init__).parameters
    assert defaults == {name: signature[name].default for name in defaults}

    class NewerPPO:  # what another SB3 release might declare
        def __init__(self, policy, env, n_steps=1024, gae_lambda=0.9, clip_range=0.1):
            pass

    monkeypatch.setattr(algo_defaults, "algo_class", lambda algo: NewerPPO)
    assert algo_defaults.sb3_defaults("ppo", ["n_steps", "gae_lambda"]) == {
        "n_steps": 1024,
        "gae_lambda": 0.9,
    }


def test_an_argument_sb3_lacks_is_named():
    with pytest.raises(HyperparamError, match="'lambda_' is not an argument .* n_steps"):
        algo_defaults.sb3_defaults("ppo", ["lambda_"])


def test_importing_it_does_not_import_sb3():
    code = "import sys, roadgym.agents.algo_defaults; print('stable_baselines3' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "False", result.stderr
