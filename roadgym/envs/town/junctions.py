"""Right of way at light-controlled junctions: the lights, the walk signal and the
permissive left turn, for every world and every car (NPCs and the ego) at once.

Opposing approaches share a green, so a left-turner waits at its stop line for a gap in
oncoming straight and right-turning traffic. Two rules keep that wait finite, as they do
for human drivers:

- **a queue is not a threat**: an oncoming car standing behind another car on its lane
  cannot reach the junction before that car moves, so it does not hold the turner (two
  opposing left-turners at the front of their queues, each with straight traffic queued
  behind the other, used to wait for each other forever: about 2% of towns);
- **clearing on yellow**: a left-turner standing at its line when its light turns yellow
  may turn in the first ``CLEARING_YELLOW_S`` of the yellow, yielding only to oncoming
  cars inside the junction or too close to stop for the yellow; the all-red that follows
  gives it time to clear before the crossing street's green. A stream of oncoming cars
  can delay a turner by one green, never by more.

The expert reads the same rules (``roadgym.drivers.expert``).
"""

from __future__ import annotations

import numpy as np

from roadgym.envs.core import kernels
from roadgym.envs.town.generator import CONTROL_LIGHT, TURN_LEFT, TURN_RIGHT
from roadgym.envs.town.state import TownState, gather_rows

LIGHT_NONE, LIGHT_RED, LIGHT_YELLOW, LIGHT_GREEN = 0, 1, 2, 3
CLEARING_YELLOW_S = 1.5  # a waiting left-turner may still go this long into a yellow
CLEARING_LINE_M = 3.0  # ... when its front bumper is this close to the line
QUEUED_SPEED_MPS = 0.5  # a car this slow behind another car on its lane is queued
QUEUE_SPACING_M = 15.0  # ... when that car stands at most this far ahead of it


def light_phase_steps(world: TownState) -> np.ndarray:
    """Steps (B, Q) since each approach's green began (beyond its phase: red)."""
    tc = (world.step_count[:, None] + world.approach_offset) % world.approach_cycle  # (B, Q)
    return tc - world.approach_slot * world.phase_steps


def light_states(world: TownState) -> np.ndarray:
    """State (B, Q) of every approach: LIGHT_NONE (no light), _RED, _YELLOW or _GREEN."""
    rel = light_phase_steps(world)  # (B, Q)
    green, yellow = world.green_steps, world.green_steps + world.yellow_steps
    state = np.where(
        (rel >= 0) & (rel < green),
        LIGHT_GREEN,
        np.where((rel >= green) & (rel < yellow), LIGHT_YELLOW, LIGHT_RED),
    )
    return np.where(world.approach_kind == CONTROL_LIGHT, state, LIGHT_NONE)


def early_yellow(world: TownState) -> np.ndarray:
    """Whether each approach (B, Q) is in the first ``CLEARING_YELLOW_S`` of its yellow."""
    into_yellow = light_phase_steps(world) - world.green_steps
    clearing_steps = max(int(round(CLEARING_YELLOW_S / world.config.dt_s)), 1)
    return (
        (world.approach_kind == CONTROL_LIGHT) & (into_yellow >= 0) & (into_yellow < clearing_steps)
    )


def walk_signal(world: TownState) -> tuple[np.ndarray, np.ndarray]:
    """Per junction (B, J): whether its crosswalks are open, and steps of walk left."""
    tc = (world.step_count[:, None] + world.junction_offset) % world.junction_cycle  # (B, J)
    walk = world.junction_is_light & (tc >= world.junction_walk_start)
    return walk, world.junction_cycle - tc


def movements(world: TownState) -> dict[str, np.ndarray]:
    """Every car's current or next junction movement, NPCs then the A controlled cars:
    (B, N + A).

    ``lane``: the connector it is on or will take next; ``road_lane``: the street lane it
    is on (-1 inside a junction); ``to_line_m``: its front bumper to that connector's
    start (the stop line at a controlled junction), <= 0 once it has crossed; ``speed``.
    """
    cfg = world.config
    half = 0.5 * cfg.car_length_m
    if kernels.use_numba():  # the same movements, car by car (roadgym[fast])
        from roadgym.envs.town import kernels as town_kernels

        names = ("lane", "road_lane", "to_line_m", "speed")
        arrays = town_kernels.movements(
            world.veh_lane,
            world.veh_s,
            world.veh_speed,
            world.lane_is_connector,
            world.lane_length_m,
            world.route_connector_start_s,
            world.route_connector_end_s,
            world.route_connector_lane,
            world.route_segment_lane,
            world.route_segment,
            world.s_m,
            world.car.speed_mps,
            world.present,
            world.num_agents,
            half,
        )
        return dict(zip(names, arrays, strict=True))
    b = np.arange(world.batch_size)[:, None]
    lane = world.veh_lane
    on_connector = world.lane_is_connector[b, lane[..., 0]]
    npc_lane = np.where(on_connector, lane[..., 0], lane[..., 1])
    npc_line = np.where(
        on_connector, -world.veh_s - half, world.lane_length_m[b, lane[..., 0]] - world.veh_s - half
    )
    # The controlled cars: the first junction crossing on each route not wholly left.
    ahead = world.route_connector_end_s > world.s_m[:, None] - half  # (C, K)
    k = np.argmax(ahead, axis=1)
    found = ahead.any(axis=1)
    c, on = np.arange(world.num_cars), world.agent_world
    ego_lane = np.where(found, world.route_connector_lane[c, k], 0)
    ego_line = np.where(found, world.route_connector_start_s[c, k] - world.s_m - half, np.inf)
    ego_road = world.route_segment_lane[c, world.route_segment]
    ego_road = np.where(world.lane_is_connector[on, ego_road], -1, ego_road)
    if world.num_agents > 1:  # a removed car takes no part
        ego_line = np.where(world.present, ego_line, np.inf)
        ego_road = np.where(world.present, ego_road, -1)
    shape = (world.batch_size, world.num_agents)
    return {
        "lane": np.concatenate([npc_lane, ego_lane.reshape(shape)], axis=1),
        "road_lane": np.concatenate(
            [np.where(on_connector, -1, lane[..., 0]), ego_road.reshape(shape)], axis=1
        ),
        "to_line_m": np.concatenate([npc_line, ego_line.reshape(shape)], axis=1),
        "speed": np.concatenate([world.veh_speed, world.car.speed_mps.reshape(shape)], axis=1),
    }


def _seconds_to_cover(distance_m, speed_mps, accel_mps2: float, top_mps) -> np.ndarray:
    """Time to cover ``distance_m`` from ``speed_mps`` at full ``accel_mps2`` up to ``top_mps``."""
    v = np.minimum(speed_mps, top_mps)
    d = np.maximum(distance_m, 0.0)
    t_top = (top_mps - v) / accel_mps2
    d_top = v * t_top + 0.5 * accel_mps2 * t_top**2
    accelerating = (np.sqrt(v * v + 2.0 * accel_mps2 * d) - v) / accel_mps2
    return np.where(d <= d_top, accelerating, t_top + (d - d_top) / top_mps)


def queued(
    mv: dict[str, np.ndarray], rows: tuple[np.ndarray, np.ndarray] | None = None
) -> np.ndarray:
    """Whether each car (B, N + A) stands behind another car before the same stop line;
    with ``rows`` = (worlds (R,), cars (R,)) only those cars, (R,)."""
    if rows is None:
        return queued(mv, np.nonzero(np.ones(mv["road_lane"].shape, dtype=bool))).reshape(
            mv["road_lane"].shape
        )
    rb, ri = rows
    road = mv["road_lane"][rb]  # (R, A)
    to_line = mv["to_line_m"][rb]
    line = np.where(np.isfinite(to_line), to_line, 1e9)  # the ego may have none
    mine = road[np.arange(len(rb)), ri]  # (R,)
    same_lane = (road == mine[:, None]) & (mine >= 0)[:, None]  # (R, A)
    gap = line[np.arange(len(rb)), ri][:, None] - line  # my distance to the line minus theirs
    in_front = same_lane & (gap > 0.0) & (gap < QUEUE_SPACING_M) & (line >= 0.0)
    return (mv["speed"][rb, ri] < QUEUED_SPEED_MPS) & in_front.any(axis=1)


def left_turn_yield(world: TownState, lights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Whether each NPC car (B, N) and each controlled car (C,) must wait at its line to turn
    left across oncoming traffic on a shared green (or a yellow it clears on).

    A car yields while it has not crossed the line of a light-controlled junction where it
    turns left, and a car from the opposing approach goes straight inside the junction and
    its rear bumper is not yet a car width past the turn's path (then it is going away: one
    that entered at the end of the green used to hold the turner through the clearing
    yellow, every cycle, 5400006), or goes straight or turns right and is coming: on
    green, a car not queued behind another that could reach its own stop line within
    ``left_turn_gap_s`` at full acceleration up to the speed limit; on yellow, only a car
    too close to stop for it. Oncoming left turners do not conflict: left turns enter the
    nearest lane, so they pass each other.
    """
    cfg = world.config
    mv = movements(world)
    n = world.veh_s.shape[1]
    if kernels.use_numba():  # the same rule, one world at a time (roadgym[fast])
        from roadgym.envs.town import kernels as town_kernels

        must_yield = town_kernels.left_turn_yield(
            mv["lane"],
            mv["road_lane"],
            mv["to_line_m"],
            mv["speed"],
            world.lane_turn,
            world.lane_from_approach,
            world.lane_is_connector,
            world.approach_kind,
            world.approach_opposite,
            lights,
            max(cfg.idm_accel_mps2, cfg.max_accel_mps2),
            cfg.speed_limit_mps,
            2.0 * cfg.idm_comfort_brake_mps2,
            cfg.left_turn_gap_s,
            QUEUED_SPEED_MPS,
            QUEUE_SPACING_M,
            world.lane_xy,
            world.lane_segments,
            world.lane_spacing_m,
            cfg.car_length_m,
            cfg.car_width_m,
        )
        return must_yield[:, :n], must_yield[:, n:].reshape(-1)
    b = np.arange(world.batch_size)[:, None]
    lane = mv["lane"]  # (B, A)
    turn = world.lane_turn[b, lane]
    source = world.lane_from_approach[b, lane]
    safe = np.maximum(source, 0)
    signalled = (source >= 0) & (gather_rows(world.approach_kind, safe) == CONTROL_LIGHT)
    to_line, speed = mv["to_line_m"], mv["speed"]
    crossed = to_line <= 0.0
    yielder = signalled & (turn == TURN_LEFT) & ~crossed & np.isfinite(to_line)
    must_yield = np.zeros(yielder.shape, dtype=bool)
    if not yielder.any():  # nobody turns left ahead of a light: nobody yields
        return must_yield[:, :n], must_yield[:, n:].reshape(-1)
    light = gather_rows(lights, safe)
    arrival_s = _seconds_to_cover(
        to_line,
        speed,
        max(cfg.idm_accel_mps2, cfg.max_accel_mps2),
        np.maximum(cfg.speed_limit_mps, speed),
    )
    # A car standing at its line stops for the yellow; a moving one may be past stopping.
    cannot_stop = (speed >= QUEUED_SPEED_MPS) & (
        to_line < speed * speed / (2.0 * cfg.idm_comfort_brake_mps2) + 0.5
    )
    oncoming = signalled & (turn != TURN_LEFT)
    green_gap = oncoming & ~crossed & (light == LIGHT_GREEN) & (arrival_s < cfg.left_turn_gap_s)
    standing = np.zeros(yielder.shape, dtype=bool)  # queued, asked only where it matters
    if green_gap.any():
        rows = np.nonzero(green_gap)
        standing[rows] = queued(mv, rows)
    coming = np.where(
        crossed,
        # In the junction: a car going straight crosses the turn's path; one turning
        # right only enters the same street, and the turner follows it in (the join's
        # rules: NPC leaders, the expert's merge), as drivers do behind a slow right turn.
        world.lane_is_connector[b, lane] & (turn != TURN_RIGHT),
        (green_gap & ~standing) | ((light == LIGHT_YELLOW) & cannot_stop),
    )
    threat = oncoming & coming  # (B, A)
    # Only the yielders' rows of the (yielder, threat) table: (Y, A).
    yb, yi = np.nonzero(yielder)
    opposite = gather_rows(world.approach_opposite, safe)[yb, yi]  # (Y,)
    conflict = threat[yb] & (source[yb] == opposite[:, None]) & (opposite >= 0)[:, None]
    # An oncoming car in the junction whose rear has passed the turn's path is going away.
    pair, other = np.nonzero(conflict & crossed[yb])
    if len(pair):
        w = yb[pair]
        rear_m = -to_line[w, other] - cfg.car_length_m  # past its connector's start
        crossing_m = _crossing_m(world, w, lane[w, yi[pair]], lane[w, other])
        gone = rear_m > crossing_m + cfg.car_width_m
        conflict[pair[gone], other[gone]] = False
    must_yield[yb, yi] = conflict.any(axis=1)
    return must_yield[:, :n], must_yield[:, n:].reshape(-1)


def _crossing_m(
    world: TownState, b: np.ndarray, turn_lane: np.ndarray, lane: np.ndarray
) -> np.ndarray:
    """Where connector ``lane`` (M,) of world ``b`` (M,) crosses connector ``turn_lane``
    (M,): the arc length (M,) along ``lane`` of its vertex nearest to ``turn_lane``."""
    vertices = world.lane_xy.shape[2]
    index = np.arange(vertices)[None, :]  # (1, V)
    valid = (index <= world.lane_segments[b, turn_lane][:, None])[:, None, :]  # (M, 1, V)
    valid = valid & (index <= world.lane_segments[b, lane][:, None])[:, :, None]  # (M, V, V)
    turn_xy, xy = world.lane_xy[b, turn_lane], world.lane_xy[b, lane]  # (M, V, 2)
    distance_sq = np.square(xy[:, :, None, :] - turn_xy[:, None, :, :]).sum(-1)
    nearest = np.where(valid, distance_sq, np.inf).min(axis=2).argmin(axis=1)  # (M,)
    return nearest * world.lane_spacing_m[b, lane]


def clearing_left_turn(
    world: TownState,
    approach: np.ndarray,
    connector: np.ndarray,
    line_m: np.ndarray,
    worlds: np.ndarray | None = None,
) -> np.ndarray:
    """Whether cars may go on the yellow of ``approach`` (B, ...) to turn left into
    ``connector`` (B, ...), their front bumpers ``line_m`` before its line: left-turners
    waiting at the line in the first ``CLEARING_YELLOW_S`` of the yellow (they still yield
    to oncoming traffic by :func:`left_turn_yield`). ``worlds`` (W,): the world of each
    row when the rows are controlled cars (C), not worlds."""
    rows = np.arange(world.batch_size) if worlds is None else worlds
    b = rows.reshape((-1,) + (1,) * (approach.ndim - 1))
    early = early_yellow(world)[b, np.maximum(approach, 0)]
    left = world.lane_turn[b, connector] == TURN_LEFT
    return early & left & (approach >= 0) & (line_m < CLEARING_LINE_M)
