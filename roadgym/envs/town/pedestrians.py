"""Pedestrians: random walks on the sidewalk graph, crossing when allowed.

A pedestrian walks one graph edge at a time. At the start of a crossing (a crosswalk or,
for jaywalkers, a mid-block crossing) it waits until it may go: at a light-controlled
crosswalk when the junction's walk phase is on and long enough to get across; anywhere
else (and always for jaywalkers) when no moving vehicle is within ``pedestrian_gap_m``.
Either way it waits while a car stands on the crossing or comes too fast to stop before
it: nobody steps in front of a car that cannot stop or is already on the crosswalk.
At the end of an edge it picks the next one at random, not turning back unless it must.
"""

from __future__ import annotations

import numpy as np

from roadgym.envs.core import kernels
from roadgym.envs.core.counter_random import hash_uniform_int
from roadgym.envs.town.sidewalks import EDGE_CROSSWALK, EDGE_JAYWALK, EDGE_SIDEWALK
from roadgym.envs.town.state import FAR_AWAY_M, TownState, distance_sq

MOVING_MPS = 0.5  # vehicles slower than this do not stop a pedestrian from crossing
# ... unless their centre is this close to the crossing (half a car's length and a metre):
# standing on it, or about to be.
CROSSING_CLEARANCE_M = 3.25


def _crossing_clear(
    world: TownState, start: np.ndarray, end: np.ndarray, cars: np.ndarray, speeds: np.ndarray
) -> np.ndarray:
    """Whether each waiting pedestrian's crossing (W,) from ``start`` to ``end`` (W, 2) is
    free of cars: none of ``cars`` (W, N + A, 2) stands on it, and none comes faster
    (``speeds`` (W, N + A)) than it could stop before it.

    Even on a walk signal or in a gap, nobody steps in front of a car on the crosswalk
    (one that entered on yellow, or queued over it) or of one that could not stop.
    """
    along = end - start  # (W, 2)
    length_sq = np.maximum(along[:, 0] ** 2 + along[:, 1] ** 2, 1e-9)
    rel_x = cars[:, :, 0] - start[:, None, 0]  # (W, N + A)
    rel_y = cars[:, :, 1] - start[:, None, 1]
    t = (rel_x * along[:, None, 0] + rel_y * along[:, None, 1]) / length_sq[:, None]
    t = np.minimum(np.maximum(t, 0), 1)
    off_x = rel_x - t * along[:, None, 0]
    off_y = rel_y - t * along[:, None, 1]
    distance = np.sqrt(off_x * off_x + off_y * off_y)  # car centre to the crossing
    stopping = speeds**2 / (2.0 * world.config.idm_comfort_brake_mps2)
    return ~(distance < CROSSING_CLEARANCE_M + stopping).any(-1)


def _crossing_decisions_compiled(world: TownState, walk: np.ndarray, walk_left: np.ndarray):
    """``world.ped_waiting`` after the waiting pedestrians' decisions, by a numba kernel."""
    from roadgym.envs.town import kernels as town_kernels

    shape = (world.batch_size, world.num_agents)
    own_xy = world.ego_xy()
    if world.num_agents > 1:  # a removed car is nowhere
        own_xy = np.where(world.present[:, None], own_xy, FAR_AWAY_M)
    own_speed = np.where(world.present, world.car.speed_mps, 0.0).reshape(shape)
    cfg = world.config
    world.ped_waiting = town_kernels.pedestrians_waiting(
        world.ped_waiting,
        world.ped_junction,
        world.ped_kind,
        world.ped_from,
        world.ped_to,
        world.ped_edge_length_m,
        world.ped_speed_mps,
        world.ped_jaywalker,
        world.junction_is_light,
        walk,
        walk_left,
        world.walk_xy,
        world.veh_xy,
        world.veh_speed,
        own_xy.reshape(*shape, 2),
        own_speed,
        EDGE_CROSSWALK,
        cfg.dt_s,
        cfg.pedestrian_gap_m,
        MOVING_MPS,
        CROSSING_CLEARANCE_M,
        2.0 * cfg.idm_comfort_brake_mps2,
    )


def step_pedestrians(world: TownState, walk: np.ndarray, walk_left: np.ndarray) -> None:
    """Advance every pedestrian of every world by one step.

    ``walk`` (B, J) says which junctions' crosswalks are open, ``walk_left`` (B, J) for how
    many more steps.
    """
    cfg = world.config
    batch = world.ped_from.shape[0]
    b = np.arange(batch)[:, None]  # (B, 1)
    if kernels.use_numba():  # the same decision, one pedestrian at a time (roadgym[fast])
        _crossing_decisions_compiled(world, walk, walk_left)
    elif world.ped_waiting.any():
        # Only the pedestrians waiting at a crossing decide anything: (W,) of them.
        wb, wp = np.nonzero(world.ped_waiting)
        junction = np.maximum(world.ped_junction[wb, wp], 0)
        signalled = (world.ped_kind[wb, wp] == EDGE_CROSSWALK) & world.junction_is_light[
            wb, junction
        ]
        edge_length = world.ped_edge_length_m[wb, wp]
        needed = edge_length / world.ped_speed_mps[wb, wp] / cfg.dt_s + 5.0
        walk_ok = signalled & walk[wb, junction] & (walk_left[wb, junction] >= needed)
        # Gap in traffic: no moving car (NPC or ego) near the middle of the crossing.
        start = world.walk_xy[wb, world.ped_from[wb, wp]]  # (W, 2)
        end = world.walk_xy[wb, world.ped_to[wb, wp]]
        middle = 0.5 * (start + end)
        shape = (world.batch_size, world.num_agents)
        own_xy = world.ego_xy()
        if world.num_agents > 1:  # a removed car is nowhere
            own_xy = np.where(world.present[:, None], own_xy, FAR_AWAY_M)
        cars = np.concatenate([world.veh_xy, own_xy.reshape(*shape, 2)], axis=1)[wb]
        own_speed = np.where(world.present, world.car.speed_mps, 0.0).reshape(shape)
        speeds = np.concatenate([world.veh_speed, own_speed], axis=1)[wb]  # (W, N + A)
        dist_sq = distance_sq(middle[:, None, :], cars)  # (W, N + A)
        reach = cfg.pedestrian_gap_m + 0.5 * edge_length
        busy = ((dist_sq < reach[:, None] ** 2) & (speeds > MOVING_MPS)).any(-1)
        gap_ok = ~busy & (~signalled | world.ped_jaywalker[wb, wp])
        waiting = world.ped_waiting.copy()
        waiting[wb, wp] = ~((walk_ok | gap_ok) & _crossing_clear(world, start, end, cars, speeds))
        world.ped_waiting = waiting
    progress = world.ped_progress_m + np.where(
        world.ped_waiting, 0.0, world.ped_speed_mps * cfg.dt_s
    )
    arrived = progress >= world.ped_edge_length_m
    if arrived.any():
        bb, pp = np.nonzero(arrived)
        here, came_from = world.ped_to[bb, pp], world.ped_from[bb, pp]
        options = world.walk_neighbours[bb, here]  # (A, 4)
        kinds = world.walk_kind[bb, here]
        usable = (options >= 0) & ((kinds != EDGE_JAYWALK) | world.ped_jaywalker[bb, pp, None])
        onward = usable & (options != came_from[:, None])
        usable = np.where(onward.any(-1, keepdims=True), onward, usable)
        world.ped_draws[bb, pp] += np.uint64(1)
        pick = hash_uniform_int(
            world.world_key[bb] ^ (pp.astype(np.uint64) * np.uint64(104729)),
            world.ped_draws[bb, pp],
            usable.sum(-1),
        )
        slot = np.argmax(np.cumsum(usable, axis=-1) > pick[:, None], axis=-1)  # the pick-th usable
        nxt = options[np.arange(len(bb)), slot]
        kind = kinds[np.arange(len(bb)), slot]
        world.ped_from[bb, pp], world.ped_to[bb, pp] = here, nxt
        world.ped_kind[bb, pp] = kind
        world.ped_junction[bb, pp] = world.walk_junction[bb, here, slot]
        world.ped_edge_length_m[bb, pp] = np.hypot(
            *(world.walk_xy[bb, nxt] - world.walk_xy[bb, here]).T
        )
        world.ped_waiting[bb, pp] = kind != EDGE_SIDEWALK
        progress[bb, pp] = 0.0
    world.ped_progress_m = progress
    start = world.walk_xy[b, world.ped_from]  # (B, P, 2)
    direction = world.walk_xy[b, world.ped_to] - start
    fraction = progress / np.maximum(world.ped_edge_length_m, 1e-6)
    world.ped_xy = start + fraction[..., None] * direction
    world.ped_heading = np.arctan2(direction[..., 1], direction[..., 0])
