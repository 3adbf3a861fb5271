"""The NPC traffic of a new highway episode: drawn per world, placed for many at once.

Each world draws its cars from its own generator (:func:`draw_traffic`), in the order a
world reset alone uses; :func:`place_traffic` then spreads the cars of every resetting
world over its window in one set of array operations (the arithmetic is one world's,
run over a batch axis), so a world starts the same whatever others reset with it.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from roadgym.envs.highway.config import AGENT_LANE_STAGGER_M, AGENT_ROW_SPACING_M
from roadgym.envs.highway.generator import ramp_offset_m
from roadgym.envs.highway.state import NO_LANE, HighwayState

EGO_CLEAR_BEHIND_M = 20.0  # no NPC starts this close behind the ego car in its lane ...
EGO_CLEAR_AHEAD_M = 50.0  # ... or this close ahead of it
RAMP_SPACING_M = 30.0


@dataclasses.dataclass(frozen=True)
class TrafficDraws:
    """One world's random numbers for its NPC cars."""

    desired_mps: np.ndarray  # (N,) desired speeds
    lanes: np.ndarray  # (main,) lane of each main-road car
    jitter: np.ndarray  # (main,) in [-0.3, 0.3): where in its slot each car starts
    ramp_jitter: np.ndarray  # (ramp,) in [0, 5) m: ramp cars' offsets


def ramp_count(world: HighwayState) -> int:
    """NPC cars that start on the on-ramp (0 without one)."""
    cfg = world.config
    return min(cfg.ramp_vehicles_count, world.num_npcs) if cfg.on_ramp else 0


def draw_traffic(world: HighwayState, rng: np.random.Generator) -> TrafficDraws:
    """Draw one world's NPC cars from ``rng``."""
    cfg, n = world.config, world.num_npcs
    low, high = cfg.npc_speed_range_mps
    desired = rng.uniform(low, high, n)
    on_ramp = ramp_count(world)
    main = n - on_ramp
    lanes = rng.integers(cfg.lanes_count, size=main)
    jitter = rng.uniform(-0.3, 0.3, main)
    ramp_jitter = rng.uniform(0.0, 5.0, on_ramp) if on_ramp else np.zeros(0)
    return TrafficDraws(desired, lanes, jitter, ramp_jitter)


def place_traffic(
    world: HighwayState,
    worlds: np.ndarray,
    draws: list[TrafficDraws],
    ego_lanes: np.ndarray,
    ego_s: np.ndarray,
) -> None:
    """Place the NPC cars of ``worlds`` (W,): spread over the window around the
    controlled cars (in lanes ``ego_lanes``, at arc lengths ``ego_s``, (W, A) each; the
    first car's start sets the window), some on the ramp. In each lane, no NPC starts
    from EGO_CLEAR_BEHIND_M behind its rearmost controlled car to EGO_CLEAR_AHEAD_M
    ahead of its front one."""
    cfg, n = world.config, world.num_npcs
    if n == 0 or len(worlds) == 0:
        return
    count, lanes_count = len(worlds), cfg.lanes_count
    on_ramp = ramp_count(world)
    main = n - on_ramp
    desired = np.stack([d.desired_mps for d in draws])  # (W, N)
    lanes = np.stack([d.lanes for d in draws])  # (W, main)
    jitter = np.stack([d.jitter for d in draws])  # (W, main)
    s0 = ego_s[:, :1]  # (W, 1)
    zone_start, zone_width = _clear_zones(ego_lanes, ego_s, lanes_count)  # (W, L) each
    start, stop = s0 - 0.9 * cfg.recycle_behind_m, s0 + 0.95 * cfg.recycle_ahead_m
    spacing = cfg.car_length_m + cfg.idm_min_gap_m + 4.0  # closest start, centre to centre
    s = np.zeros((count, n))
    speed = np.zeros((count, n))
    # Evenly spread over each lane with jitter (random gaps bunch cars up and start a
    # jam); a lane with controlled cars leaves them their gap. Groups are (world, lane).
    group = np.arange(count)[:, None] * lanes_count + lanes  # (W, main)
    counts = np.bincount(group.reshape(-1), minlength=count * lanes_count)  # (W * L,)
    by_lane = np.argsort(group.reshape(-1), kind="stable")
    rank = np.empty(count * main, dtype=np.int64)
    rank[by_lane] = np.arange(count * main) - np.repeat(np.cumsum(counts) - counts, counts)
    rank = rank.reshape(count, main)  # each car's place among its lane's cars
    room = stop - start - zone_width  # (W, L)
    per_lane = np.maximum(room / np.maximum(counts.reshape(count, lanes_count), 1), spacing)
    pitch = np.take_along_axis(per_lane, lanes, axis=1)  # (W, main)
    place = start + (rank + 0.5) * pitch + jitter * (pitch - spacing)
    width = np.take_along_axis(zone_width, lanes, axis=1)  # (W, main)
    gap_start = np.take_along_axis(zone_start, lanes, axis=1)
    place += np.where((width > 0.0) & (place > gap_start), width, 0.0)
    s[:, :main] = place
    # Each car starts no faster than the one ahead of it, nor than IDM's steady speed
    # for its gap: no braking wave at reset. Lanes in turn, front car first.
    flat_place, flat_group = place.reshape(-1), group.reshape(-1)
    front_first = np.lexsort((-flat_place, flat_group))  # world by world, as alone
    ordered_group, ordered_s = flat_group[front_first], flat_place[front_first]
    first = np.concatenate([[True], ordered_group[1:] != ordered_group[:-1]])
    gap = np.where(first, np.inf, np.concatenate([[np.inf], -np.diff(ordered_s)]))
    steady = np.maximum(gap - cfg.car_length_m - cfg.idm_min_gap_m, 0.0)
    cap = np.minimum(desired[:, :main].reshape(-1)[front_first], steady / cfg.idm_time_headway_s)
    # A running minimum that restarts in each lane: later lanes are shifted below (and
    # each world's run is its own).
    shift = 1e3 * (ordered_group % lanes_count)
    shifted = cap - shift
    shifted = np.minimum.accumulate(shifted.reshape(count, main), axis=1).reshape(-1)
    flat_speed = np.empty(count * main)
    flat_speed[front_first] = shifted + shift
    speed[:, :main] = flat_speed.reshape(count, main)
    world.veh_lane[worlds, :main] = lanes
    world.veh_d[worlds, :main] = -lanes * cfg.lane_width_m
    if on_ramp:
        join = world.ramp_join_s[worlds, None]  # (W, 1)
        ramp_s = world.ramp_start_s[worlds, None] + 10.0 + RAMP_SPACING_M * np.arange(on_ramp)
        ramp_s += np.stack([d.ramp_jitter for d in draws])
        s[:, main:] = ramp_s
        # Timed to reach the join about when the ego car does.
        to_join = (join - s0) / max(cfg.ego_initial_speed_mps, 1.0)
        arrive = (join + 20.0 - ramp_s) / np.maximum(to_join, 1.0)
        speed[:, main:] = np.clip(arrive, 8.0, desired[:, main:])
        world.veh_lane[worlds, main:n] = lanes_count
        world.veh_d[worlds, main:n] = ramp_offset_m(ramp_s, lanes_count, cfg.lane_width_m, join)
    world.veh_s[worlds, :n] = s
    world.veh_speed[worlds, :n] = speed
    world.veh_desired_mps[worlds, :n] = desired
    world.veh_from_lane[worlds, :n] = NO_LANE
    world.veh_heading_error[worlds, :n] = 0.0


def _clear_zones(
    ego_lanes: np.ndarray, ego_s: np.ndarray, lanes_count: int
) -> tuple[np.ndarray, np.ndarray]:
    """Start and width (W, L) of the stretch of each main lane kept free of NPCs around
    the controlled cars in it (width 0: none there)."""
    in_lane = ego_lanes[:, :, None] == np.arange(lanes_count)[None, None, :]  # (W, A, L)
    s = ego_s[:, :, None]
    rear = np.where(in_lane, s, np.inf).min(axis=1)  # (W, L)
    front = np.where(in_lane, s, -np.inf).max(axis=1)
    has = in_lane.any(axis=1)
    clear = EGO_CLEAR_BEHIND_M + EGO_CLEAR_AHEAD_M
    width = np.where(has, (front - rear) + clear, 0.0)
    return np.where(has, rear - EGO_CLEAR_BEHIND_M, 0.0), width


def agent_slots(
    rng: np.random.Generator, config, first_lane: int, first_s: float, rows_s: float
) -> tuple[np.ndarray, np.ndarray]:
    """Lanes and arc lengths (A,) of a world's controlled cars: the first at
    ``(first_lane, first_s)``, the others drawn from ``rng`` among the free slots of
    ``config.agent_rows`` rows (one slot per main lane, AGENT_ROW_SPACING_M apart, the
    first row at ``rows_s``, lanes AGENT_LANE_STAGGER_M apart along the road); nothing
    is drawn for one car."""
    lanes = np.array([first_lane], dtype=np.int64)
    s = np.array([first_s])
    if config.num_agents == 1:
        return lanes, s
    rows, count = config.agent_rows, config.lanes_count
    slot_lane = np.tile(np.arange(count), rows)
    slot_row = np.repeat(np.arange(rows), count)
    free = ~((slot_row == 0) & (slot_lane == first_lane))
    chosen = rng.choice(np.flatnonzero(free), config.num_agents - 1, replace=False)
    lanes = np.concatenate([lanes, slot_lane[chosen]])
    # Staggered by lane: no two cars side by side at the very same arc length, where the
    # lane-entry search would take the other for the car's own entry.
    stagger = AGENT_LANE_STAGGER_M * (slot_lane[chosen] - min(first_lane, count - 1))
    s = np.concatenate([s, rows_s + AGENT_ROW_SPACING_M * slot_row[chosen] + stagger])
    return lanes, s
