"""``roadgym train --backend rllib`` in local mode: checkpoint, evaluate, resume.

Runs in the RLlib venv of ``.ci/run``; skipped where Ray is not installed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("ray.rllib")

import ray  # noqa: E402
import yaml  # noqa: E402

from roadgym.agents.cli import evaluate_main, train_main  # noqa: E402
from roadgym.agents.evaluation import evaluate_policy_on_seeds  # noqa: E402
from roadgym.agents.loading import load_agent  # noqa: E402

TINY = [
    "--set", "n_steps=32",
    "--set", "batch_size=64",
    "--set", "n_epochs=1",
    "--set", "env_kwargs.max_episode_steps=30",
    "--set", "encoder_options={features_dim: 32, channels: [8, 16, 16]}",
    "--set", "checkpoint_freq=128",
    "--set", "eval_freq=0",
]  # fmt: skip


@pytest.fixture(scope="module")
def local_ray():
    """One local Ray for the module (train_rllib then leaves it running between calls)."""
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def test_train_checkpoint_evaluate_resume(tmp_path, capsys, local_ray, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run_dir = Path("run")  # relative, as users type it
    common = ["--backend", "rllib", "--algo", "ppo", "--env", "roadgym/Track-v0"]
    common += ["--envs-per-runner", "2", "--run-dir", str(run_dir), "--torch-threads", "1"]
    assert train_main([*common, "--timesteps", "128", *TINY]) == 0
    checkpoint = run_dir / "checkpoint"
    assert (checkpoint / "rllib_checkpoint.json").is_file()
    assert list((run_dir / "checkpoints").iterdir())
    run = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert run["backend"] == "rllib" and run["envs_per_runner"] == 2

    agent = load_agent(checkpoint, trust_pickles=True)
    assert agent.env_id == "roadgym/Track-v0"
    assert agent.env_kwargs["action_type"] == "discrete"
    assert agent.env_kwargs["max_episode_steps"] == 30
    seeds = [2_000_000, 2_000_001]
    first = evaluate_policy_on_seeds(agent.model, agent.env_id, seeds, env_kwargs=agent.env_kwargs)
    again = evaluate_policy_on_seeds(agent.model, agent.env_id, seeds, env_kwargs=agent.env_kwargs)
    assert first.seeds == seeds and first.episodes == again.episodes  # greedy: same result

    capsys.readouterr()
    assert (
        evaluate_main(
            ["--model", str(checkpoint), "--episodes", "2", "--n-envs", "2", "--trust-pickles"]
        )
        == 0
    )
    assert "lap_completed" in capsys.readouterr().out

    # Resume goes on from the checkpoint's env-step count to the new total.
    assert train_main([*common, "--timesteps", "256", "--resume", str(checkpoint), *TINY]) == 0
    out = capsys.readouterr().out
    steps = int(out.split(" for ")[1].split(" env steps")[0])
    assert 256 <= steps < 128 + 256
