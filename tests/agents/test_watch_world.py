"""``roadgym watch`` of every car of a world: headless video, the followed car, errors."""

from __future__ import annotations

from roadgym.agents.cli import watch_main
from roadgym.agents.watch import count_video_frames
from roadgym.agents.watch_world import _follow_keys, agent_index

MERGE = ["--env", "roadgym/Merge-v0", "--env-kwargs", "num_agents=3"]
SHORT = ["--env-kwargs", "duration_s=2", "--env-kwargs", "policy_frequency_hz=1"]


def test_watch_records_every_car_of_a_world_headless(tmp_path, capsys):
    video = tmp_path / "merge.mp4"
    argv = [*MERGE, *SHORT, "--expert", "--agent", "car_1", "--episodes", "1"]
    assert watch_main([*argv, "--record", str(video)]) == 0
    assert count_video_frames(video) == 2 + 1  # a frame a step (1 Hz, 2 s), and the last
    out = capsys.readouterr().out
    assert "controlled_collisions" in out and out.count("  car_") == 3


def test_watch_refuses_a_car_the_world_does_not_have(tmp_path, capsys):
    argv = [*MERGE, "--expert", "--agent", "car_3", "--record", str(tmp_path / "x.mp4")]
    assert watch_main(argv) == 2
    assert "agent = 'car_3'" in capsys.readouterr().err
    assert not (tmp_path / "x.mp4").exists()


def test_the_window_keys_pick_the_followed_car():
    assert agent_index("car_2", 4) == agent_index("2", 4) == 2
    assert _follow_keys(["tab"], 3, 4) == 0  # Tab wraps round to car_0
    assert _follow_keys(["tab", "tab"], 0, 4) == 2
    assert _follow_keys(["3"], 0, 4) == 3 and _follow_keys(["7"], 1, 4) == 1  # no car_7
