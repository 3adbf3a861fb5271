import numpy as np
import pytest

from roadgym.envs.track.config import TrackConfig
from roadgym.envs.track.generator import generate_track


@pytest.mark.parametrize("num_lanes", [1, 2, 3])
def test_tracks_are_closed_smooth_and_within_the_length_range(num_lanes):
    config = TrackConfig(num_lanes=num_lanes, track_length_min_m=300, track_length_max_m=500)
    for seed in range(5):
        track = generate_track(np.random.default_rng(seed), config)
        assert 300 - 2 <= track.length_m <= 500 + 2
        assert len(track.lane_graph) == num_lanes
        assert track.road_half_width_m == pytest.approx(0.5 * num_lanes * config.lane_width_m)
        vertices = track.centreline.vertices
        np.testing.assert_allclose(vertices[0], vertices[-1])
        # Smooth: never bends tighter than the road's outer edge can follow.
        assert np.max(np.abs(track.centreline.vertex_curvature)) < 1 / track.road_half_width_m
        for lane in track.lane_graph.lanes:
            assert lane.successors == [lane.lane_id]


def test_tracks_never_come_close_to_themselves():
    config = TrackConfig(num_lanes=3, lane_width_m=5.0)
    for seed in range(10):
        track = generate_track(np.random.default_rng(seed), config)
        points = track.centreline.vertices[:-1]
        dist = np.hypot(*(points[:, None, :] - points[None, :, :]).transpose(2, 0, 1))
        index = np.arange(len(points))
        gap = np.abs(index[:, None] - index[None, :])
        along = np.minimum(gap, len(points) - gap) * (track.length_m / len(points))
        far = along > np.pi * (track.road_half_width_m + 3.0)
        assert dist[far].min() > 2 * track.road_half_width_m


def test_same_seed_same_track_and_different_seeds_differ():
    config = TrackConfig()
    a = generate_track(np.random.default_rng(7), config).centreline.vertices
    b = generate_track(np.random.default_rng(7), config).centreline.vertices
    c = generate_track(np.random.default_rng(8), config).centreline.vertices
    np.testing.assert_array_equal(a, b)
    assert a.shape != c.shape or not np.allclose(a, c)


def test_lanes_run_parallel_at_lane_width():
    config = TrackConfig(num_lanes=2, lane_width_m=4.0)
    track = generate_track(np.random.default_rng(0), config)
    left, right = track.lane_graph.lanes
    _, lateral = right.centreline.project(left.centreline.vertices[::25])
    np.testing.assert_allclose(lateral, 4.0, atol=0.15)
