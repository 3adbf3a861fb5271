import numpy as np
import pytest

from roadgym.envs.core.lane_graph import Lane, LaneGraph, Polyline, wrap_angle


def circle(radius: float, count: int = 400) -> Polyline:
    theta = np.linspace(0.0, 2 * np.pi, count, endpoint=False)
    return Polyline(np.stack([radius * np.cos(theta), radius * np.sin(theta)], axis=1), closed=True)


def test_closed_polyline_length_and_wrapping():
    line = circle(10.0)
    assert line.length == pytest.approx(2 * np.pi * 10.0, rel=1e-4)
    np.testing.assert_allclose(
        line.point_at(np.array([line.length + 1.0])), line.point_at(np.array([1.0]))
    )


def test_point_heading_and_curvature_on_a_circle():
    line = circle(20.0)
    s = np.array([0.0, 0.25 * line.length, 0.5 * line.length])
    np.testing.assert_allclose(line.point_at(s), [[20, 0], [0, 20], [-20, 0]], atol=1e-2)
    headings = line.heading_at(s + 1e-6)
    np.testing.assert_allclose(wrap_angle(headings - [np.pi / 2, np.pi, -np.pi / 2]), 0, atol=0.02)
    # Counter-clockwise travel turns left: positive curvature 1 / radius everywhere.
    np.testing.assert_allclose(
        line.curvature_at(np.linspace(0, line.length, 50)), 1 / 20, rtol=1e-3
    )


def test_projection_gives_arc_length_and_signed_lateral_offset():
    line = circle(10.0)
    points = np.array([[12.0, 0.0], [0.0, 9.0], [-10.0, 0.0]])
    s, lateral = line.project(points)
    np.testing.assert_allclose(s, [0.0, 0.25 * line.length, 0.5 * line.length], atol=0.05)
    # Outside a counter-clockwise circle is to the right (negative), inside to the left.
    np.testing.assert_allclose(lateral, [-2.0, 1.0, 0.0], atol=0.01)


def test_open_polyline_clamps_and_offsets():
    line = Polyline(np.array([[0.0, 0.0], [10.0, 0.0], [10.0, 10.0]]))
    assert line.length == pytest.approx(20.0)
    np.testing.assert_allclose(line.point_at(np.array([-5.0, 25.0])), [[0, 0], [10, 10]])
    left = line.offset(1.0)
    np.testing.assert_allclose(left[0], [0.0, 1.0])
    np.testing.assert_allclose(left[-1], [9.0, 10.0])


def test_queries_are_vectorised_over_any_shape():
    line = circle(15.0)
    s = np.linspace(0, 50, 12).reshape(3, 4)
    assert line.point_at(s).shape == (3, 4, 2)
    assert line.heading_at(s).shape == (3, 4)
    assert line.curvature_at(s).shape == (3, 4)


def test_lane_graph_validates_links_and_finds_nearest_lane():
    inner, outer = circle(10.0), circle(14.0)
    graph = LaneGraph(
        [
            Lane(0, inner, width_m=4.0, speed_limit_mps=20.0, successors=[0]),
            Lane(1, outer, width_m=4.0, speed_limit_mps=20.0, successors=[1]),
        ]
    )
    lane, _, lateral = graph.nearest_lane(np.array([[0.0, 13.5], [9.0, 0.0]]))
    np.testing.assert_array_equal(lane, [1, 0])
    np.testing.assert_allclose(lateral, [0.5, 1.0], atol=0.01)
    with pytest.raises(ValueError, match="unknown successor 3"):
        LaneGraph([Lane(0, inner, 4.0, 20.0, successors=[3])])
