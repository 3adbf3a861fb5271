"""Procedural highways as a lane graph: parallel lanes along a gently bending road.

The road's reference line is the centre of lane 0 (the leftmost). Its curvature is a sum
of three sinusoids of random wavelength and phase, bounded by ``max_curvature_per_m``,
integrated at an even spacing, so every lane is the reference line shifted sideways and
a position on the road is ``(s, d)``: arc length along the reference line and lateral
offset (positive to the left). Lane ``i`` runs at ``d = -i * lane_width_m``. The on-ramp
(Merge-v0) is lane ``lanes_count``: it comes in from the right over ``RAMP_APPROACH_M``,
runs beside the main road for ``ramp_merge_length_m`` and ends.
"""

from __future__ import annotations

import functools

import numpy as np

from roadgym.envs.core.lane_graph import Lane, LaneGraph, Polyline
from roadgym.envs.highway.config import HighwayConfig

SAMPLE_SPACING_M = 2.0
RAMP_APPROACH_M = 120.0  # length of the ramp before it meets the main road
RAMP_OFFSET_M = 14.0  # how far right of its final place the ramp starts
CURVATURE_WAVELENGTHS_M = (300.0, 1200.0)


class HighwayMap:
    """A generated highway: its reference line, lanes and ramp positions.

    The step needs only the reference line's arrays; the :class:`LaneGraph` (one
    :class:`Lane` per lane, the ramp included) and the reference :class:`Polyline` are
    built from them on first use.
    """

    def __init__(
        self,
        vertices: np.ndarray,
        vertex_heading: np.ndarray,
        curvature: np.ndarray,
        config: HighwayConfig,
        ego_start_s_m: float,
        ramp: tuple[float, float, float] | None,
        segment_heading: np.ndarray | None = None,
        normals: np.ndarray | None = None,
    ) -> None:
        self.vertices = vertices  # (M + 1, 2) centre of lane 0, evenly spaced
        self.vertex_heading = vertex_heading  # (M + 1,) rad
        if segment_heading is None:  # (M,): computed here unless a batch did it
            segment_heading = np.arctan2(*np.diff(vertices, axis=0).T[::-1])
        self.segment_heading = segment_heading
        self.curvature = curvature  # (M + 1,) 1/m, + left
        if normals is None:  # (M + 1, 2) left normals
            normals = np.stack([-np.sin(vertex_heading), np.cos(vertex_heading)], -1)
        self.normals = normals
        self.lanes_count = config.lanes_count
        self.lane_width_m = config.lane_width_m
        self.speed_limit_mps = config.top_speed_mps
        self.ego_start_s_m = ego_start_s_m
        self.ramp_start_s_m, self.ramp_join_s_m, self.ramp_end_s_m = ramp or (np.inf,) * 3

    @functools.cached_property
    def reference(self) -> Polyline:
        """The reference line (centre of lane 0)."""
        return Polyline(self.vertices)

    @functools.cached_property
    def lane_graph(self) -> LaneGraph:
        """The lanes as a lane graph: lane 0 leftmost; the ramp, if any, is the last."""
        n, width = self.lanes_count, self.lane_width_m
        lanes = [
            Lane(
                lane_id=i,
                centreline=Polyline(self.vertices - i * width * self.normals),
                width_m=width,
                speed_limit_mps=self.speed_limit_mps,
                left_neighbour=i - 1 if i > 0 else None,
                right_neighbour=i + 1 if i < n - 1 else None,
            )
            for i in range(n)
        ]
        if np.isfinite(self.ramp_join_s_m):
            s = np.arange(len(self.vertices)) * SAMPLE_SPACING_M
            on = (s >= self.ramp_start_s_m) & (s <= self.ramp_end_s_m)
            offsets = ramp_offset_m(s[on], n, width, self.ramp_join_s_m)
            lanes[-1].right_neighbour = n
            lanes.append(
                Lane(
                    lane_id=n,
                    centreline=Polyline(self.vertices[on] + offsets[:, None] * self.normals[on]),
                    width_m=width,
                    speed_limit_mps=self.speed_limit_mps,
                    left_neighbour=n - 1,
                )
            )
        return LaneGraph(lanes)


def ramp_offset_m(
    s: np.ndarray, lanes_count: int, lane_width_m: float, join_s: np.ndarray
) -> np.ndarray:
    """Lateral offset ``d`` (m, + left) of the ramp lane's centre at arc length ``s``.

    ``join_s`` broadcasts with ``s``; beside the main road the ramp is lane
    ``lanes_count``; before the join it bends away to the right over RAMP_APPROACH_M.
    """
    x = np.clip((join_s - s) / RAMP_APPROACH_M, 0.0, 1.0)
    return -lanes_count * lane_width_m - RAMP_OFFSET_M * x * x * (3.0 - 2.0 * x)


def generate_highway(rng: np.random.Generator, config: HighwayConfig) -> HighwayMap:
    """Draw a highway from ``rng``: its bends, heading, and (Merge) its ramp."""
    return build_highways([draw_road(rng, config)], config)[0]


def draw_road(rng: np.random.Generator, config: HighwayConfig) -> np.ndarray:
    """The random numbers of one road (10,): 3 wavelengths, 3 phases, 3 amplitudes
    (already scaled to ``max_curvature_per_m``) and the initial heading."""
    wavelength = rng.uniform(*CURVATURE_WAVELENGTHS_M, size=3)
    phase = rng.uniform(0.0, 2.0 * np.pi, size=3)
    amplitude = rng.uniform(0.3, 1.0, size=3)
    amplitude *= config.max_curvature_per_m / amplitude.sum()
    return np.concatenate([wavelength, phase, amplitude, [rng.uniform(-np.pi, np.pi)]])


def road_layout(config: HighwayConfig) -> tuple[float, tuple[float, float, float] | None]:
    """Where the ego car starts (arc length, m) and, with an on-ramp, where the ramp
    starts, joins the road and ends (m): the same on every road of ``config``."""
    ego_start = config.recycle_behind_m + 40.0
    if not config.on_ramp:
        return ego_start, None
    join = ego_start + config.ramp_join_m
    return ego_start, (join - RAMP_APPROACH_M, join, join + config.ramp_merge_length_m)


def build_highways(draws: list[np.ndarray], config: HighwayConfig) -> list[HighwayMap]:
    """The roads of ``draws`` (see :func:`draw_road`), computed together (W roads).

    The arithmetic is one road's, run over a batch axis: each road is the same
    whatever others are built with it.
    """
    params = np.stack(draws)  # (W, 10)
    wavelength, phase, amplitude = params[:, None, 0:3], params[:, None, 3:6], params[:, None, 6:9]
    length = config.road_length_m
    count = int(np.ceil(length / SAMPLE_SPACING_M)) + 1
    s = np.arange(count) * SAMPLE_SPACING_M
    curvature = (amplitude * np.sin(2.0 * np.pi * s[:, None] / wavelength + phase)).sum(-1)
    heading = np.empty_like(curvature)  # (W, M + 1)
    heading[:, 0] = 0.0
    np.cumsum(curvature[:, :-1] * SAMPLE_SPACING_M, axis=1, out=heading[:, 1:])
    heading = params[:, 9:10] + heading
    # Each step follows the mean heading over it, so the chords stay exactly the spacing.
    mid = 0.5 * (heading[:, :-1] + heading[:, 1:])
    steps = SAMPLE_SPACING_M * np.stack([np.cos(mid), np.sin(mid)], -1)  # (W, M, 2)
    points = np.zeros((len(draws), count, 2))
    np.cumsum(steps, axis=1, out=points[:, 1:])
    chords = np.diff(points, axis=1)  # (W, M, 2)
    segment_heading = np.arctan2(chords[..., 1], chords[..., 0])
    normals = np.stack([-np.sin(heading), np.cos(heading)], -1)  # (W, M + 1, 2)
    ego_start, ramp = road_layout(config)
    return [
        HighwayMap(
            points[k],
            heading[k],
            curvature[k],
            config,
            ego_start,
            ramp,
            segment_heading=segment_heading[k],
            normals=normals[k],
        )
        for k in range(len(draws))
    ]
