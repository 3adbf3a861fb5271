"""The student shipped in the package drives a plain gym.make env, as its card says."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from roadgym.agents import load_pretrained
from roadgym.agents.pretrained import available_pretrained, pretrained_path


def test_town_student_is_shipped_small():
    assert "town-student" in available_pretrained()
    assert pretrained_path("town-student").stat().st_size <= 10 * 1024 * 1024


def test_town_student_drives_a_plain_env_deterministically():
    student = load_pretrained("town-student")
    assert student.env_id == "roadgym/Town-v0"
    assert student.env_kwargs["observation"] == "rgb+nav"
    assert {"test_seeds", "metrics"} <= set(student.card)
    actions = []
    for _ in range(2):
        env = gym.make(student.env_id, **student.env_kwargs)  # no wrapper
        observation, _ = env.reset(seed=2_000_000)
        run = []
        for _ in range(40):
            action, state = student.predict(observation, deterministic=True)
            assert state is None and env.action_space.contains(np.clip(action, -1, 1))
            observation, _, terminated, truncated, info = env.step(action)
            run.append(action)
            if terminated or truncated:
                break
        actions.append(np.stack(run))
    np.testing.assert_array_equal(actions[0], actions[1])
    assert info["speed_mps"] > 0.5  # it drives off


def test_unknown_pretrained_name_lists_what_exists():
    with pytest.raises(ValueError, match="town-student"):
        load_pretrained("town-teacher")


def test_evaluate_and_watch_take_a_shipped_model(tmp_path, capsys, monkeypatch):
    from roadgym.agents.cli import evaluate_main, watch_main

    # The commands, not a full Town route: episodes end by the time limit after 12 s.
    monkeypatch.setattr(gym.spec("roadgym/Town-v0"), "max_episode_steps", 120)

    report = tmp_path / "eval.json"
    assert (
        evaluate_main(["--pretrained", "town-student", "--episodes", "1", "--json", str(report)])
        == 0
    )
    assert report.is_file()
    video = tmp_path / "drive.mp4"
    assert (
        watch_main(["--pretrained", "town-student", "--episodes", "1", "--record", str(video)]) == 0
    )
    assert video.stat().st_size > 0
    # The episode line shows the Town's own measures, not a Track key.
    lines = [t for t in capsys.readouterr().out.splitlines() if t.startswith("episode 1/1")]
    assert lines and "route_completion" in lines[-1] and "progress" not in lines[-1], lines
