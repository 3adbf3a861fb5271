"""The highway tools: the DQN side-by-side comparison and the expert table run end to end."""

import json

import pytest

from tests.experiment_scripts import load_experiment

highway_dqn = load_experiment("highway_dqn/highway_dqn.py")
highway_expert = load_experiment("expert_tables/highway_expert.py")


@pytest.mark.expensive  # about 20 s: two seconds of DQN, then an episode
def test_highway_dqn_trains_evaluates_and_writes_json(tmp_path):
    out = tmp_path / "dqn.json"
    code = highway_dqn.main(
        [
            "--budget-s", "2",
            "--episodes", "1",
            "--only", "roadgym/Highway-v0",
            "--out", str(out),
            "--run-dir", str(tmp_path / "runs"),
        ]
    )  # fmt: skip
    assert code == 0
    result = json.loads(out.read_text())["results"]["roadgym/Highway-v0"]
    assert result["train_steps"] > 0 and result["episodes"] == 1
    assert 0.0 <= result["collision_rate"] <= 1.0
    assert (tmp_path / "runs" / "roadgym-Highway-v0" / "model.zip").is_file()
    assert not list(tmp_path.glob("*.tmp"))


def test_highway_expert_table_counts_episodes_and_free_road_speed(tmp_path):
    out = tmp_path / "expert.json"
    assert highway_expert.main(["--episodes", "3", "--num-envs", "3", "--json", str(out)]) == 0
    summary = json.loads(out.read_text())
    assert summary["episodes"] == 3 and summary["crashed"] == 0
    assert 0.0 < summary["mean_speed_mps"] <= 30.0
