"""Episode metrics: bools become 'ever', speed a mean, other numbers the last value."""

from __future__ import annotations

import numpy as np
import pytest

from roadgym.agents.metrics import EpisodeMetrics, summarize


def test_episode_metrics_rules():
    tracker = EpisodeMetrics(2)
    step1 = [
        {"progress": 0.1, "off_road": False, "speed_mps": 2.0, "lateral_offset_m": -1.0},
        {"progress": 0.2, "off_road": False, "speed_mps": 4.0, "labels": {"x": 1}},
    ]
    assert tracker.update([1.0, 2.0], [False, False], step1) == []
    step2 = [
        {"progress": 0.3, "off_road": True, "speed_mps": 4.0, "lateral_offset_m": 3.0},
        {"progress": 0.4, "off_road": False, "speed_mps": 6.0, "terminal_observation": 0},
    ]
    finished = tracker.update(np.array([-5.0, 1.0]), np.array([True, False]), step2)
    assert len(finished) == 1
    index, metrics = finished[0]
    assert index == 0
    assert metrics == pytest.approx(
        {
            "return": -4.0,
            "length": 2.0,
            "off_road": 1.0,
            "mean_speed_mps": 3.0,
            "mean_abs_lateral_offset_m": 2.0,
            "progress": 0.3,
        }
    )
    # env 0 starts a fresh episode; env 1 keeps accumulating.
    _, metrics = tracker.update([0.0, 0.0], [True, True], [{}, {"progress": 0.5}])[1]
    assert metrics["length"] == 3 and metrics["progress"] == 0.5


def test_summarize_mean_and_std():
    summary = summarize([{"progress": 1.0}, {"progress": 0.5, "collision": 1.0}])
    assert summary["progress"]["mean"] == pytest.approx(0.75)
    assert summary["progress"]["std"] == pytest.approx(0.25)
    assert summary["collision"]["mean"] == 1.0
