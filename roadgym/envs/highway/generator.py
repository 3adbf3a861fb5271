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

import dataclasses

import numpy as np

from roadgym.envs.core.lane_graph import Lane, LaneGraph, Polyline
from roadgym.envs.highway.config import HighwayConfig

SAMPLE_SPACING_M = 2.0
RAMP_APPROACH_M = 120.0  # length of the ramp before it meets the main road
RAMP_OFFSET_M = 14.0  # how far right of its final place the ramp starts
CURVATURE_WAVELENGTHS_M = (300.0, 1200.0)


@dataclasses.dataclass
class HighwayMap:
    """A generated highway: its lane graph, reference line and ramp positions."""

    lane_graph: LaneGraph
    reference: Polyline  # centre of lane 0, evenly sampled
    normals: np.ndarray  # (M + 1, 2) unit left normals at the reference vertices
    lanes_count: int
    lane_width_m: float
    ego_start_s_m: float
    ramp_start_s_m: float  # +inf without a ramp
    ramp_join_s_m: float
    ramp_end_s_m: float


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
    length = config.road_length_m
    count = int(np.ceil(length / SAMPLE_SPACING_M)) + 1
    s = np.arange(count) * SAMPLE_SPACING_M
    wavelength = rng.uniform(*CURVATURE_WAVELENGTHS_M, size=3)
    phase = rng.uniform(0.0, 2.0 * np.pi, size=3)
    amplitude = rng.uniform(0.3, 1.0, size=3)
    amplitude *= config.max_curvature_per_m / amplitude.sum()
    curvature = (amplitude * np.sin(2.0 * np.pi * s[:, None] / wavelength + phase)).sum(-1)
    heading = rng.uniform(-np.pi, np.pi) + np.concatenate(
        [[0.0], np.cumsum(curvature[:-1] * SAMPLE_SPACING_M)]
    )
    # Each step follows the mean heading over it, so the chords stay exactly the spacing.
    mid = 0.5 * (heading[:-1] + heading[1:])
    steps = SAMPLE_SPACING_M * np.stack([np.cos(mid), np.sin(mid)], -1)
    points = np.concatenate([np.zeros((1, 2)), np.cumsum(steps, axis=0)])
    reference = Polyline(points)

    n, width = config.lanes_count, config.lane_width_m
    ego_start = config.recycle_behind_m + 40.0
    lanes = [
        Lane(
            lane_id=i,
            centreline=Polyline(reference.offset(-i * width)),
            width_m=width,
            speed_limit_mps=config.top_speed_mps,
            left_neighbour=i - 1 if i > 0 else None,
            right_neighbour=i + 1 if i < n - 1 else None,
        )
        for i in range(n)
    ]
    ramp_start = ramp_join = ramp_end = np.inf
    if config.on_ramp:
        ramp_join = ego_start + config.ramp_join_m
        ramp_start = ramp_join - RAMP_APPROACH_M
        ramp_end = ramp_join + config.ramp_merge_length_m
        on_ramp = (s >= ramp_start) & (s <= ramp_end)
        offsets = ramp_offset_m(s[on_ramp], n, width, ramp_join)
        vertices = points[on_ramp]
        normals = _vertex_normals(reference)[on_ramp]
        lanes[-1].right_neighbour = n
        lanes.append(
            Lane(
                lane_id=n,
                centreline=Polyline(vertices + offsets[:, None] * normals),
                width_m=width,
                speed_limit_mps=config.top_speed_mps,
                left_neighbour=n - 1,
            )
        )
    return HighwayMap(
        lane_graph=LaneGraph(lanes),
        reference=reference,
        normals=_vertex_normals(reference),
        lanes_count=n,
        lane_width_m=width,
        ego_start_s_m=ego_start,
        ramp_start_s_m=ramp_start,
        ramp_join_s_m=ramp_join,
        ramp_end_s_m=ramp_end,
    )


def _vertex_normals(line: Polyline) -> np.ndarray:
    """Unit left normals (M + 1, 2) at the vertices, as :meth:`Polyline.offset` uses."""
    return (line.offset(1.0) - line.vertices) / 1.0
