"""A town's lanes as padded arrays, built in a few batched numpy passes.

The generator lays out a town's lanes as line segments (street lanes, straight crossings)
and cubic turn curves; this module resamples them all at once into a :class:`LaneTable`,
the padded arrays that the batched step reads, instead of one :class:`Polyline` per lane.
The arithmetic is :class:`Polyline`'s (``point_at`` on ``linspace`` arc lengths, its
headings and curvature) done for many lines together, so a lane here has exactly the
vertices that ``Polyline(points).point_at(...)`` would give. The :class:`LaneGraph` of
``Lane`` objects that tests and tools read is built from the table on first use.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools

import numpy as np

from roadgym.envs.core.lane_graph import Lane, LaneGraph, Polyline, wrap_angle

TURN_CURVE_POINTS = 48  # samples of each cubic turn curve before resampling
_T = np.linspace(0.0, 1.0, TURN_CURVE_POINTS)  # the curve parameter at each sample
# The cubic Bernstein weights, each evaluated as the curve formula (1 - t)^3 a + 3 (1 - t)^2
# t c0 + 3 (1 - t) t^2 c1 + t^3 b evaluates it, so the curves keep their bits.
_BERNSTEIN = ((1 - _T) ** 3, 3 * (1 - _T) ** 2 * _T, 3 * (1 - _T) * _T**2, _T**3)
BERNSTEIN = np.stack(_BERNSTEIN)  # (4, TURN_CURVE_POINTS): the same weights for the kernels
BERNSTEIN.flags.writeable = False


def _linspace_rows(length: np.ndarray, count: np.ndarray, width: int) -> np.ndarray:
    """``np.linspace(0, length[k], count[k] + 1)`` for every row k, padded with ``length[k]``.

    Same arithmetic as numpy's linspace (index x step, last sample set to the stop), so
    every sample equals the one-row call's bit for bit.
    """
    index = np.arange(width, dtype=np.float64)[None, :]  # (1, W)
    s = index * (length / count)[:, None]  # (K, W)
    return np.where(np.arange(width)[None, :] >= count[:, None], length[:, None], s)


def pad_rows(vertices: np.ndarray, width: int) -> np.ndarray:
    """Rows of ``vertices`` (K, W, 2) padded to ``width`` with each row's last vertex."""
    pad = width - vertices.shape[1]
    if pad <= 0:
        return vertices
    return np.concatenate([vertices, np.repeat(vertices[:, -1:], pad, axis=1)], axis=1)


def resample_segments(start: np.ndarray, end: np.ndarray, spacing_m: float) -> tuple:
    """Straight lines from ``start`` (K, 2) to ``end`` (K, 2), resampled at ~``spacing_m``.

    Returns ``(vertices (K, W, 2) padded with the last vertex, num_segments (K,))``.
    """
    direction = end - start  # (K, 2)
    length = np.hypot(direction[:, 0], direction[:, 1])  # (K,)
    count = np.maximum(np.ceil(length / spacing_m).astype(np.int64), 2)
    s = _linspace_rows(length, count, int(count.max(initial=2)) + 1)  # (K, W)
    t = s / np.maximum(length, 1e-12)[:, None]
    # x and y apart: a broadcast over a trailing axis of 2 runs numpy's inner loop two
    # elements at a time. Same arithmetic per element (start + t * direction).
    vertices = np.empty((*t.shape, 2))  # (K, W, 2)
    for k in (0, 1):
        vertices[..., k] = start[:, k, None] + t * direction[:, k, None]
    return vertices, count


def _ragged(count: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row and column of samples 0..count[k] of every row k, flat and row-major."""
    size = count + 1
    row = np.repeat(np.arange(len(count)), size)
    return row, np.arange(len(row)) - np.repeat(np.cumsum(size) - size, size)


def curve_segments(curves: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The segments of polylines ``curves`` (C, P, 2): ``(dx, dy, length)``, each (C, P - 1);
    measured once for :func:`max_curvature` and :func:`resample_curves`."""
    x, y = curves[..., 0], curves[..., 1]
    dx, dy = x[:, 1:] - x[:, :-1], y[:, 1:] - y[:, :-1]
    return dx, dy, np.hypot(dx, dy)


def resample_curves(curves: np.ndarray, spacing_m: float, segments: tuple | None = None) -> tuple:
    """Polylines ``curves`` (C, P, 2) resampled at ~``spacing_m`` along their arc length.

    Returns ``(vertices (C, W, 2) padded with the last vertex, num_segments (C,))``.
    Only each curve's own samples are computed; the padding repeats its last one.
    ``segments``: :func:`curve_segments` of ``curves`` when already measured.
    """
    num, points = curves.shape[:2]
    seg_len = (segments or curve_segments(curves))[2]  # (C, P - 1)
    cum = np.zeros((num, points))  # (C, P)
    np.cumsum(seg_len, axis=1, out=cum[:, 1:])
    length = cum[:, -1]
    count = np.maximum(np.ceil(length / spacing_m).astype(np.int64), 2)
    row, col = _ragged(count)  # (S,) every sample
    # np.linspace(0, length, count + 1) per curve, as _linspace_rows.
    s = np.where(col >= count[row], length[row], col * (length / count)[row])
    # Polyline.segment_at: searchsorted(cum, s, "right") - 1, clipped to the segments.
    # Complex numbers sort by real part, then imaginary: (curve, arc length) pairs search
    # every curve's arc lengths in one call, with exact comparisons.
    keys = (np.arange(num)[:, None] + 1j * cum).reshape(-1)
    index = np.searchsorted(keys, row + 1j * s, side="right") - row * points - 1
    index = np.minimum(np.maximum(index, 0), points - 2)
    flat = row * points + index  # into (C * P) vertices
    t = (s - cum.reshape(-1)[flat]) / np.maximum(seg_len.reshape(-1)[flat - row], 1e-12)
    first = np.cumsum(count + 1) - (count + 1)
    width = int(count.max(initial=2)) + 1
    pick = first[:, None] + np.minimum(np.arange(width)[None, :], count[:, None])  # (C, W)
    vertices = np.empty((num, width, 2))
    for k in (0, 1):  # x and y apart, as in resample_segments
        coordinate = curves[..., k].reshape(-1)  # (C * P,)
        start = coordinate[flat]
        vertices[..., k] = (start + t * (coordinate[flat + 1] - start))[pick]
    return vertices, count


def max_curvature(curves: np.ndarray, segments: tuple | None = None) -> np.ndarray:
    """Largest |curvature| (C,) (1/m) of each polyline (C, P >= 3, 2), as Polyline has it.

    ``segments``: :func:`curve_segments` of ``curves`` when already measured.
    """
    dx, dy, seg_len = segments or curve_segments(curves)
    heading = np.arctan2(dy, dx)
    turn = wrap_angle(heading[:, 1:] - heading[:, :-1])
    span = 0.5 * (seg_len[:, 1:] + seg_len[:, :-1])
    return np.max(np.abs(turn / np.maximum(span, 1e-9)), axis=1)


def turn_curves(p0: np.ndarray, u0: np.ndarray, p1: np.ndarray, u1: np.ndarray) -> np.ndarray:
    """Cubic Bezier turns (C, TURN_CURVE_POINTS, 2) from p0 heading u0 to p1 heading u1.

    Each is a quarter circle when the headings are square; inputs are (C, 2).
    """
    rel = p1 - p0
    t0 = rel[:, 0] * u0[:, 0] + rel[:, 1] * u0[:, 1]  # distance from p0 to the corner
    corner = p0 + t0[:, None] * u0
    rel1 = p1 - corner
    t1 = rel1[:, 0] * u1[:, 0] + rel1[:, 1] * u1[:, 1]
    c0 = p0 + 0.55 * t0[:, None] * u0  # (C, 2) control points
    c1 = p1 - 0.55 * t1[:, None] * u1
    b0, b1, b2, b3 = _BERNSTEIN
    curves = np.empty((len(p0), TURN_CURVE_POINTS, 2))  # (C, P, 2)
    for k in (0, 1):  # x and y apart, as in resample_segments
        curves[..., k] = (
            b0 * p0[:, k, None] + b1 * c0[:, k, None] + b2 * c1[:, k, None] + b3 * p1[:, k, None]
        )
    return curves


@dataclasses.dataclass
class LaneTable:
    """Every lane of a town as padded arrays (L lanes, W vertices at most).

    Rows are padded with their last vertex (and last heading), the layout the batched
    step reads; ``successors`` are lane ids, sorted.
    """

    xy: np.ndarray  # (L, W, 2) centreline vertices
    num_segments: np.ndarray  # (L,) segments of each lane (its vertices: num_segments + 1)
    heading: np.ndarray  # (L, W) heading of each segment (rad), padded with the last
    length_m: np.ndarray  # (L,)
    cum_s: np.ndarray  # (L, W) arc length at each vertex, padded with the length
    speed_limit_mps: np.ndarray  # (L,)
    successors: list[list[int]]
    width_m: float

    def __len__(self) -> int:
        return len(self.num_segments)

    @classmethod
    def from_pieces(
        cls,
        pieces: list[tuple[np.ndarray, np.ndarray]],
        speed_limit_mps: np.ndarray,
        successors: list[list[int]],
        width_m: float,
    ) -> LaneTable:
        """Join blocks of ``(vertices (K, W_k, 2), num_segments (K,))`` in lane order."""
        width = max(v.shape[1] for v, _ in pieces)
        xy = np.concatenate([pad_rows(v, width) for v, _ in pieces])  # (L, W, 2)
        count = np.concatenate([c for _, c in pieces])
        rows = np.arange(len(count))
        seg = xy[:, 1:] - xy[:, :-1]  # (L, W - 1, 2)
        # Only a lane's own segments are measured; those past its end (zero length) carry
        # its last heading, as packed before, and add nothing to its arc length.
        own = np.arange(width - 1)[None, :] < count[:, None]  # (L, W - 1)
        heading = np.empty((len(count), width))
        np.arctan2(seg[..., 1], seg[..., 0], out=heading[:, :-1], where=own)
        last = heading[rows, count - 1]
        np.copyto(heading, last[:, None], where=np.arange(width)[None, :] >= count[:, None])
        step = np.zeros((len(count), width - 1))
        np.hypot(seg[..., 0], seg[..., 1], out=step, where=own)
        cum_s = np.zeros((len(count), width))
        np.cumsum(step, axis=1, out=cum_s[:, 1:])
        return cls(
            xy=xy,
            num_segments=count,
            heading=heading,
            length_m=cum_s[rows, count],
            cum_s=cum_s,
            speed_limit_mps=np.asarray(speed_limit_mps, dtype=np.float64),
            successors=successors,
            width_m=width_m,
        )

    def vertices(self, lane: int) -> np.ndarray:
        """The centreline vertices (M + 1, 2) of ``lane``."""
        return self.xy[lane, : self.num_segments[lane] + 1]

    def _segment_at(self, lane: int, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        s = np.clip(np.asarray(s, dtype=np.float64), 0.0, self.length_m[lane])
        index = np.searchsorted(self.cum_s[lane], s, side="right") - 1
        return s, np.clip(index, 0, self.num_segments[lane] - 1)

    def point_at(self, lane: int, s: np.ndarray) -> np.ndarray:
        """Points (..., 2) at arc lengths ``s`` (...) on ``lane`` (as ``Polyline.point_at``)."""
        s, index = self._segment_at(lane, s)
        start, end = self.xy[lane, index], self.xy[lane, index + 1]
        seg = end - start
        t = (s - self.cum_s[lane, index]) / np.maximum(np.hypot(seg[..., 0], seg[..., 1]), 1e-12)
        return start + t[..., None] * seg

    def points_at(self, lanes: np.ndarray, s: np.ndarray) -> np.ndarray:
        """Points (K, 2) at arc length ``s[k]`` on lane ``lanes[k]``: :meth:`point_at` for
        K lanes at once, with the same arithmetic."""
        length = self.length_m[lanes]
        s = np.minimum(np.maximum(np.asarray(s, dtype=np.float64), 0.0), length)
        cum = self.cum_s[lanes]  # (K, W)
        # searchsorted(cum_s, s, "right") - 1 on every row, clipped to the lane's segments
        index = np.clip((cum <= s[:, None]).sum(axis=1) - 1, 0, self.num_segments[lanes] - 1)
        start, end = self.xy[lanes, index], self.xy[lanes, index + 1]
        seg = end - start
        t = (s - cum[np.arange(len(lanes)), index]) / np.maximum(
            np.hypot(seg[..., 0], seg[..., 1]), 1e-12
        )
        return start + t[..., None] * seg

    def heading_at(self, lane: int, s: np.ndarray) -> np.ndarray:
        """Headings (rad) at arc lengths ``s`` on ``lane`` (as ``Polyline.heading_at``)."""
        return self.heading[lane, self._segment_at(lane, s)[1]]

    def successor_table(self) -> tuple[np.ndarray, np.ndarray]:
        """``(successors (L, S) padded with 0, num_successors (L,))``, read-only (made
        once: a reset's route search, connectivity check and packing all read it)."""
        return self._successor_arrays

    @functools.cached_property
    def _successor_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        number = np.fromiter(map(len, self.successors), dtype=np.int64, count=len(self))
        table = np.zeros((len(self), max(int(number.max(initial=1)), 1)), dtype=np.int64)
        rows = np.repeat(np.arange(len(self)), number)
        cols = np.arange(len(rows)) - np.repeat(np.cumsum(number) - number, number)
        flat = itertools.chain.from_iterable(self.successors)
        table[rows, cols] = np.fromiter(flat, dtype=np.int64, count=len(rows))
        table.flags.writeable = number.flags.writeable = False
        return table, number

    @functools.cached_property
    def graph(self) -> LaneGraph:
        """The lanes as a :class:`LaneGraph` of :class:`Lane` objects (built on first use)."""
        return LaneGraph(
            [
                Lane(
                    k,
                    Polyline(self.vertices(k)),
                    self.width_m,
                    float(self.speed_limit_mps[k]),
                    list(self.successors[k]),
                )
                for k in range(len(self))
            ]
        )
