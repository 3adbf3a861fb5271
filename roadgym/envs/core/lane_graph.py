"""The lane graph: roadgym's one map structure.

A lane is a polyline (its centreline) with a width, a speed limit and links to the
lanes that follow it. Every arc-length query is vectorised over many points, and the
projection used inside the batched step takes a window of candidate segments per point
so it costs O(points x window), not O(points x segments).
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np


def wrap_angle(angle: np.ndarray) -> np.ndarray:
    """Wrap angles (rad) to [-pi, pi)."""
    return (angle + np.pi) % (2.0 * np.pi) - np.pi


# A point outside a bend is exactly as near, in exact arithmetic, to both segments that
# meet at the vertex there (both project it onto the vertex), and a car spawned on a
# vertex ties the same way. np.argmin would then pick by the last bit of two distances,
# which another CPU's float kernels may round the other way (issue 23). Taking the first
# candidate within this margin of the nearest makes the choice a function of the map.
TIE_MARGIN_M2 = 1e-9


def nearest_candidate(dist_sq: np.ndarray) -> np.ndarray:
    """Index along the last axis of the first candidate within ``TIE_MARGIN_M2`` of the
    smallest squared distance: ``np.argmin`` that resolves rounding ties by order."""
    return np.argmax(dist_sq <= dist_sq.min(axis=-1, keepdims=True) + TIE_MARGIN_M2, axis=-1)


def project_onto_segments(
    vertices: np.ndarray, cum_s: np.ndarray, points: np.ndarray, segments: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Project points onto the nearest of a set of candidate segments, for B polylines.

    Args:
        vertices: (B, M + 1, 2) polyline vertices; segment i joins vertex i and i + 1.
        cum_s: (B, M + 1) arc length at each vertex.
        points: (B, P, 2) points to project; points[b] onto polyline b.
        segments: (B, P, K) candidate segment indices per point, each in [0, M).

    Returns:
        ``(s, lateral, segment)``, each (B, P): arc length of the closest point, signed
        distance from the line (positive to the left of the direction of travel) and the
        index of the segment it lies on.
    """
    b = np.arange(len(vertices))[:, None, None]  # (B, 1, 1)
    start = vertices[b, segments]  # (B, P, K, 2)
    direction = vertices[b, segments + 1] - start  # (B, P, K, 2)
    length_sq = np.maximum(np.einsum("bpki,bpki->bpk", direction, direction), 1e-12)
    rel = points[:, :, None, :] - start  # (B, P, K, 2)
    t = np.clip(np.einsum("bpki,bpki->bpk", rel, direction) / length_sq, 0.0, 1.0)
    offset = rel - t[..., None] * direction
    dist_sq = np.einsum("bpki,bpki->bpk", offset, offset)  # (B, P, K)
    best = nearest_candidate(dist_sq)[..., None]  # (B, P, 1)
    segment = np.take_along_axis(segments, best, axis=-1)[..., 0]  # (B, P)
    best_t = np.take_along_axis(t, best, axis=-1)[..., 0]  # (B, P)
    b2 = b[..., 0]  # (B, 1)
    s = cum_s[b2, segment] + best_t * (cum_s[b2, segment + 1] - cum_s[b2, segment])
    d = np.take_along_axis(direction, best[..., None], axis=-2)[..., 0, :]  # (B, P, 2)
    r = np.take_along_axis(rel, best[..., None], axis=-2)[..., 0, :]  # (B, P, 2)
    cross = d[..., 0] * r[..., 1] - d[..., 1] * r[..., 0]
    lateral = cross / np.sqrt(np.maximum(np.einsum("bpi,bpi->bp", d, d), 1e-12))
    return s, lateral, segment


def project_onto_window(
    vertices: np.ndarray, cum_s: np.ndarray, points: np.ndarray, segments: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`project_onto_segments` when every point of a polyline shares its candidates.

    Args:
        vertices: (B, M + 1, 2) polyline vertices.
        cum_s: (B, M + 1) arc length at each vertex.
        points: (B, P, 2) points to project; points[b] onto polyline b.
        segments: (B, K) candidate segment indices shared by the P points of polyline b.

    Returns:
        ``(s, lateral, segment)``, each (B, P), as :func:`project_onto_segments`.

    The step's hot path: it gathers the K segments once per polyline, not once per
    point, and works on x and y arrays rather than a trailing axis of 2.
    """
    b = np.arange(len(vertices))[:, None]  # (B, 1)
    start = vertices[b, segments]  # (B, K, 2)
    end = vertices[b, segments + 1]  # (B, K, 2)
    start_x, start_y = start[..., 0][:, None, :], start[..., 1][:, None, :]  # (B, 1, K)
    dir_x = end[..., 0][:, None, :] - start_x  # (B, 1, K)
    dir_y = end[..., 1][:, None, :] - start_y  # (B, 1, K)
    length_sq = np.maximum(dir_x * dir_x + dir_y * dir_y, 1e-12)  # (B, 1, K)
    rel_x = points[..., 0][:, :, None] - start_x  # (B, P, K)
    rel_y = points[..., 1][:, :, None] - start_y  # (B, P, K)
    t = np.clip((rel_x * dir_x + rel_y * dir_y) / length_sq, 0.0, 1.0)  # (B, P, K)
    off_x = rel_x - t * dir_x
    off_y = rel_y - t * dir_y
    best = nearest_candidate(off_x * off_x + off_y * off_y)  # (B, P)
    # Flat indices of each point's best candidate: cheaper than take_along_axis, which
    # dominates this function's cost in a batch of one.
    count, num_points, k = t.shape
    in_window = np.arange(count)[:, None] * k + best  # (B, P) into (B, K) arrays
    in_points = np.arange(count * num_points).reshape(count, num_points) * k + best  # (B, P)
    segment = np.ascontiguousarray(segments).reshape(-1)[in_window]  # (B, P)
    best_t = t.reshape(-1)[in_points]  # (B, P)
    s = cum_s[b, segment] + best_t * (cum_s[b, segment + 1] - cum_s[b, segment])  # (B, P)
    d_x = dir_x.reshape(-1)[in_window]  # (B, P)
    d_y = dir_y.reshape(-1)[in_window]  # (B, P)
    r_x = rel_x.reshape(-1)[in_points]  # (B, P)
    r_y = rel_y.reshape(-1)[in_points]  # (B, P)
    lateral = (d_x * r_y - d_y * r_x) / np.sqrt(np.maximum(d_x * d_x + d_y * d_y, 1e-12))
    return s, lateral, segment


class Polyline:
    """A centreline with arc-length queries, vectorised over query points.

    ``closed`` polylines wrap: arc lengths are taken modulo the length.
    """

    def __init__(self, points: np.ndarray, closed: bool = False) -> None:
        points = np.asarray(points, dtype=np.float64)
        if points.ndim != 2 or points.shape[1] != 2 or len(points) < 2:
            raise ValueError(f"points must have shape (N >= 2, 2), got {points.shape}")
        if closed and not np.allclose(points[0], points[-1]):
            points = np.vstack([points, points[:1]])
        self.vertices = points  # (M + 1, 2)
        self.closed = closed
        seg = np.diff(points, axis=0)
        self.segment_lengths = np.hypot(seg[:, 0], seg[:, 1])  # (M,)
        self.cum_s = np.concatenate([[0.0], np.cumsum(self.segment_lengths)])  # (M + 1,)
        self.length = float(self.cum_s[-1])

    @property
    def num_segments(self) -> int:
        return len(self.segment_lengths)

    @functools.cached_property
    def segment_headings(self) -> np.ndarray:
        """(M,) heading of each segment (rad); computed on first use, as the curvature."""
        seg = np.diff(self.vertices, axis=0)
        return np.arctan2(seg[:, 1], seg[:, 0])

    @functools.cached_property
    def vertex_curvature(self) -> np.ndarray:
        """(M + 1,) signed curvature at the vertices (1/m)."""
        return self._curvature()

    def _curvature(self) -> np.ndarray:
        # Turning angle between consecutive segments over the mean of their lengths.
        h = self.segment_headings
        if self.closed:
            turn = wrap_angle(np.diff(np.concatenate([h[-1:], h])))  # at vertices 0..M-1
            span = 0.5 * (self.segment_lengths + np.roll(self.segment_lengths, 1))
            k = turn / np.maximum(span, 1e-9)
            return np.concatenate([k, k[:1]])
        turn = wrap_angle(np.diff(h))
        span = 0.5 * (self.segment_lengths[1:] + self.segment_lengths[:-1])
        inner = turn / np.maximum(span, 1e-9)
        return np.concatenate([inner[:1], inner, inner[-1:]])

    def _normalise_s(self, s: np.ndarray) -> np.ndarray:
        s = np.asarray(s, dtype=np.float64)
        return s % self.length if self.closed else np.clip(s, 0.0, self.length)

    def segment_at(self, s: np.ndarray) -> np.ndarray:
        """Index of the segment holding arc length ``s`` (any shape)."""
        s = self._normalise_s(s)
        idx = np.searchsorted(self.cum_s, s, side="right") - 1
        return np.clip(idx, 0, self.num_segments - 1)

    def point_at(self, s: np.ndarray) -> np.ndarray:
        """Points (..., 2) at arc lengths ``s`` (...)."""
        s = self._normalise_s(s)
        idx = self.segment_at(s)
        t = (s - self.cum_s[idx]) / np.maximum(self.segment_lengths[idx], 1e-12)
        start, end = self.vertices[idx], self.vertices[idx + 1]
        return start + t[..., None] * (end - start)

    def heading_at(self, s: np.ndarray) -> np.ndarray:
        """Heading (rad, counter-clockwise from +x) of the line at arc lengths ``s``."""
        return self.segment_headings[self.segment_at(s)]

    def curvature_at(self, s: np.ndarray) -> np.ndarray:
        """Signed curvature (1/m, positive turning left) at arc lengths ``s``."""
        s = self._normalise_s(s)
        idx = self.segment_at(s)
        t = (s - self.cum_s[idx]) / np.maximum(self.segment_lengths[idx], 1e-12)
        k = self.vertex_curvature
        return k[idx] + t * (k[idx + 1] - k[idx])

    def project(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Project points (P, 2) to ``(s, lateral_offset)``, each (P,), over all segments."""
        points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        segments = np.broadcast_to(
            np.arange(self.num_segments), (1, len(points), self.num_segments)
        )
        s, lateral, _ = project_onto_segments(
            self.vertices[None], self.cum_s[None], points[None], segments
        )
        return s[0], lateral[0]

    def offset(self, distance: float) -> np.ndarray:
        """Vertices of the line shifted ``distance`` meters to its left (negative: right)."""
        h = self.segment_headings
        if self.closed:
            prev_h = np.concatenate([h[-1:], h])[:-1]
            mean_h = prev_h + 0.5 * wrap_angle(h - prev_h)
            mean_h = np.concatenate([mean_h, mean_h[:1]])
        else:
            inner = h[:-1] + 0.5 * wrap_angle(h[1:] - h[:-1])
            mean_h = np.concatenate([h[:1], inner, h[-1:]])
        normal = np.stack([-np.sin(mean_h), np.cos(mean_h)], axis=-1)
        return self.vertices + distance * normal


@dataclasses.dataclass
class Lane:
    """One lane: centreline, width, speed limit and the lanes reachable from its end."""

    lane_id: int
    centreline: Polyline
    width_m: float
    speed_limit_mps: float
    successors: list[int] = dataclasses.field(default_factory=list)
    left_neighbour: int | None = None
    right_neighbour: int | None = None


class LaneGraph:
    """A set of lanes joined by successor links."""

    def __init__(self, lanes: list[Lane]) -> None:
        ids = [lane.lane_id for lane in lanes]
        if ids != list(range(len(lanes))):
            raise ValueError(f"lane ids must be 0..{len(lanes) - 1} in order, got {ids}")
        for lane in lanes:
            for succ in lane.successors:
                if not 0 <= succ < len(lanes):
                    raise ValueError(f"lane {lane.lane_id} has unknown successor {succ}")
        self.lanes = lanes

    def __len__(self) -> int:
        return len(self.lanes)

    def __getitem__(self, lane_id: int) -> Lane:
        return self.lanes[lane_id]

    def nearest_lane(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For points (P, 2): the nearest lane id, arc length on it and lateral offset."""
        points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        results = [lane.centreline.project(points) for lane in self.lanes]
        s = np.stack([r[0] for r in results])  # (L, P)
        lateral = np.stack([r[1] for r in results])  # (L, P)
        best = np.argmin(np.abs(lateral), axis=0)
        cols = np.arange(len(points))
        return best, s[best, cols], lateral[best, cols]
