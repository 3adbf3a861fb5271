"""Drawing a track's lane graph into a semantic image (class id per pixel).

One drawing routine serves the map raster that the camera samples and the larger
bird's-eye frame of ``render_mode``; only the world-to-pixel transform differs.
"""

from __future__ import annotations

import cv2
import numpy as np

from roadgym.envs.core.map_raster import SUBPIXEL_BITS, PixelFrame
from roadgym.envs.core.semantic import SemanticClass
from roadgym.envs.track.generator import TrackMap

DASH_ON_M = 3.0
DASH_OFF_M = 4.0
EDGE_LINE_M = 0.4


def _dashes(vertices: np.ndarray, spacing_m: float) -> list[np.ndarray]:
    period = max(int(round((DASH_ON_M + DASH_OFF_M) / spacing_m)), 2)
    on = max(int(round(DASH_ON_M / spacing_m)), 1)
    return [vertices[i : i + on + 1] for i in range(0, len(vertices) - on, period)]


def draw_track(image: np.ndarray, track: TrackMap, frame: PixelFrame) -> None:
    """Draw road, edges, lane markings and the start line into a class-id image."""
    centre = track.centreline
    half = track.road_half_width_m
    left = centre.offset(half)
    right = centre.offset(-half)
    shift = SUBPIXEL_BITS
    cv2.fillPoly(
        image, [frame._fixed(left), frame._fixed(right)], int(SemanticClass.ROAD), shift=shift
    )
    edge_px = max(int(round(EDGE_LINE_M / frame.meters_per_pixel)), 1)
    for boundary in (
        centre.offset(half - 0.5 * EDGE_LINE_M),
        centre.offset(-half + 0.5 * EDGE_LINE_M),
    ):
        cv2.polylines(
            image,
            [frame._fixed(boundary)],
            True,
            int(SemanticClass.ROAD_EDGE),
            edge_px,
            shift=shift,
        )
    spacing = centre.length / centre.num_segments
    lanes = track.lane_graph.lanes
    for lane in lanes[:-1]:
        # The marking between this lane and its right neighbour.
        line = lane.centreline.offset(-0.5 * lane.width_m)
        cv2.polylines(
            image,
            _dashes(frame._fixed(line), spacing),  # one transform, then slices
            False,
            int(SemanticClass.LANE_MARKING),
            edge_px,
            shift=shift,
        )
    start = np.stack([left[0], right[0]])
    cv2.polylines(
        image, [frame._fixed(start)], False, int(SemanticClass.LANE_MARKING), edge_px, shift=shift
    )


def raster_frame(track: TrackMap, side_px: int, meters_per_pixel: float) -> PixelFrame:
    """A frame of ``side_px`` square pixels centred on the track's bounding box."""
    vertices = track.centreline.vertices
    centre = 0.5 * (vertices.min(axis=0) + vertices.max(axis=0))
    half_side_m = 0.5 * side_px * meters_per_pixel
    return PixelFrame(
        left_m=float(centre[0] - half_side_m),
        top_m=float(centre[1] + half_side_m),
        meters_per_pixel=meters_per_pixel,
    )
