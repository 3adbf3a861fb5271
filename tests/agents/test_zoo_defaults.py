"""RL Zoo's ``--conf-file roadgym.agents.rl_zoo.{ppo,dqn}``: sane values for every env id
(issue 14). The Zoo falls back to ``default`` for ids without an entry."""

from __future__ import annotations

import pytest

from roadgym.agents.rl_zoo import zoo_hyperparams
from roadgym.envs import ENV_IDS


@pytest.mark.parametrize("env_id", ["default", *ENV_IDS])
def test_ppo_rollouts_are_short_for_every_shipped_env(env_id):
    entries = zoo_hyperparams("ppo")
    entry = entries.get(env_id, entries["default"])
    # No SB3 default (n_steps 2048) behind any id: first rollouts stay a few thousand steps.
    assert "n_steps" in entry and entry["n_steps"] * entry["n_envs"] <= 4096, entry
    assert entry["batch_size"] <= entry["n_steps"] * entry["n_envs"]


@pytest.mark.parametrize("env_id", ["default", *ENV_IDS])
def test_dqn_replay_buffers_fit_in_memory_for_every_shipped_env(env_id):
    entries = zoo_hyperparams("dqn")
    entry = entries.get(env_id, entries["default"])
    # SB3's default buffer (1M 64x64x3 frames, twice) would need about 24 GB.
    assert entry["buffer_size"] * 64 * 64 * 3 * 2 < 2 * 1024**3, entry
