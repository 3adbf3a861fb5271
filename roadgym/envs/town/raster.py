"""Drawing a town into a semantic image: streets, sidewalks, markings, crosswalks, lines.

The same routines draw the map raster that the camera samples and the finer frame of
``render_mode``. Light-controlled stop lines change colour every step, so instead of
being drawn they are returned as pixel lists that the step repaints.

With ``roadgym[fast]``, shapes well inside the image are drawn by numba kernels that
paint exactly cv2's pixels (:mod:`roadgym.envs.core.draw_kernel`); cv2 draws the rest.
"""

from __future__ import annotations

import cv2
import numpy as np

from roadgym.envs.core import kernels
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


SIGNS = np.array([[1, 1], [1, -1], [-1, -1], [-1, 1]], dtype=np.float64)  # box corners


def _box(centre: np.ndarray, along: np.ndarray, half_along: float, half_across: float):
    across = np.array([-along[1], along[0]])
    return centre + SIGNS[:, :1] * half_along * along + SIGNS[:, 1:] * half_across * across


def _boxes(centre, along, half_along, half_across) -> np.ndarray:
    """:func:`_box` for K boxes at once: (K, 2), (K, 2), (K,), (K,) -> corners (K, 4, 2)."""
    across = np.stack([-along[:, 1], along[:, 0]], axis=-1)
    return (
        centre[:, None, :]
        + SIGNS[None, :, :1] * half_along[:, None, None] * along[:, None, :]
        + SIGNS[None, :, 1:] * half_across[:, None, None] * across[:, None, :]
    )


def _fill(image: np.ndarray, frame: PixelFrame, polygons, value: int) -> None:
    # One call per polygon: a single fillPoly over overlapping polygons punches holes.
    if len(polygons) == 0:
        return
    fixed = frame._fixed(np.asarray(polygons))
    if kernels.use_numba() and image.ndim == 2:
        from roadgym.envs.core.draw_kernel import fill_axis_aligned_quads

        if fill_axis_aligned_quads(image, fixed, value):  # all rectangles inside the image
            return
    for polygon in fixed:
        cv2.fillConvexPoly(image, polygon, value, shift=SUBPIXEL_BITS)


def _polyline_table(
    image: np.ndarray, points: np.ndarray, counts: np.ndarray, value: int, thickness: int
) -> None:
    """``cv2.polylines(image, lines, False, value, thickness, shift=SUBPIXEL_BITS)`` for
    open polylines given as one array: ``points`` (N, 2) in cv2's fixed point, the lines'
    ``counts`` (K,) of points one after another; by the numba kernel when every line
    keeps ``thickness`` + 2 px clear of the image's edges."""
    if len(counts) == 0:
        return
    if kernels.use_numba() and _kernel_polylines(image, points, counts, value, thickness):
        return
    lines = np.split(points, np.cumsum(counts)[:-1])
    cv2.polylines(image, lines, False, value, thickness, shift=SUBPIXEL_BITS)


def _kernel_polylines(
    image: np.ndarray, points: np.ndarray, counts: np.ndarray, value: int, thickness: int
) -> bool:
    """Draw by the numba kernel when every line keeps ``thickness`` + 2 px clear of the
    image's edges; returns whether it did (else nothing is drawn)."""
    margin = (thickness + 2) << SUBPIXEL_BITS
    height, width = image.shape[:2]
    if not (
        image.ndim == 2
        and points.min() >= margin
        and points[:, 0].max() <= ((width - 1) << SUBPIXEL_BITS) - margin
        and points[:, 1].max() <= ((height - 1) << SUBPIXEL_BITS) - margin
    ):
        return False
    from roadgym.envs.core.draw_kernel import disc_half_widths, thick_polylines

    starts = np.cumsum(counts) - counts
    radius = ((thickness << 15) + (1 << 15)) >> 16  # of cv2's discs at the joints
    thick_polylines(image, points, starts, counts, thickness, disc_half_widths(radius), value)
    return True


def _thickness(frame: PixelFrame, meters: float) -> int:
    return max(int(round(meters / frame.meters_per_pixel)), 1)


def _lengths(vectors: np.ndarray) -> np.ndarray:
    """Lengths (K,) of vectors (K, 2). Streets and stop lines are axis-aligned, so these are
    exact (sqrt of a rounded square is the absolute value) and equal np.linalg.norm's."""
    return np.sqrt(vectors[:, 0] * vectors[:, 0] + vectors[:, 1] * vectors[:, 1])


def _street_boxes(town: TownMap, widen: float) -> np.ndarray:
    """Every street and junction box (K, 4, 2), grown by ``widen`` on each side (m)."""
    start, end = town.street_start, town.street_end
    length = _lengths(end - start)
    streets = _boxes(
        0.5 * (start + end),
        (end - start) / length[:, None],
        0.5 * length,
        town.street_half_width_m + widen,
    )
    east = np.broadcast_to(np.array([1.0, 0.0]), town.junction_xy.shape)
    size = town.junction_half_size_m
    junctions = _boxes(town.junction_xy, east, size[:, 0] + widen, size[:, 1] + widen)
    return np.concatenate([streets, junctions])


def _marking_pieces(town: TownMap) -> np.ndarray:
    """Every lane marking as line pieces (P, 2, 2): solid lines whole, dashed ones cut."""
    line = town.marking_xy[town.marking_dashed]  # (D, 2, 2)
    length = _lengths(line[:, 1] - line[:, 0])
    u = (line[:, 1] - line[:, 0]) / np.maximum(length, 1e-9)[:, None]
    # np.arange(0, length - DASH_ON_M, DASH_ON_M + DASH_OFF_M) for every line at once.
    period = DASH_ON_M + DASH_OFF_M
    count = np.maximum(np.ceil((length - DASH_ON_M - 0.0) / period), 0).astype(np.int64)
    dash_line = np.repeat(np.arange(len(line)), count)
    starts = (np.arange(len(dash_line)) - np.repeat(np.cumsum(count) - count, count)) * period
    origin, direction = line[dash_line, 0], u[dash_line]
    first = origin + starts[:, None] * direction
    last = origin + (starts + DASH_ON_M)[:, None] * direction
    dashes = np.stack([first, last], axis=1)
    return np.concatenate([town.marking_xy[~town.marking_dashed], dashes])


def draw_town(image: np.ndarray, town: TownMap, frame: PixelFrame, striped: bool = False) -> None:
    """Draw sidewalks, roads, markings, crosswalks and stop-sign lines (class ids)."""
    kerb = town.sidewalk_width_m
    for widen, value in ((kerb, SemanticClass.SIDEWALK), (0.0, SemanticClass.ROAD)):
        _fill(image, frame, _street_boxes(town, widen), int(value))
    # Turning lanes are paved to their full width: it rounds the kerbs off where a turn
    # would otherwise clip a sidewalk corner.
    table = town.lanes
    connector = np.flatnonzero(town.lane_is_connector)
    fixed = frame._fixed(table.xy[connector])  # (C, W, 2)
    ends = table.num_segments[connector] + 1  # (C,) each connector's own vertices
    own = np.arange(fixed.shape[1])[None, :] < ends[:, None]  # (C, W)
    lane_px = _thickness(frame, float(table.width_m) + 1.0)
    _polyline_table(image, fixed[own], ends, int(SemanticClass.ROAD), lane_px)
    pieces = frame._fixed(_marking_pieces(town))  # (P, 2, 2)
    _polyline_table(
        image,
        pieces.reshape(-1, 2),
        np.full(len(pieces), 2),
        int(SemanticClass.LANE_MARKING),
        _thickness(frame, MARKING_M),
    )
    net = town.sidewalks
    if not striped:
        stripes = _boxes(
            net.crosswalk_centre,
            net.crosswalk_along,
            net.crosswalk_half_length_m,
            net.crosswalk_half_width_m,
        )
    else:
        stripes = []
        for centre, along, half_along, half_across in net.crosswalks:
            across = np.array([-along[1], along[0]])
            for off in np.arange(-half_across + STRIPE_M, half_across, 2 * STRIPE_M):
                stripes.append(_box(centre + off * across, along, half_along, 0.5 * STRIPE_M))
    _fill(image, frame, stripes, int(SemanticClass.CROSSWALK))
    control = town.junction_control[town.approach_junction]
    _fill(
        image,
        frame,
        _bars(town.approach_stop_line[control == CONTROL_STOP], STOP_BAR_M),
        int(SemanticClass.STOP_LINE),
    )


def _bar(stop_line: np.ndarray, thickness_m: float) -> np.ndarray:
    """A stop line (2, 2) as a filled bar, on the approach side of the line."""
    return _bars(stop_line[None], thickness_m)[0]


def _bars(stop_lines: np.ndarray, thickness_m: float) -> np.ndarray:
    """Stop lines (K, 2, 2) as filled bars (K, 4, 2), on the approach side of each line."""
    a, b = stop_lines[:, 0], stop_lines[:, 1]
    length = _lengths(b - a)
    across = (b - a) / length[:, None]
    back = np.stack([across[:, 1], -across[:, 0]], axis=-1)  # away from the junction
    centre = 0.5 * (a + b) + 0.5 * thickness_m * back
    return _boxes(centre, back, np.full(len(a), 0.5 * thickness_m), 0.5 * length)


def _ragged_rank(size: np.ndarray) -> np.ndarray:
    """0..size[k] - 1 for every k, flat: each item's rank within its group."""
    return np.arange(int(size.sum())) - np.repeat(np.cumsum(size) - size, size)


def _rectangle_bounds(fixed: np.ndarray, shape: tuple) -> tuple | None:
    """The pixels ``cv2.fillConvexPoly`` fills for each quad ``fixed`` (K, 4, 2) (cv2
    fixed point, corners in order) as ``(first, last)`` (K, 2) (col, row), both ends
    included, when every quad is an axis-aligned rectangle well inside a 2-d image of
    ``shape``; None otherwise.

    For such a rectangle cv2 fills exactly the rows and columns whose centres its
    corners round to (``(v + half) >> shift``): its outline is traced over them and its
    rows filled between them. Checked against cv2 on 300,000 random rectangles.
    """
    same = fixed == fixed[:, [1, 2, 3, 0]]  # (K, 4 edges, 2): edge k keeps x / y
    # Edges alternate vertical and horizontal (starting with either): a rectangle.
    vertical_first = same[:, 0::2, 0].all(axis=1) & same[:, 1::2, 1].all(axis=1)
    horizontal_first = same[:, 0::2, 1].all(axis=1) & same[:, 1::2, 0].all(axis=1)
    one = 1 << SUBPIXEL_BITS
    low, high = fixed.min(axis=1), fixed.max(axis=1)  # (K, 2) as (x, y)
    # Well inside the image, where none of cv2's early exits or clipping come into play.
    if not (
        len(shape) == 2
        and (vertical_first | horizontal_first).all()
        and low.min() >= 0
        and high[:, 0].max() <= one * (shape[1] - 3)
        and high[:, 1].max() <= one * (shape[0] - 3)
    ):
        return None
    half = one >> 1
    return (low + half) >> SUBPIXEL_BITS, (high + half) >> SUBPIXEL_BITS


def _rectangle_pixels(fixed: np.ndarray, side_px: int) -> tuple | None:
    """:func:`_rectangle_bounds` in a ``side_px`` square image as pixel lists: ``(rows,
    cols, size (K,))``, each rectangle's pixels row-major, one rectangle after another;
    None unless every quad is such a rectangle."""
    bounds = _rectangle_bounds(fixed, (side_px, side_px))
    if bounds is None:
        return None
    first, last = bounds
    width, height = (last - first + 1).T.astype(np.int64)
    size = width * height
    rect = np.repeat(np.arange(len(size)), size)
    local = _ragged_rank(size)
    width = width[rect]
    rows = first[rect, 1] + local // width
    cols = first[rect, 0] + local % width
    return rows, cols, size


# One scratch image per raster side, kept clean between calls: allocating and zeroing a
# map-sized image per reset cost more than drawing the bars into it.
_SCRATCH: dict[int, np.ndarray] = {}


def light_bar_table(town: TownMap, frame: PixelFrame, side_px: int) -> tuple:
    """Flat pixel indices (into a side x side image) of each light approach's stop line.

    Returns ``(pixels (Q, P) padded with -1, count (Q,))``, rows in approach order, each
    row's pixels in row-major order; approaches without lights have none. Bars of
    different approaches lie metres apart, so they are drawn into one image, each with
    its own value, and read back from their bounding boxes.
    """
    control = town.junction_control[town.approach_junction]
    lights = np.flatnonzero(control == CONTROL_LIGHT)
    count = np.zeros(len(control), dtype=np.int64)
    if len(lights) == 0:
        return np.zeros((len(control), 0), dtype=np.int64), count
    bars = _bars(town.approach_stop_line[lights], LIGHT_BAR_M)  # (K, 4, 2)
    if kernels.use_numba():
        from roadgym.envs.town.kernels.light_bars import light_bar_pixels

        ok, table, count = light_bar_pixels(
            frame._fixed(bars), side_px, lights, len(control), SUBPIXEL_BITS
        )
        if ok:
            return table, count
        count = np.zeros(len(control), dtype=np.int64)
    rectangle = _rectangle_pixels(frame._fixed(bars), side_px)
    if rectangle is not None:
        rows, cols, size = rectangle
        count[lights] = size
        table = np.full((len(control), max(int(size.max()), 1)), -1, dtype=np.int64)
        table[np.repeat(lights, size), _ragged_rank(size)] = rows * side_px + cols
        return table, count
    corners = frame.to_pixels(bars)
    low = np.clip(np.floor(corners.min(axis=1)).astype(np.int64) - 2, 0, side_px)
    high = np.clip(np.ceil(corners.max(axis=1)).astype(np.int64) + 2, 0, side_px)
    scratch = _SCRATCH.get(side_px)
    if scratch is None:
        scratch = _SCRATCH[side_px] = np.zeros((side_px, side_px), np.uint16)
    for k, polygon in enumerate(frame._fixed(bars)):
        cv2.fillConvexPoly(scratch, polygon, k + 1, shift=SUBPIXEL_BITS)
    # Every bar's box, row-major, as flat (bar, row, col) lists.
    width, height = (high - low).T
    size = width * height
    bar = np.repeat(np.arange(len(lights)), size)
    local = np.arange(len(bar)) - np.repeat(np.cumsum(size) - size, size)
    rows = low[bar, 1] + local // width[bar]
    cols = low[bar, 0] + local % width[bar]
    hit = scratch[rows, cols] == bar + 1
    scratch[rows, cols] = 0
    flat = (rows * side_px + cols)[hit]
    count[lights] = np.bincount(bar[hit], minlength=len(lights))
    table = np.full((len(control), max(int(count.max()), 1)), -1, dtype=np.int64)
    rank = np.arange(len(flat)) - np.repeat(np.cumsum(count) - count, count)
    table[np.repeat(np.arange(len(control)), count), rank] = flat
    return table, count


def light_bar_pixels(town: TownMap, frame: PixelFrame, side_px: int) -> list[np.ndarray]:
    """:func:`light_bar_table` as one array per approach (empty without a light)."""
    table, count = light_bar_table(town, frame, side_px)
    return [row[:n] for row, n in zip(table, count.tolist(), strict=True)]


def draw_route(image: np.ndarray, route: Route, frame: PixelFrame) -> None:
    """Draw the route centreline as the ROUTE class."""
    line = frame._fixed(route.line.vertices)
    route_px = _thickness(frame, ROUTE_LINE_M)
    _polyline_table(image, line, np.array([len(line)]), int(SemanticClass.ROUTE), route_px)


def town_frame(town: TownMap, side_px: int, meters_per_pixel: float) -> PixelFrame:
    """A frame of ``side_px`` square pixels centred on the town."""
    xmin, ymin, xmax, ymax = town.extent_m
    half = 0.5 * side_px * meters_per_pixel
    return PixelFrame(
        left_m=float(0.5 * (xmin + xmax) - half),
        top_m=float(0.5 * (ymin + ymax) + half),
        meters_per_pixel=meters_per_pixel,
    )
