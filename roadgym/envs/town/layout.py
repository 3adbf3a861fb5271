"""A street grid laid out as arrays: approaches, street lanes, markings and junction turns.

The generator decides a town's grid (junction positions, which streets exist, lanes per
grid line, which junctions are controlled); this module turns that grid into the lanes'
end points and roles in a few array passes instead of nested Python loops. Arrays over
the grid are indexed ``[j, i, d]``: row j, column i, arm d (E, N, W, S). Lanes, approaches
and markings come out in the C order of those indices, the order the grid's nested loops
``for j: for i: for d:`` visit them, so lane ids are stable.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from roadgym.envs.core import kernels
from roadgym.envs.town.sidewalks import CORNER_FRACTION

STOP_LINE_MARGIN_M = 1.0  # between the crosswalk and the stop line
# Arm directions in the order E, N, W, S (counter-clockwise), and as grid steps.
DIRECTIONS = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]])
STEP_I = np.array([1, 0, -1, 0])  # column step of arm d
STEP_J = np.array([0, 1, 0, -1])  # row step of arm d
CONTROL_NONE, CONTROL_LIGHT, CONTROL_STOP = 0, 1, 2
TURN_LEFT, TURN_STRAIGHT, TURN_RIGHT = -1, 0, 1


def _turn_table() -> np.ndarray:
    """(4, 4) turn of the movement arriving from arm d_in and leaving by arm d_out."""
    u0 = -DIRECTIONS[:, None, :]  # travelling into the junction from arm d_in
    u1 = DIRECTIONS[None, :, :]
    cross = u0[..., 0] * u1[..., 1] - u0[..., 1] * u1[..., 0]
    return np.where(np.abs(cross) < 0.5, TURN_STRAIGHT, np.where(cross > 0, TURN_LEFT, TURN_RIGHT))


TURN_OF = _turn_table()


@dataclasses.dataclass
class GridArms:
    """Per arm of every grid junction: its lanes each way and where its lanes stop."""

    centre_xy: np.ndarray  # (n, n, 2) junction centres (m), [j, i]
    lanes: np.ndarray  # (n, n, 4) lanes each way of the street on arm d
    setback_m: np.ndarray  # (n, n, 4) junction centre to where arm d's lanes start / end

    @classmethod
    def of_grid(cls, config, xs, ys, lanes_col, lanes_row) -> GridArms:
        """Arms of the grid with junction columns at ``xs``, rows at ``ys`` (m)."""
        lw, sw, cw = config.lane_width_m, config.sidewalk_width_m, config.crosswalk_width_m
        n = len(xs)
        centre = np.stack(np.broadcast_arrays(xs[None, :], ys[:, None]), axis=-1)  # (n, n, 2)
        lanes = np.empty((n, n, 4), dtype=np.int64)
        lanes[:, :, 0::2] = lanes_row[:, None, None]  # east / west arms: horizontal streets
        lanes[:, :, 1::2] = lanes_col[None, :, None]
        # Every junction, controlled or a plain bend, keeps its lanes clear of the crossing
        # street and its crosswalk band, which also gives turns a drivable radius.
        perpendicular = np.empty((n, n, 4))
        perpendicular[:, :, 0::2] = (lanes_col * lw)[None, :, None]
        perpendicular[:, :, 1::2] = (lanes_row * lw)[:, None, None]
        setback = perpendicular + CORNER_FRACTION * sw + 0.5 * cw + STOP_LINE_MARGIN_M
        return cls(centre, lanes, setback)


@dataclasses.dataclass
class Approaches:
    """The incoming arms of controlled junctions (Q approaches), in grid order."""

    id_of: np.ndarray  # (n, n, 4) approach id of arm d arriving at (i, j), else -1
    junction: np.ndarray  # (Q,)
    slot: np.ndarray  # (Q,) phase: 0 east-west arms, 1 north-south arms
    opposite: np.ndarray  # (Q,) the approach facing it, else -1
    stop_line: np.ndarray  # (Q, 2, 2) stop line end points, across its lanes


def approaches(grid: GridArms, arms, controlled, jid, lane_width_m: float) -> Approaches:
    """Every arm of a controlled junction, with its stop line."""
    j, i, d = np.nonzero(arms & controlled[:, :, None])
    id_of = np.full(arms.shape, -1, dtype=np.int64)
    id_of[j, i, d] = np.arange(len(d))
    u = DIRECTIONS[d]  # (Q, 2) outward
    normal = np.stack([-u[:, 1], u[:, 0]], axis=-1)  # left of the outward direction
    near = grid.centre_xy[j, i] + grid.setback_m[j, i, d][:, None] * u
    # Arriving traffic drives along -u; its right-hand side is +normal.
    far = near + normal * grid.lanes[j, i, d][:, None] * lane_width_m
    return Approaches(
        id_of=id_of,
        junction=jid[j, i],
        # Opposing arms share a phase: a junction with 3 or more arms has both axes, so
        # every light cycle has exactly two vehicle phases.
        slot=d % 2,
        opposite=id_of[j, i, (d + 2) % 4],
        stop_line=np.stack([near, far], axis=1).reshape(-1, 2, 2),
    )


@dataclasses.dataclass
class StreetLanes:
    """Both directions of every street segment, as straight lanes (R lanes, S streets)."""

    start: np.ndarray  # (R, 2) where each lane starts (m)
    end: np.ndarray  # (R, 2)
    junction: np.ndarray  # (R,) the junction each lane ends at
    approach: np.ndarray  # (R,) the approach each lane ends in, -1 at plain bends
    first_lane: np.ndarray  # (n, n, 4) lane id of the inner lane leaving (i, j) by arm d
    street_start: np.ndarray  # (S, 2) street centre lines (m)
    street_end: np.ndarray  # (S, 2)
    street_half_width_m: np.ndarray  # (S,)
    marking_xy: np.ndarray  # (M, 2, 2) lane markings as line pieces
    marking_dashed: np.ndarray  # (M,) dashed (between same-way lanes), else solid


def street_lanes(grid: GridArms, arms, jid, approach_id, lane_width_m: float) -> StreetLanes:
    """The lanes of every street, grid order; each street's lanes go from the nearer-to-
    origin junction's side first, inner lane first."""
    if kernels.use_numba():
        from roadgym.envs.town.kernels.layout import street_lanes as kernel

        return StreetLanes(
            *kernel(
                grid.centre_xy,
                grid.lanes,
                grid.setback_m,
                arms,
                jid,
                approach_id,
                float(lane_width_m),
                STEP_I,
                STEP_J,
                DIRECTIONS,
            )  # fmt: skip
        )
    lw = lane_width_m
    j, i, d = np.nonzero(arms[:, :, :2])  # streets east and north of each junction
    i2, j2 = i + STEP_I[d], j + STEP_J[d]
    a, b = grid.centre_xy[j, i], grid.centre_xy[j2, i2]
    k = grid.lanes[j, i, d]
    # Directed streets: (i, j) -> (i2, j2), then back; arrays (2S,).
    ia, ja, da = (np.stack([x, y], axis=1).reshape(-1) for x, y in ((i, i2), (j, j2), (d, d + 2)))
    ib, jb, db = (np.stack([y, x], axis=1).reshape(-1) for x, y in ((i, i2), (j, j2), (d, d + 2)))
    p = np.stack([a, b], axis=1).reshape(-1, 2)
    q = np.stack([b, a], axis=1).reshape(-1, 2)
    lanes_each = np.repeat(k, 2)
    delta = q - p
    u = delta / np.sqrt(delta[:, 0] * delta[:, 0] + delta[:, 1] * delta[:, 1])[:, None]
    normal = np.stack([-u[:, 1], u[:, 0]], axis=-1)
    start = p + grid.setback_m[ja, ia, da][:, None] * u
    end = q - grid.setback_m[jb, ib, db][:, None] * u
    # Lanes: each directed street's inner lane first, offset to the right of its direction.
    street = np.repeat(np.arange(len(lanes_each)), lanes_each)
    first = np.cumsum(lanes_each) - lanes_each
    lane_k = np.arange(len(street)) - first[street]
    offset = (-(lane_k + 0.5) * lw)[:, None] * normal[street]
    first_lane = np.full(arms.shape, -1, dtype=np.int64)
    first_lane[ja, ia, da] = first
    # Markings per street: a dashed line between the two lanes of each way, then the
    # solid centre line.
    dashed = np.stack([start - lw * normal, end - lw * normal], axis=1).reshape(-1, 2, 2, 2)
    centre = np.stack(
        [
            a + grid.setback_m[j, i, d][:, None] * DIRECTIONS[d],
            b - grid.setback_m[j2, i2, d + 2][:, None] * DIRECTIONS[d],
        ],
        axis=1,
    )
    markings = np.concatenate([dashed, centre[:, None]], axis=1)  # (S, 3, 2, 2)
    keep = np.stack([k == 2, k == 2, np.ones(len(k), dtype=bool)], axis=1)
    return StreetLanes(
        start=start[street] + offset,
        end=end[street] + offset,
        junction=jid[jb, ib][street],
        approach=approach_id[jb, ib, db][street],
        first_lane=first_lane,
        street_start=a,
        street_end=b,
        street_half_width_m=(k * lw).astype(np.float64),
        marking_xy=markings[keep],
        marking_dashed=np.broadcast_to(np.array([True, True, False]), keep.shape)[keep],
    )


@dataclasses.dataclass
class Turns:
    """Every movement through every junction except U-turns, as connector lanes (C)."""

    source: np.ndarray  # (C,) the street lane it leaves
    target: np.ndarray  # (C,) the street lane it enters
    junction: np.ndarray  # (C,)
    turn: np.ndarray  # (C,) TURN_LEFT / TURN_STRAIGHT / TURN_RIGHT
    from_approach: np.ndarray  # (C,) the approach it starts from, else -1
    heading_in: np.ndarray  # (C, 2) unit direction at its start
    heading_out: np.ndarray  # (C, 2) unit direction at its end


def junction_turns(grid: GridArms, arms, controlled, jid, approach_id, first_lane) -> Turns:
    """The connectors of every junction, in grid order, then by outgoing and incoming lane.

    Straight on keeps the lane (a grid line keeps its lane count). At a controlled
    junction the inner lane turns left into the nearest (inner) outgoing lane, so that
    two opposing left turns on a shared green pass each other; the outer lane turns right
    into every outgoing lane. At a plain bend every lane carries on into the matching lane
    (merging when fewer).
    """
    if kernels.use_numba():
        from roadgym.envs.town.kernels.layout import junction_turns as kernel

        return Turns(
            *kernel(
                grid.lanes,
                arms,
                controlled,
                jid,
                approach_id,
                first_lane,
                TURN_OF,
                STEP_I,
                STEP_J,
                DIRECTIONS,
                TURN_LEFT,
                TURN_STRAIGHT,
            )  # fmt: skip
        )
    # Candidates [j, i, d_in, d_out, lane out, lane in]; each lane index is 0 or 1.
    k_in = grid.lanes[:, :, :, None, None, None]
    k_out = grid.lanes[:, :, None, :, None, None]
    lane_out = np.arange(2)[:, None]
    lane_in = np.arange(2)[None, :]
    turn = TURN_OF[None, None, :, :, None, None]
    # Lane-keeping pairs: the outermost lane also feeds extra outgoing lanes, or the extra
    # incoming lanes merge into the outermost outgoing one.
    keep_lane = np.where(
        k_out >= k_in,
        (lane_out < k_out) & (lane_in == np.minimum(lane_out, k_in - 1)),
        (lane_in < k_in) & (lane_out == np.minimum(lane_in, k_out - 1)),
    )
    left = (lane_in == 0) & (lane_out == 0)
    right = (lane_in == k_in - 1) & (lane_out < k_out)
    lane_keeping = ~controlled[:, :, None, None, None, None] | (turn == TURN_STRAIGHT)
    pairs = np.where(lane_keeping, keep_lane, np.where(turn == TURN_LEFT, left, right))
    movement = arms[:, :, :, None] & arms[:, :, None, :] & ~np.eye(4, dtype=bool)
    j, i, d_in, d_out, out_k, in_k = np.nonzero(movement[..., None, None] & pairs)
    i0, j0 = i + STEP_I[d_in], j + STEP_J[d_in]  # the junction the incoming street leaves
    return Turns(
        source=first_lane[j0, i0, (d_in + 2) % 4] + in_k,
        target=first_lane[j, i, d_out] + out_k,
        junction=jid[j, i],
        turn=TURN_OF[d_in, d_out],
        from_approach=approach_id[j, i, d_in],
        heading_in=-DIRECTIONS[d_in],
        heading_out=DIRECTIONS[d_out],
    )
