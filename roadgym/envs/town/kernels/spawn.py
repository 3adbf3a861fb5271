"""numba kernel of the NPC cars' spawn: :func:`roadgym.envs.town.spawn.spawn_vehicles`.

The Python loop draws each car's tries one at a time from the world's generator. numba
runs the same loop on the same ``numpy.random.Generator`` (numba's ``integers`` and
``uniform`` take the same bits from the bit generator and make the same numbers, so the
generator ends in the same state), with the same float operations in the same order.
Two things stay in Python, and the kernel stops for them: the box overlap test of a try
that lands near a placed car (it needs cos and sin, which numpy may round differently
from libm on another CPU) and a car whose random tries all failed (the systematic
search of the town). The Python caller then resumes the kernel.
"""

from __future__ import annotations

import numpy as np

from roadgym.envs.core.kernels import njit

PLACED, CHECK_BOXES, NO_TRY_LEFT = 0, 1, 2  # why place_vehicles returned


@njit
def _point_at(lane, s, cum_s, num_segments, length_m, lane_xy, lane_heading):
    """``spawn._StreetLanePoints.at``: ``(x, y, heading)`` at arc length ``s`` of ``lane``."""
    m = num_segments[lane]
    s = min(max(s, 0.0), length_m[lane])
    index = 0  # bisect_right(cum_s[lane, : m + 1], s) - 1, clipped to the segments
    while index + 1 <= m and cum_s[lane, index + 1] <= s:
        index += 1
    index = min(max(index, 0), m - 1)
    x0, y0 = lane_xy[lane, index, 0], lane_xy[lane, index, 1]
    dx, dy = lane_xy[lane, index + 1, 0] - x0, lane_xy[lane, index + 1, 1] - y0
    t = (s - cum_s[lane, index]) / max(np.hypot(dx, dy), 1e-12)
    return x0 + t * dx, y0 + t * dy, lane_heading[lane, index]


@njit
def draw_route_ahead(rng, car, successors, num_successors, veh_lanes):
    """The lane after ``veh_lanes[car, 0]`` and the one after that, drawn at random."""
    lane = veh_lanes[car, 0]
    first = successors[lane, rng.integers(0, num_successors[lane])]
    veh_lanes[car, 1] = first
    veh_lanes[car, 2] = successors[first, rng.integers(0, num_successors[first])]


@njit
def place_vehicles(
    rng,
    first_car,
    tries_done,
    num_cars,
    max_tries,
    road,
    cum_s,
    num_segments,
    length_m,
    lane_xy,
    lane_heading,
    successors,
    num_successors,
    egos,
    ego_clearance_m,
    half_car_m,
    clearance_m,
    touch_m,
    veh_lanes,
    veh_s,
    placed_xy,
    placed_heading,
):
    """Place cars ``first_car``.. ``num_cars - 1`` (the first after ``tries_done`` tries);
    returns ``(car, tries, why)``: all placed (``PLACED``), or car ``car``'s try number
    ``tries`` (written in its slot) lands near a placed car (``CHECK_BOXES``), or car
    ``car`` used all its tries (``NO_TRY_LEFT``)."""
    for k in range(first_car, num_cars):
        tries = tries_done if k == first_car else 0
        placed = False
        while tries < max_tries and not placed:
            tries += 1
            lane = road[rng.integers(0, len(road))]
            s = rng.uniform(0.0, max(length_m[lane] - half_car_m - 2.0, 0.1))
            x, y, heading = _point_at(lane, s, cum_s, num_segments, length_m, lane_xy, lane_heading)
            clear = True
            for a in range(len(egos)):  # clear of every controlled car
                dx, dy = x - egos[a, 0], y - egos[a, 1]
                if (
                    abs(dx) < ego_clearance_m
                    and abs(dy) < ego_clearance_m
                    and np.hypot(dx, dy) < ego_clearance_m
                ):
                    clear = False
                    break
            if not clear:
                continue
            for q in range(k):  # apart from the cars on the same lane
                if veh_lanes[q, 0] == lane and abs(s - veh_s[q]) < clearance_m:
                    clear = False
                    break
            if not clear:
                continue
            veh_lanes[k, 0] = lane
            veh_s[k] = s
            placed_xy[k, 0], placed_xy[k, 1] = x, y
            placed_heading[k] = heading
            for q in range(k):  # close enough to touch: the caller tests the boxes
                if abs(x - placed_xy[q, 0]) < touch_m and abs(y - placed_xy[q, 1]) < touch_m:
                    return k, tries, CHECK_BOXES
            placed = True
        if not placed:
            return k, tries, NO_TRY_LEFT
        draw_route_ahead(rng, k, successors, num_successors, veh_lanes)
    return num_cars, 0, PLACED
