"""Drawing a town into a semantic image: streets, sidewalks, markings, crosswalks, lines.

The same routines draw the map raster that the camera samples and the finer frame of
``render_mode``. Light-controlled stop lines change colour every step, so instead of
being drawn they are returned as pixel lists that the step repaints.
"""

from __future__ import annotations

import cv2
import numpy as np

from roadgym.envs.core.map_raster import SUBPIXEL_BITS, PixelFrame
from roadgym.envs.core.semantic import SemanticClass
from roadgym.envs.town.generator import CONTROL_LIGHT, CONTROL_STOP, TownMap
from roadgym.envs.town.routing import Route

MARKING_M = 0.3
DASH_ON_M, DASH_OFF_M = 3.0, 3.0
STOP_BAR_M = 1.0
LIGHT_BAR_M = 1.5
ROUTE_LINE_M = 1.0
STRIPE_M = 0.6  # zebra stripe width when drawn fine enough to see stripes


def _box(centre: np.ndarray, along: np.ndarray, half_along: float, half_across: float):
    across = np.array([-along[1], along[0]])
    signs = np.array([[1, 1], [1, -1], [-1, -1], [-1, 1]], dtype=np.float64)
    return centre + signs[:, :1] * half_along * along + signs[:, 1:] * half_across * across


def _fill(image: np.ndarray, frame: PixelFrame, polygons, value: int) -> None:
    # One call per polygon: a single fillPoly over overlapping polygons punches holes.
    for polygon in polygons:
        cv2.fillConvexPoly(image, frame._fixed(polygon), value, shift=SUBPIXEL_BITS)


def _thickness(frame: PixelFrame, meters: float) -> int:
    return max(int(round(meters / frame.meters_per_pixel)), 1)


def draw_town(image: np.ndarray, town: TownMap, frame: PixelFrame, striped: bool = False) -> None:
    """Draw sidewalks, roads, markings, crosswalks and stop-sign lines (class ids)."""
    kerb = town.sidewalk_width_m
    for widen, value in ((kerb, SemanticClass.SIDEWALK), (0.0, SemanticClass.ROAD)):
        polygons = []
        for a, b, half in town.streets:
            u = (b - a) / np.linalg.norm(b - a)
            polygons.append(_box(0.5 * (a + b), u, 0.5 * np.linalg.norm(b - a), half + widen))
        for centre, half in zip(town.junction_xy, town.junction_half_size_m, strict=True):
            polygons.append(_box(centre, np.array([1.0, 0.0]), half[0] + widen, half[1] + widen))
        _fill(image, frame, polygons, int(value))
    # Turning lanes are paved to their full width: it rounds the kerbs off where a turn
    # would otherwise clip a sidewalk corner.
    connectors = [
        frame._fixed(lane.centreline.vertices)
        for lane, connector in zip(town.lane_graph.lanes, town.lane_is_connector, strict=True)
        if connector
    ]
    lane_px = _thickness(frame, float(town.lane_graph.lanes[0].width_m) + 1.0)
    cv2.polylines(image, connectors, False, int(SemanticClass.ROAD), lane_px, shift=SUBPIXEL_BITS)
    width = _thickness(frame, MARKING_M)
    for line, dashed in town.markings:
        pieces = [line]
        if dashed:
            length = float(np.linalg.norm(line[1] - line[0]))
            u = (line[1] - line[0]) / max(length, 1e-9)
            starts = np.arange(0.0, length - DASH_ON_M, DASH_ON_M + DASH_OFF_M)
            pieces = [np.stack([line[0] + s * u, line[0] + (s + DASH_ON_M) * u]) for s in starts]
        if pieces:
            cv2.polylines(
                image,
                [frame._fixed(p) for p in pieces],
                False,
                int(SemanticClass.LANE_MARKING),
                width,
                shift=SUBPIXEL_BITS,
            )
    stripes = []
    for centre, along, half_along, half_across in town.sidewalks.crosswalks:
        if not striped:
            stripes.append(_box(centre, along, half_along, half_across))
            continue
        across = np.array([-along[1], along[0]])
        for off in np.arange(-half_across + STRIPE_M, half_across, 2 * STRIPE_M):
            stripes.append(_box(centre + off * across, along, half_along, 0.5 * STRIPE_M))
    _fill(image, frame, stripes, int(SemanticClass.CROSSWALK))
    control = town.junction_control[town.approach_junction]
    bars = [
        _bar(line, STOP_BAR_M)
        for line, kind in zip(town.approach_stop_line, control, strict=True)
        if kind == CONTROL_STOP
    ]
    _fill(image, frame, bars, int(SemanticClass.STOP_LINE))


def _bar(stop_line: np.ndarray, thickness_m: float) -> np.ndarray:
    """A stop line (2, 2) as a filled bar, on the approach side of the line."""
    a, b = stop_line
    across = (b - a) / np.linalg.norm(b - a)
    back = np.array([across[1], -across[0]])  # away from the junction
    centre = 0.5 * (a + b) + 0.5 * thickness_m * back
    return _box(centre, back, 0.5 * thickness_m, 0.5 * np.linalg.norm(b - a))


def light_bar_pixels(town: TownMap, frame: PixelFrame, side_px: int) -> list[np.ndarray]:
    """Flat pixel indices (into a side x side image) of each light approach's stop line.

    Approaches without lights get an empty array.
    """
    control = town.junction_control[town.approach_junction]
    out = []
    scratch = np.zeros((side_px, side_px), np.uint8)
    for line, kind in zip(town.approach_stop_line, control, strict=True):
        if kind != CONTROL_LIGHT:
            out.append(np.zeros(0, dtype=np.int64))
            continue
        poly = _bar(line, LIGHT_BAR_M)
        lo = np.floor(frame.to_pixels(poly).min(axis=0)).astype(int) - 2
        hi = np.ceil(frame.to_pixels(poly).max(axis=0)).astype(int) + 2
        lo, hi = np.clip(lo, 0, side_px), np.clip(hi, 0, side_px)
        _fill(scratch, frame, [poly], 1)
        rows, cols = np.nonzero(scratch[lo[1] : hi[1], lo[0] : hi[0]])
        out.append((rows + lo[1]) * side_px + cols + lo[0])
        scratch[lo[1] : hi[1], lo[0] : hi[0]] = 0
    return out


def draw_route(image: np.ndarray, route: Route, frame: PixelFrame) -> None:
    """Draw the route centreline as the ROUTE class."""
    cv2.polylines(
        image,
        [frame._fixed(route.line.vertices)],
        False,
        int(SemanticClass.ROUTE),
        _thickness(frame, ROUTE_LINE_M),
        shift=SUBPIXEL_BITS,
    )


def town_frame(town: TownMap, side_px: int, meters_per_pixel: float) -> PixelFrame:
    """A frame of ``side_px`` square pixels centred on the town."""
    xmin, ymin, xmax, ymax = town.extent_m
    half = 0.5 * side_px * meters_per_pixel
    return PixelFrame(
        left_m=float(0.5 * (xmin + xmax) - half),
        top_m=float(0.5 * (ymin + ymax) + half),
        meters_per_pixel=meters_per_pixel,
    )
