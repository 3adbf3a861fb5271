"""Drawing a stretch of highway into a semantic image (class id per pixel).

One routine serves the map raster the camera samples (which follows the ego car and is
redrawn around it when it nears an edge: a highway is too long for one raster) and the
bird's-eye frame of ``render_mode``; only the :class:`PixelFrame` and the stretch differ.
"""

from __future__ import annotations

import cv2
import numpy as np

from roadgym.envs.core.map_raster import SUBPIXEL_BITS, PixelFrame
from roadgym.envs.core.semantic import SemanticClass
from roadgym.envs.highway.generator import SAMPLE_SPACING_M, HighwayMap, ramp_offset_m

DASH_ON_M = 3.0
DASH_OFF_M = 9.0
LINE_M = 0.3


def _line(hmap: HighwayMap, index: np.ndarray, d: np.ndarray | float) -> np.ndarray:
    """Points (K, 2) at lateral offset ``d`` beside reference vertices ``index`` (K,)."""
    vertices = hmap.vertices[index]
    return vertices + np.asarray(d, dtype=np.float64)[..., None] * hmap.normals[index]


def draw_highway(
    image: np.ndarray, hmap: HighwayMap, frame: PixelFrame, s_low_m: float, s_high_m: float
) -> None:
    """Draw the road between arc lengths ``s_low_m`` and ``s_high_m``: surface, edges,
    dashed lane lines and the on-ramp."""
    count = len(hmap.vertices)
    first = int(np.clip(np.floor(s_low_m / SAMPLE_SPACING_M), 0, count - 2))
    last = int(np.clip(np.ceil(s_high_m / SAMPLE_SPACING_M), first + 1, count - 1))
    index = np.arange(first, last + 1)
    s = index * SAMPLE_SPACING_M
    n, w = hmap.lanes_count, hmap.lane_width_m
    shift = SUBPIXEL_BITS
    px = max(int(round(LINE_M / frame.meters_per_pixel)), 1)

    def poly(left: np.ndarray, right: np.ndarray, cls: int) -> None:
        cv2.fillPoly(image, [frame._fixed(np.concatenate([left, right[::-1]]))], cls, shift=shift)

    def lines(points: list[np.ndarray], cls: int) -> None:
        points = [p for p in points if len(p) >= 2]
        if points:
            cv2.polylines(image, points, False, cls, px, shift=shift)

    def fixed(points: np.ndarray) -> np.ndarray:
        return frame._fixed(points)

    left_edge, right_edge = _line(hmap, index, 0.5 * w), _line(hmap, index, -(n - 0.5) * w)
    poly(left_edge, right_edge, int(SemanticClass.ROAD))
    left_edge, right_edge = fixed(left_edge), fixed(right_edge)
    beside = np.zeros(len(index), dtype=bool)
    if np.isfinite(hmap.ramp_join_s_m):
        on = (s >= hmap.ramp_start_s_m) & (s <= hmap.ramp_end_s_m)
        beside = (s >= hmap.ramp_join_s_m) & (s <= hmap.ramp_end_s_m)
        if on.sum() >= 2:
            centre = ramp_offset_m(s[on], n, w, hmap.ramp_join_s_m)
            ramp_left = _line(hmap, index[on], centre + 0.5 * w)
            ramp_right = _line(hmap, index[on], centre - 0.5 * w)
            poly(ramp_left, ramp_right, int(SemanticClass.ROAD))
            ramp_left, ramp_right = fixed(ramp_left), fixed(ramp_right)
            approach = s[on] < hmap.ramp_join_s_m
            lines([ramp_right, ramp_left[approach]], int(SemanticClass.ROAD_EDGE))
            if s[on][-1] >= hmap.ramp_end_s_m - SAMPLE_SPACING_M:  # where the lane ends
                end = np.stack([ramp_left[-1], ramp_right[-1]])
                lines([end], int(SemanticClass.ROAD_EDGE))
            marking = fixed(_line(hmap, index[beside], -(n - 0.5) * w))
            if beside.any():
                lines(_dashes(marking, int(index[beside][0])), int(SemanticClass.LANE_MARKING))
    lines([left_edge], int(SemanticClass.ROAD_EDGE))
    # The main road's right edge, except where the ramp runs beside it.
    runs = np.split(np.arange(len(index)), np.flatnonzero(np.diff(beside.astype(int))) + 1)
    lines([right_edge[r] for r in runs if not beside[r[0]]], int(SemanticClass.ROAD_EDGE))
    for i in range(n - 1):
        marking = fixed(_line(hmap, index, -(i + 0.5) * w))
        lines(_dashes(marking, first), int(SemanticClass.LANE_MARKING))


def _dashes(points: np.ndarray, first: int) -> list[np.ndarray]:
    """Dashes along ``points`` (from reference vertex ``first``), in phase along the road."""
    period = max(int(round((DASH_ON_M + DASH_OFF_M) / SAMPLE_SPACING_M)), 2)
    on = max(int(round(DASH_ON_M / SAMPLE_SPACING_M)), 1)
    start = (-first) % period
    return [points[i : i + on + 1] for i in range(start, len(points) - on, period)]
