"""NPC traffic on the highway: IDM car following and MOBIL lane changes, batched.

Every car (the ego car included, as index N) is an *entry* in each lane it occupies:
one lane, or two while it changes lanes. Sorting all entries of all worlds by
``(world, lane, s)`` once per step puts every car's leader right after it, so car
following needs no pairwise (N x N) work; lane-change candidates look their new leader
and follower up with one ``searchsorted``. MOBIL (Kesting, Treiber and Helbing 2007)
decides: a change must not make the new follower brake harder than the safe limit, and
must bring an acceleration gain (own plus politeness times the others') above a
threshold that a keep-right bias lowers for changes to the right. Vehicles that fall
too far behind or ahead of the ego car are moved to the other end of the window.
"""

from __future__ import annotations

import dataclasses
import functools
import math

import numpy as np

from roadgym.envs.core.counter_random import hash_uniform_int
from roadgym.envs.highway.state import NO_LANE, HighwayState

KEY_SPAN_M = 1.0e5  # separates (world, lane) groups in the sort key
SAFE_GAP_M = 1.0  # a lane change needs at least this bumper-to-bumper gap both ways
RECYCLE_SPOTS_M = np.array([5.0, 35.0, 65.0, 95.0])  # recycled cars start this far inside
DRAW_RESOLUTION = 1 << 24
PERCEPTION_DISTANCE_M = 200.0
RECYCLE_EVERY_STEPS = 4  # each world looks for cars to recycle every this many steps


@dataclasses.dataclass
class Entries:
    """The cars of every world sorted by (world, lane, s): one step's neighbour index."""

    sorted_key: np.ndarray  # (E,) keys in order
    sorted_group: np.ndarray  # (E,) world * groups + lane, in order
    sorted_car: np.ndarray  # (E,) flat car index (b * V + v) of each sorted entry
    leader: np.ndarray  # (B, 2, V) flat car index of the leader in that lane, -1: none
    follower: np.ndarray  # (B, 2, V)
    groups: int
    same_group: np.ndarray  # (E - 1,) sorted entries e and e + 1 are neighbours in a lane


def uniform(world: HighwayState, worlds: np.ndarray, index: np.ndarray, purpose: int):
    """Counter-based uniforms in [0, 1) for items ``index`` (W, K) of ``worlds`` (W,).

    A pure function of the world's key, its step count, the item and ``purpose``: each
    world draws the same numbers whatever batch it is stepped in.
    """
    counter = (
        (world.sim_steps[worlds, None].astype(np.uint64) * np.uint64(1 << 20))
        + np.asarray(index).astype(np.uint64) * np.uint64(16)
        + np.uint64(purpose)
    )
    key = world.world_key[worlds, None]
    return hash_uniform_int(key, counter, np.array(DRAW_RESOLUTION)) / DRAW_RESOLUTION


def sort_entries(world: HighwayState) -> Entries:
    """Sort every car's lane entries; each entry's leader and follower in its lane."""
    batch, cars = world.veh_s.shape
    groups = world.max_lane + 2  # lanes, then a group for "no second lane"
    tables = _entry_tables(world, groups)
    lanes = np.empty((batch, 2, cars), dtype=np.int64)  # (B, 2, V)
    lanes[:, 0] = world.veh_lane
    lanes[:, 1] = world.veh_from_lane
    second = lanes[:, 1]
    second[second < 0] = groups - 1
    group = tables.group_base + lanes  # (B, 2, V)
    key = (group * KEY_SPAN_M + world.veh_s[:, None, :]).reshape(-1)  # (E,)
    # Cars rarely pass each other within a step: sorting the keys in last step's order
    # hands the stable sort (timsort) a nearly sorted array, several times faster.
    previous = world.entry_order
    if previous is not None and len(previous) == len(key):
        order = previous[np.argsort(key[previous], kind="stable")]
    else:
        order = np.argsort(key, kind="stable")
    world.entry_order = order
    sorted_key, sorted_group = key[order], group.reshape(-1)[order]
    sorted_car = tables.entry_car[order]  # entry e = (b, k, v) is car b * V + v
    same = sorted_group[1:] == sorted_group[:-1]
    # The "no second lane" group holds no real neighbours.
    same &= tables.real_group[sorted_group[1:]]
    entries = len(key)
    leader_sorted = np.empty(entries, dtype=np.int64)
    leader_sorted[:-1] = np.where(same, sorted_car[1:], -1)
    leader_sorted[-1] = -1
    follower_sorted = np.empty(entries, dtype=np.int64)
    follower_sorted[1:] = np.where(same, sorted_car[:-1], -1)
    follower_sorted[0] = -1
    leader = np.empty_like(leader_sorted)
    follower = np.empty_like(follower_sorted)
    leader[order], follower[order] = leader_sorted, follower_sorted
    shape = (batch, 2, cars)
    return Entries(
        sorted_key,
        sorted_group,
        sorted_car,
        leader.reshape(shape),
        follower.reshape(shape),
        groups,
        same,
    )


@dataclasses.dataclass
class _EntryTables:
    """Index tables of one batch shape: fixed for a world's life, built once."""

    group_base: np.ndarray  # (B, 1, 1) first group of each world
    entry_car: np.ndarray  # (E,) flat car of each unsorted entry
    real_group: np.ndarray  # (B * groups,) False for the "no second lane" groups
    car_is_npc: np.ndarray  # (B * V,) False for the controlled cars


def _entry_tables(world: HighwayState, groups: int) -> _EntryTables:
    tables = getattr(world, "_entry_tables", None)
    batch, cars = world.veh_s.shape
    if tables is None or tables.entry_car.shape[0] != 2 * batch * cars:
        entry = np.arange(2 * batch * cars)
        tables = _EntryTables(
            group_base=np.arange(batch)[:, None, None] * groups,
            entry_car=(entry // (2 * cars)) * cars + entry % cars,
            real_group=np.arange(batch * groups) % groups != groups - 1,
            car_is_npc=np.arange(batch * cars) % cars < world.num_npcs,
        )
        world._entry_tables = tables
    return tables


def neighbours(entries: Entries, b, lane, s) -> tuple[np.ndarray, np.ndarray]:
    """Flat indices of the leader and follower in ``lane`` at ``s`` (-1: none), broadcast."""
    group = b * entries.groups + lane
    key = group * KEY_SPAN_M + s
    sorted_key = entries.sorted_key
    last = len(sorted_key) - 1
    first_not_below = np.searchsorted(sorted_key, key, side="left")
    behind = first_not_below - 1
    # The first key above a query is the first not below it, one further where that
    # one equals the query (a car's own entry); a second search only for two equal keys.
    ahead = first_not_below + (sorted_key[np.minimum(first_not_below, last)] == key)
    if (sorted_key[np.minimum(ahead, last)] == key).any():
        ahead = np.searchsorted(sorted_key, key, side="right")
    ahead_c, behind_c = np.minimum(ahead, last), np.maximum(behind, 0)
    ahead_ok = (ahead <= last) & (entries.sorted_group[ahead_c] == group)
    behind_ok = (behind >= 0) & (entries.sorted_group[behind_c] == group)
    leader = np.where(ahead_ok, entries.sorted_car[ahead_c], -1)
    follower = np.where(behind_ok, entries.sorted_car[behind_c], -1)
    return leader, follower


def idm(world: HighwayState, speed, desired, gap, closing) -> np.ndarray:
    """IDM acceleration (m/s^2) for ``speed``, ``desired`` speed, bumper gap and closing speed."""
    cfg = world.config
    a = cfg.idm_accel_mps2
    brake_term = 2.0 * math.sqrt(a * cfg.idm_comfort_brake_mps2)  # sqrt is exact either way
    s_star = cfg.idm_min_gap_m + np.maximum(
        0.0, speed * cfg.idm_time_headway_s + speed * closing / brake_term
    )
    ratio = np.maximum(speed, 0.0) / np.maximum(desired, 0.1)
    if cfg.idm_delta == 4.0:  # the usual exponent: two squares beat a float power
        ratio = np.square(ratio)
        free = 1.0 - ratio * ratio
    else:
        free = 1.0 - np.power(ratio, cfg.idm_delta)
    accel = a * (free - np.square(s_star / np.maximum(gap, 0.1)))
    # np.minimum / np.maximum: np.clip's wrapper costs more than the arithmetic here.
    return np.minimum(np.maximum(accel, -cfg.max_brake_mps2), a)


def idm_behind(world: HighwayState, me, leader) -> np.ndarray:
    """IDM acceleration of flat cars ``me`` behind flat cars ``leader`` (-1: free road).

    ``me=None`` means every car, with ``leader`` (B, V).
    """
    s, v = world.veh_s.reshape(-1), world.veh_speed.reshape(-1)
    if me is None:  # every car: its own arrays need no gather
        s_me, v_me, v0_me = world.veh_s, world.veh_speed, world.veh_desired_mps
    else:
        s_me, v_me, v0_me = s[me], v[me], world.veh_desired_mps.reshape(-1)[me]
    has = leader >= 0
    lead = np.maximum(leader, 0)
    gap = np.where(has, s[lead] - s_me - world.config.car_length_m, np.inf)
    closing = np.where(has, v_me - v[lead], 0.0)
    return idm(world, v_me, v0_me, gap, closing)


def ramp_end_gap(world: HighwayState, on_ramp: np.ndarray) -> np.ndarray:
    """Gap (B, V) from each car's front to the end of the ramp lane, inf off the ramp."""
    cfg = world.config
    # IDM keeps its standstill gap to a car; a lane's end may be driven up to 1 m from.
    gap = world.ramp_end_s[:, None] - world.veh_s - 0.5 * cfg.car_length_m
    return np.where(on_ramp, gap + cfg.idm_min_gap_m - 1.0, np.inf)


def step_traffic(world: HighwayState, entries: Entries) -> None:
    """Advance every NPC car by one simulation step: MOBIL, IDM, lateral motion, recycling.

    ``entries`` must be sorted from the current positions, the ego car's included.
    """
    cfg = world.config
    batch, cars = world.veh_s.shape
    n = world.num_npcs
    if n == 0:
        return
    accel = idm_behind(world, None, entries.leader[:, 0])  # (B, V): the lane it is in
    changing = np.flatnonzero(world.veh_from_lane.reshape(-1) >= 0)  # the few in two lanes
    if len(changing):
        second = idm_behind(world, changing, entries.leader[:, 1].reshape(-1)[changing])
        accel.reshape(-1)[changing] = np.minimum(accel.reshape(-1)[changing], second)
    if cfg.on_ramp:
        ramp = world.lanes_count
        on_ramp = (world.veh_lane == ramp) | (world.veh_from_lane == ramp)
        stop = idm(
            world,
            world.veh_speed,
            world.veh_desired_mps,
            ramp_end_gap(world, on_ramp),
            world.veh_speed,
        )
        accel = np.where(on_ramp, np.minimum(accel, stop), accel)
    accel = accel[:, :n]

    interval = max(1, round(cfg.mobil_interval_s / cfg.dt_s))
    due = np.flatnonzero(world.sim_steps % interval == 0)
    if len(due):
        _change_lanes(world, entries, accel, due, interval)

    dt = cfg.dt_s
    speed = world.veh_speed[:, :n]
    new_speed = np.maximum(speed + accel * dt, 0.0)
    world.veh_s[:, :n] += 0.5 * (speed + new_speed) * dt
    world.veh_speed[:, :n] = new_speed
    b = np.arange(batch)[:, None]
    d = world.veh_d[:, :n]
    target = world.lane_centre_d(b, world.veh_lane[:, :n], world.veh_s[:, :n])
    changing = world.veh_from_lane[:, :n] >= 0
    rate = cfg.lane_width_m / cfg.lane_change_duration_s * dt
    new_d = np.where(changing, d + np.clip(target - d, -rate, rate), target)
    arrived = changing & (np.abs(target - new_d) < 1e-9)
    world.veh_from_lane[:, :n] = np.where(arrived, NO_LANE, world.veh_from_lane[:, :n])
    world.veh_heading_error[:, :n] = np.arctan2((new_d - d) / dt, np.maximum(new_speed, 0.5))
    world.veh_d[:, :n] = new_d
    _recycle(world, entries)


def _change_lanes(
    world: HighwayState, entries: Entries, accel: np.ndarray, worlds: np.ndarray, interval: int
) -> None:
    """MOBIL for the steady NPCs of ``worlds``; starts the lane changes it accepts.

    Worlds alternate rounds of changes to the left and to the right, so two cars never
    move into one gap from both sides at once; of a car and its follower that would both
    move over, only the follower does.
    """
    cfg = world.config
    cars = world.veh_s.shape[1]
    n = world.num_npcs
    last = world.lanes_count - 1
    b = worlds[:, None]  # (W, 1)
    me = b * cars + np.arange(n)[None, :]  # (W, n) flat cars
    lane = world.veh_lane[worlds, :n]
    s = world.veh_s[worlds, :n]
    direction = np.where((world.sim_steps[worlds] // interval) % 2 == 0, -1, 1)[:, None]
    target = lane + direction
    valid = (world.veh_from_lane[worlds, :n] < 0) & (target >= 0) & (target <= last)
    if cfg.on_ramp:  # off the ramp only where it runs beside the road; never onto it
        valid &= (lane < world.lanes_count) | world.ramp_beside(b, s)
    target = np.clip(target, 0, last)
    new_leader, new_follower = neighbours(entries, b, target, s)
    all_s = world.veh_s.reshape(-1)
    length = cfg.car_length_m
    has_leader, has_follower = new_leader >= 0, new_follower >= 0
    gap_front = np.where(has_leader, all_s[new_leader] - s - length, np.inf)
    gap_back = np.where(has_follower, s - all_s[np.maximum(new_follower, 0)] - length, np.inf)
    follower = np.maximum(new_follower, 0)
    old_follower = entries.follower[worlds, 0, :n]
    has_old = old_follower >= 0
    old = np.maximum(old_follower, 0)
    # The five IDM accelerations MOBIL weighs, in two calls of (3 | 2, W, n): fewer
    # calls cost less, but temporaries past ~64 kB cost more (the allocator trims and
    # faults them in again).
    follower_after, follower_before, old_before = idm_behind(
        world, np.stack([follower, follower, old]), np.stack([me, new_leader, me])
    )
    old_after, own_after = idm_behind(
        world, np.stack([old, me]), np.stack([entries.leader[worlds, 0, :n], new_leader])
    )
    safe = (gap_front > SAFE_GAP_M) & (gap_back > SAFE_GAP_M)
    # The ego car may not brake for a car cutting in (a policy, or meta actions that hold
    # a target speed): in front of it, a change must not ask it to brake at all.
    limit = np.where(new_follower % cars >= n, 0.0, cfg.mobil_safe_braking_mps2)
    safe &= ~has_follower | (follower_after >= -limit)
    # Making way for the car behind counts only when moving right: a slow car does not
    # pull out to the left to let a faster one by (the left lane is for overtaking).
    making_way = has_old & (direction > 0)
    others = np.where(has_follower, follower_after - follower_before, 0.0) + np.where(
        making_way, old_after - old_before, 0.0
    )
    gain = own_after - accel[worlds] + cfg.mobil_politeness * others
    threshold = cfg.mobil_gain_threshold_mps2 - cfg.mobil_keep_right_bias_mps2 * direction
    start = valid & safe & (gain > threshold)
    # A car and the one right behind it both moving over keep their order and gain
    # nothing: the front car (often only making way) stays, the rear one goes.
    behind = np.where(has_old, old % cars, 0)  # (W, n) local index of the old follower
    follower_npc = has_old & (behind < n)
    rows = np.arange(len(worlds))[:, None]
    follower_goes = follower_npc & start[rows, np.minimum(behind, n - 1)]
    follower_goes &= lane < world.lanes_count  # on the ramp everyone must go: no queueing
    start &= ~follower_goes
    if start.any():
        from_lane = world.veh_from_lane[worlds, :n]
        world.veh_from_lane[worlds, :n] = np.where(start, lane, from_lane)
        world.veh_lane[worlds, :n] = np.where(start, target, lane)


def _recycle(world: HighwayState, entries: Entries) -> None:
    """Move (at most) one car per world that left the window to the window's other end.

    It goes to the free spot (lane and one of a few positions near that end) with the
    most room; when none is free it stays where it is and is tried again later.
    """
    cfg = world.config
    n = world.num_npcs
    due = np.flatnonzero(world.sim_steps % RECYCLE_EVERY_STEPS == 0)  # now and then is enough
    if len(due) == 0:
        return
    rear_s, front_s = _agent_span(world)  # (B,) each
    s = world.veh_s[due, :n]
    behind_due = s - rear_s[due, None] < -cfg.recycle_behind_m
    ahead_due = s - front_s[due, None] > cfg.recycle_ahead_m
    out_due = behind_due | ahead_due | (s > world.road_length_m - 20.0)
    leaving = out_due.any(axis=1)
    if not leaving.any():
        return
    worlds = due[leaving]
    out, behind = out_due[leaving], behind_due[leaving]  # rows of ``worlds``
    # Candidate spots (W, C): every lane at a few distances in from the window's end.
    lanes, inward, items = _recycle_spots(world.lanes_count)  # (1, C), (1, C), (1, C + 2)
    draws = uniform(world, worlds, items, 1)  # (W, C + 2)
    # A random one of the cars out, so that one without a free spot starves no other.
    count = out.sum(axis=1)
    nth = np.minimum((draws[:, -1] * count).astype(np.int64), count - 1)  # (W,)
    car = np.argmax(np.cumsum(out, axis=1) > nth[:, None], axis=1)  # (W,)
    was_behind = behind[np.arange(len(worlds)), car]
    low, high = cfg.npc_speed_range_mps
    desired = low + (high - low) * draws[:, -2]  # (W,)
    new_s = np.where(
        was_behind[:, None],
        front_s[worlds, None] + cfg.recycle_ahead_m - inward,
        rear_s[worlds, None] - cfg.recycle_behind_m + 0.5 * inward,
    )
    b = worlds[:, None]
    leader, follower = neighbours(entries, b, lanes, new_s)  # (W, C)
    all_s, all_v = world.veh_s.reshape(-1), world.veh_speed.reshape(-1)
    length = cfg.car_length_m
    if cfg.on_ramp:
        # A ramp car may merge into the lane beside it at any moment (these entries are
        # from before this step's lane changes): it counts as in that lane.
        ramp_leader, _ = neighbours(entries, b, world.lanes_count, new_s)  # (W, C)
        last = lanes == world.lanes_count - 1
        nearer = (ramp_leader >= 0) & (
            (leader < 0) | (all_s[np.maximum(ramp_leader, 0)] < all_s[np.maximum(leader, 0)])
        )
        leader = np.where(last & nearer, ramp_leader, leader)
    lead, follow = np.maximum(leader, 0), np.maximum(follower, 0)
    gap_front = np.where(leader >= 0, all_s[lead] - new_s - length, np.inf)
    gap_back = np.where(follower >= 0, new_s - all_s[follow] - length, np.inf)
    # IDM's desired gap at the new car's speed, closing on its leader included.
    speed = desired[:, None]
    closing = np.where(leader >= 0, np.maximum(speed - all_v[lead], 0.0), 0.0)
    brake = 2.0 * np.sqrt(cfg.idm_accel_mps2 * cfg.idm_comfort_brake_mps2)
    need_front = cfg.idm_min_gap_m + speed * cfg.idm_time_headway_s + speed * closing / brake
    follower_v = np.where(follower >= 0, all_v[follow], 0.0)
    need_back = cfg.idm_min_gap_m + follower_v * cfg.idm_time_headway_s
    score = np.minimum(gap_front - need_front, gap_back - need_back)
    jitter = draws[:, :-2]
    choice = np.argmax(np.where(score > 0.0, 1.0 + jitter, -np.inf), axis=1)  # random free spot
    rows = np.arange(len(worlds))
    ok = score[rows, choice] > 0.0
    if not ok.any():
        return
    worlds, car, choice, rows = worlds[ok], car[ok], choice[ok], rows[ok]
    lane = lanes[0, choice]
    leader_speed = np.where(leader[rows, choice] >= 0, all_v[lead[rows, choice]], np.inf)
    world.veh_s[worlds, car] = new_s[rows, choice]
    world.veh_desired_mps[worlds, car] = desired[rows]
    world.veh_speed[worlds, car] = np.minimum(desired[rows], leader_speed)
    world.veh_lane[worlds, car] = lane
    world.veh_from_lane[worlds, car] = NO_LANE
    world.veh_d[worlds, car] = -lane * cfg.lane_width_m
    world.veh_heading_error[worlds, car] = 0.0


def _agent_span(world: HighwayState) -> tuple[np.ndarray, np.ndarray]:
    """Arc length (B,) of the rearmost and of the front controlled car of each world
    still in it: the traffic window runs from behind the one to ahead of the other."""
    n = world.num_npcs
    if world.num_agents == 1:
        ego_s = world.veh_s[:, n]
        return ego_s, ego_s
    s = world.veh_s[:, n:]  # (B, A)
    present = world.present.reshape(s.shape)
    some = present.any(axis=1)
    # A world whose cars are all gone has ended: any span will do until its reset.
    rear = np.where(some, np.where(present, s, np.inf).min(axis=1), s[:, 0])
    front = np.where(some, np.where(present, s, -np.inf).max(axis=1), s[:, 0])
    return rear, front


@functools.lru_cache(maxsize=8)
def _recycle_spots(lanes_count: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lanes (1, C) and distances in from the window's end (1, C) of the candidate
    spots, and the item indices (1, C + 2) of the draws that pick among them."""
    lanes = np.repeat(np.arange(lanes_count), len(RECYCLE_SPOTS_M))[None, :]
    inward = np.tile(RECYCLE_SPOTS_M, lanes_count)[None, :]
    items = np.arange(lanes.shape[1] + 2)[None, :]
    for array in (lanes, inward, items):
        array.flags.writeable = False  # shared by every call
    return lanes, inward, items


def npc_overlaps(world: HighwayState, entries: Entries) -> np.ndarray:
    """Pairs of NPC cars (B,) whose boxes overlap (same lane, closer than a car length)."""
    cfg = world.config
    cars = world.veh_s.shape[1]
    is_npc = _entry_tables(world, entries.groups).car_is_npc[entries.sorted_car]  # (E,)
    a, b = entries.sorted_car[:-1], entries.sorted_car[1:]
    s, d = world.veh_s.reshape(-1), world.veh_d.reshape(-1)
    hit = entries.same_group & is_npc[:-1] & is_npc[1:]
    hit &= s[b] - s[a] < cfg.car_length_m
    hit &= np.abs(d[b] - d[a]) < cfg.car_width_m
    return np.bincount(a[hit] // cars, minlength=world.batch_size)
