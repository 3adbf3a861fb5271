"""Procedural closed-loop race tracks, described as a lane graph.

A track is a periodic cubic B-spline through control points at jittered angles and
radii around a circle, scaled to a length drawn from the configured range and resampled
at even arc length. Candidates that cross themselves (with the road's width taken into
account), bend tighter than the road allows, or stray too far from a circle are thrown
away and drawn again from the same generator, so the result is still a pure function of
the seed.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from roadgym.envs.core.lane_graph import Lane, LaneGraph, Polyline
from roadgym.envs.track.config import TrackConfig

SAMPLE_SPACING_M = 1.0
MAX_ATTEMPTS = 200


class TrackGenerationError(RuntimeError):
    """No valid track was found within the attempt budget."""


@dataclasses.dataclass
class TrackMap:
    """A generated track: its lane graph and the road reference line derived from it."""

    lane_graph: LaneGraph
    centreline: Polyline  # middle of the road (the mean of the lane centrelines)
    road_half_width_m: float

    @property
    def length_m(self) -> float:
        return self.centreline.length


def _periodic_bspline(control: np.ndarray, samples_per_span: int) -> np.ndarray:
    """Sample a closed uniform cubic B-spline through (N, 2) control points."""
    t = np.linspace(0.0, 1.0, samples_per_span, endpoint=False)
    basis = (
        np.stack(
            [(1 - t) ** 3, 3 * t**3 - 6 * t**2 + 4, -3 * t**3 + 3 * t**2 + 3 * t + 1, t**3], axis=1
        )
        / 6.0
    )  # (S, 4)
    n = len(control)
    idx = (np.arange(n)[:, None] + np.arange(-1, 3)[None, :]) % n  # (N, 4)
    spans = np.einsum("sk,nkd->nsd", basis, control[idx])  # (N, S, 2)
    return spans.reshape(-1, 2)


def _resample(points: np.ndarray, spacing_m: float) -> np.ndarray:
    """Resample a closed curve at (nearly) even arc length, first point not repeated."""
    loop = Polyline(points, closed=True)
    count = max(int(round(loop.length / spacing_m)), 8)
    return loop.point_at(np.linspace(0.0, loop.length, count, endpoint=False))


def _is_valid(centre: Polyline, road_half_width_m: float, max_extent_m: float) -> bool:
    """No sharper bend than the road allows, no near approach of distant parts."""
    min_radius = road_half_width_m + 2.0
    if np.max(np.abs(centre.vertex_curvature)) > 1.0 / min_radius:
        return False
    pts = centre.vertices[:-1]
    if np.ptp(pts, axis=0).max() > max_extent_m:
        return False
    # Parts of the loop further apart along the road than a half-circle of the road
    # width must stay a full road width (plus a verge) apart in space. Pair (i, i + g)
    # is that far apart along the loop for shifts g in [first, n // 2] (the other half
    # of the shifts are the same pairs seen from j), so each point is compared with a
    # sliding window of the points ahead of it: n * n / 2 work, no pairwise gather.
    n = len(pts)
    first = int(np.pi * (road_half_width_m + 3.0) // SAMPLE_SPACING_M) + 1
    last = n // 2
    if first > last:
        return True
    twice = np.concatenate([pts, pts])  # (2n, 2): index i + g without a modulo
    ahead_x = sliding_window_view(twice[first:, 0], last - first + 1)[:n]  # (n, G)
    ahead_y = sliding_window_view(twice[first:, 1], last - first + 1)[:n]  # (n, G)
    dist_sq = np.square(ahead_x - pts[:, :1]) + np.square(ahead_y - pts[:, 1:])  # (n, G)
    return bool(dist_sq.min() > (2.0 * road_half_width_m + 6.0) ** 2)


def max_track_extent_m(config: TrackConfig) -> float:
    """Largest side of a generated track's bounding box; sizes the map raster."""
    return 0.42 * config.track_length_max_m


def generate_track(rng: np.random.Generator, config: TrackConfig) -> TrackMap:
    """Draw a track from ``rng``: a closed loop of ``config.num_lanes`` parallel lanes.

    Half the tracks run clockwise, so that right-hand bends are as common as left ones.
    """
    road_half_width = 0.5 * config.num_lanes * config.lane_width_m
    clockwise = bool(rng.random() < 0.5)
    for _ in range(MAX_ATTEMPTS):
        num_control = int(rng.integers(8, 15))
        angles = np.sort(
            2
            * np.pi
            * (np.arange(num_control) + rng.uniform(-0.35, 0.35, num_control))
            / num_control
        )
        radii = rng.uniform(0.55, 1.0, num_control)
        control = np.stack([radii * np.cos(angles), radii * np.sin(angles)], axis=1)
        raw = _periodic_bspline(control, samples_per_span=32)
        target_length = rng.uniform(config.track_length_min_m, config.track_length_max_m)
        raw_length = Polyline(raw, closed=True).length
        points = _resample(raw * target_length / raw_length, SAMPLE_SPACING_M)
        centre = Polyline(points[::-1] if clockwise else points, closed=True)
        if _is_valid(centre, road_half_width, max_track_extent_m(config)):
            return _track_map(centre, config)
    raise TrackGenerationError(
        f"no valid track in {MAX_ATTEMPTS} attempts for num_lanes={config.num_lanes}, "
        f"lane_width_m={config.lane_width_m}, track length "
        f"[{config.track_length_min_m}, {config.track_length_max_m}] m; "
        "try a longer track or a narrower road"
    )


def _track_map(centre: Polyline, config: TrackConfig) -> TrackMap:
    """Lanes offset from the road centre in the direction of travel, lane 0 leftmost."""
    n = config.num_lanes
    lanes = []
    for i in range(n):
        offset = (0.5 * (n - 1) - i) * config.lane_width_m
        lanes.append(
            Lane(
                lane_id=i,
                centreline=Polyline(centre.offset(offset), closed=True),
                width_m=config.lane_width_m,
                speed_limit_mps=config.speed_limit_mps,
                successors=[i],
                left_neighbour=i - 1 if i > 0 else None,
                right_neighbour=i + 1 if i < n - 1 else None,
            )
        )
    graph = LaneGraph(lanes)
    mean = np.mean([lane.centreline.vertices for lane in graph.lanes], axis=0)
    return TrackMap(
        lane_graph=graph,
        centreline=Polyline(mean, closed=True),
        road_half_width_m=0.5 * sum(lane.width_m for lane in graph.lanes),
    )
