"""numba kernels that draw what ``cv2.polylines`` and ``cv2.fillConvexPoly`` draw, pixel for
pixel, for shapes well inside the image (``roadgym[fast]``; the decorator imports numba).

A map is drawn once per reset, and most of its cost is OpenCV's work per shape, not per
pixel: a thick polyline is, segment by segment, a filled quad (its outline traced as
8-connected lines, its rows filled between two edges stepped in 16.16 fixed point) and a
filled disc at each vertex; a one-pixel polyline is Bresenham lines between its rounded
vertices; an axis-aligned rectangle fills the rows and columns its corners round to.
These kernels follow the same integer rules (edge steps rounded as OpenCV rounds them, C
division truncating toward zero, the quad's half-width rounded to nearest-even from the
same IEEE double arithmetic) and clip nothing, so they only take shapes whose every pixel
lies inside the image; the caller checks that and otherwise calls cv2. They skip only
what provably paints nothing new (a disc at the same pixel again, a quad side shorter
than a pixel, whose two pixels its ends paint). A disc's rows come from ``cv2.circle``
itself (:func:`disc_half_widths`). ``tests/envs/test_draw_kernel.py`` compares them with
cv2 on random shapes and on towns: it fails if another OpenCV build draws differently.
"""

from __future__ import annotations

import functools

import cv2
import numpy as np

from roadgym.envs.core.kernels import njit

XY_SHIFT = 16  # OpenCV's internal fixed point for drawing
HALF = 1 << (XY_SHIFT - 1)


@functools.cache
def disc_half_widths(radius: int) -> np.ndarray:
    """Half-width (px) of each row -radius..radius of the filled disc cv2 draws at a thick
    line's joints (``cv2.circle`` with an integer centre, ``thickness=-1``, 8-connected)."""
    side = 2 * radius + 1
    image = np.zeros((side, side), np.uint8)
    cv2.circle(image, (radius, radius), radius, 1, -1, lineType=cv2.LINE_8)
    half_widths = (image.sum(axis=1).astype(np.int64) - 1) // 2
    half_widths.flags.writeable = False
    return half_widths


@njit
def _trunc_div(a, b):
    """C's integer division (toward zero) of integers with |a| < 2**53, b != 0, through
    one double division (several times cheaper than a 64-bit one): a and b convert
    exactly, and the quotient's rounding error, at most |a / b| 2**-53, is below 1 / |b|,
    the least distance from a non-integer quotient to an integer, so truncating the
    rounded quotient truncates the exact one."""
    return np.int64(a / b)


@njit
def _row(image, y, x0, x1, value):
    if x1 >= x0:  # a slice, not an index per pixel: no wrap-around test per pixel
        image[y, x0 : x1 + 1] = value


@njit
def _line(image, x1, y1, x2, y2, value):
    """An 8-connected line between 16.16 fixed-point end points (cv2's ``Line2``)."""
    dx, dy = x2 - x1, y2 - y1
    x_major = abs(dx) > abs(dy)
    if (x_major and dx < 0) or (not x_major and dy < 0):  # walk along +x (+y)
        x1, y1, x2, y2 = x2, y2, x1, y1
        dx, dy = -dx, -dy
    # Pixel indices as unsigned (every pixel is inside): no wrap-around test per pixel.
    image[np.uint64((y2 + HALF) >> XY_SHIFT), np.uint64((x2 + HALF) >> XY_SHIFT)] = value
    if x_major:
        y_step = _trunc_div(dy << XY_SHIFT, abs(dx) | 1)
        x, y = (x1 + HALF) >> XY_SHIFT, y1 + HALF
        for _ in range(((x2 - x1) >> XY_SHIFT) + 1):
            image[np.uint64(y >> XY_SHIFT), np.uint64(x)] = value
            x += 1
            y += y_step
    else:
        x_step = _trunc_div(dx << XY_SHIFT, abs(dy) | 1)
        x, y = x1 + HALF, (y1 + HALF) >> XY_SHIFT
        for _ in range(((y2 - y1) >> XY_SHIFT) + 1):
            image[np.uint64(y), np.uint64(x >> XY_SHIFT)] = value
            x += x_step
            y += 1


@njit
def _pixel_line(image, x1, y1, x2, y2, value):
    """An 8-connected line between whole pixels, walked left to right (cv2's line
    iterator: Bresenham's error term, a diagonal step while it is negative)."""
    if x2 < x1:
        x1, y1, x2, y2 = x2, y2, x1, y1
    dx, dy = x2 - x1, abs(y2 - y1)
    y_step = 1 if y2 >= y1 else -1
    x, y = x1, y1
    if dx >= dy:  # one column per step, sometimes a row too
        error = dx - 2 * dy
        for _ in range(dx + 1):
            image[np.uint64(y), np.uint64(x)] = value
            if error < 0:
                y += y_step
                error += 2 * dx
            error -= 2 * dy
            x += 1
    else:  # one row per step, sometimes a column too
        error = dy - 2 * dx
        for _ in range(dy + 1):
            image[np.uint64(y), np.uint64(x)] = value
            if error < 0:
                x += 1
                error += 2 * dy
            error -= 2 * dx
            y += y_step


@njit
def _next_edge(qx, qy, y, start, turn, edges):
    """The edge that one side of the quad walks next from row ``y``: the first one from
    corner ``start`` (going ``turn`` corners round) that ends below row ``y``. Returns
    ``(corner it ends at, its end row, x at row y, its step per row, edges left)``; no edge found
    leaves ``edges`` negative."""
    corner = (start + turn) & 3
    while True:
        edges -= 1
        if edges < 0:
            return start, 0, 0, 0, edges
        end_row = (qy[corner] + HALF) >> XY_SHIFT
        if end_row > y:
            step = _trunc_div((qx[corner] - qx[start]) * 2 + (end_row - y), 2 * (end_row - y))
            return corner, end_row, qx[start], step, edges
        start = corner
        corner = (corner + turn) & 3


@njit
def _convex_quad(image, qx, qy, value, thick_line):
    """Fill the convex quad (4 corners in 16.16 fixed point, in order) as
    ``cv2.fillConvexPoly`` does: its outline as lines, its rows between two edges.

    ``thick_line``: the quad is a thick line's segment, edges 0-1 and 2-3 its ends. A
    line less than a pixel long along its major axis paints just its two rounded end
    points, and those of the sides (edges 3-0, 1-2) are the ends' end points: such sides
    are skipped."""
    low = 0
    high = qy[0]
    for i in range(4):
        if qy[i] < qy[low]:
            low = i
        high = max(high, qy[i])
        j = 3 if i == 0 else i - 1
        if thick_line and (i == 0 or i == 2):
            if max(abs(qx[i] - qx[j]), abs(qy[i] - qy[j])) < (1 << XY_SHIFT):
                continue
        _line(image, qx[j], qy[j], qx[i], qy[i], value)
    y_last = (high + HALF) >> XY_SHIFT
    y = (qy[low] + HALF) >> XY_SHIFT
    # Two edges walk down from the top corner, one each way round; each runs to the row
    # its far corner rounds to, then hands over to the next edge. x starts at the edge's
    # first corner, whatever the row.
    corner_a = corner_b = low
    end_a = end_b = y
    x_a = x_b = -(1 << XY_SHIFT)
    step_a = step_b = 0
    edges = 4
    while True:
        if y >= end_a:
            corner_a, end_a, x_a, step_a, edges = _next_edge(qx, qy, y, corner_a, 1, edges)
        if y >= end_b:
            corner_b, end_b, x_b, step_b, edges = _next_edge(qx, qy, y, corner_b, 3, edges)
        if edges < 0:
            break
        left, right = (x_b, x_a) if x_a > x_b else (x_a, x_b)
        _row(image, y, (left + HALF) >> XY_SHIFT, (right + HALF) >> XY_SHIFT, value)
        x_a += step_a
        x_b += step_b
        y += 1
        if y > y_last:
            break


@njit
def _disc(image, cx, cy, half_widths, value):
    radius = (len(half_widths) - 1) // 2
    for k in range(len(half_widths)):
        _row(image, cy - radius + k, cx - half_widths[k], cx + half_widths[k], value)


@njit
def thick_polylines(image, points, starts, counts, thickness, half_widths, value):
    """``cv2.polylines(image, lines, False, value, thickness, shift=4)`` for open polylines
    ``points[starts[k]:starts[k] + counts[k]]`` (int, 1/16 px), every pixel inside the
    image: each segment a line between its rounded end points (thickness <= 1), or its
    quad and a disc at each end (``half_widths``: :func:`disc_half_widths` of the radius
    cv2 gives ``thickness``)."""
    shift_up = XY_SHIFT - 4
    if thickness <= 1:
        for k in range(len(starts)):
            for i in range(starts[k] + 1, starts[k] + counts[k]):
                x0, y0 = (
                    (np.int64(points[i - 1, 0]) + 8) >> 4,
                    (np.int64(points[i - 1, 1]) + 8) >> 4,
                )
                x1, y1 = (np.int64(points[i, 0]) + 8) >> 4, (np.int64(points[i, 1]) + 8) >> 4
                _pixel_line(image, x0, y0, x1, y1, value)
        return
    half = (thickness << (XY_SHIFT - 1)) + (thickness & 1) * (1 << XY_SHIFT) * 0.5
    qx = np.empty(4, dtype=np.int64)
    qy = np.empty(4, dtype=np.int64)
    for k in range(len(starts)):
        previous_cx, previous_cy = -1, -1
        for i in range(starts[k] + 1, starts[k] + counts[k]):
            x0, y0 = np.int64(points[i - 1, 0]) << shift_up, np.int64(points[i - 1, 1]) << shift_up
            x1, y1 = np.int64(points[i, 0]) << shift_up, np.int64(points[i, 1]) << shift_up
            dx = (x0 - x1) * (1.0 / (1 << XY_SHIFT))
            dy = (y1 - y0) * (1.0 / (1 << XY_SHIFT))
            r = dx * dx + dy * dy
            if abs(r) > 2.220446049250313e-16:
                r = half / np.sqrt(r)
                px, py = np.int64(np.rint(dy * r)), np.int64(np.rint(dx * r))
                qx[0], qy[0] = x0 + px, y0 + py
                qx[1], qy[1] = x0 - px, y0 - py
                qx[2], qy[2] = x1 - px, y1 - py
                qx[3], qy[3] = x1 + px, y1 + py
                _convex_quad(image, qx, qy, value, True)
            if i == starts[k] + 1:
                previous_cx, previous_cy = (x0 + HALF) >> XY_SHIFT, (y0 + HALF) >> XY_SHIFT
                _disc(image, previous_cx, previous_cy, half_widths, value)
            cx, cy = (x1 + HALF) >> XY_SHIFT, (y1 + HALF) >> XY_SHIFT
            if cx != previous_cx or cy != previous_cy:  # the same disc again adds nothing
                _disc(image, cx, cy, half_widths, value)
                previous_cx, previous_cy = cx, cy


@njit
def fill_axis_aligned_quads(image, quads, value):
    """``cv2.fillConvexPoly(image, quad, value, shift=4)`` for each quad of ``quads`` (K,
    4, 2) (int, 1/16 px, corners in order) when every one is an axis-aligned rectangle
    (edges alternately vertical and horizontal) whose corners lie in [0, 16 (side - 3)]:
    cv2 then fills the rows and columns its corners round to. Returns False, drawing
    nothing, when any quad is not such a rectangle (the caller draws with cv2)."""
    height, width = image.shape
    for k in range(len(quads)):
        vertical_first = horizontal_first = True
        for e in range(4):
            n = (e + 1) & 3
            same_x = quads[k, e, 0] == quads[k, n, 0]
            same_y = quads[k, e, 1] == quads[k, n, 1]
            if e % 2 == 0:
                vertical_first &= same_x
                horizontal_first &= same_y
            else:
                vertical_first &= same_y
                horizontal_first &= same_x
            if quads[k, e, 0] < 0 or quads[k, e, 1] < 0:
                return False
            if quads[k, e, 0] > 16 * (width - 3) or quads[k, e, 1] > 16 * (height - 3):
                return False
        if not (vertical_first or horizontal_first):
            return False
    for k in range(len(quads)):
        x0 = (min(quads[k, 0, 0], quads[k, 2, 0]) + 8) >> 4
        x1 = (max(quads[k, 0, 0], quads[k, 2, 0]) + 8) >> 4
        y0 = (min(quads[k, 0, 1], quads[k, 2, 1]) + 8) >> 4
        y1 = (max(quads[k, 0, 1], quads[k, 2, 1]) + 8) >> 4
        for y in range(y0, y1 + 1):
            _row(image, y, x0, x1, value)
    return True
