"""The highway's vector observations and perception labels, batched over worlds.

``kinematics`` and ``occupancy_grid`` follow highway-env's ``Kinematics`` and
``OccupancyGrid`` observations (their default settings), with road coordinates in
place of highway-env's straight-road world coordinates: ``x`` is the distance along the
road, ``y`` the lateral position, positive towards the right lanes (highway-env's ``y``
axis), lane ``i``'s centre at ``y = i * lane_width_m``.
"""

from __future__ import annotations

import numpy as np

from roadgym.envs.highway.state import HighwayState
from roadgym.envs.highway.traffic import PERCEPTION_DISTANCE_M

MAX_SPEED_MPS = 40.0  # highway-env's Vehicle.MAX_SPEED, which sets its feature ranges
X_RANGE_M = 5.0 * MAX_SPEED_MPS
V_RANGE_MPS = 2.0 * MAX_SPEED_MPS
GRID_HALF_M = 5.5 * 5.0  # highway-env's OccupancyGrid: [-27.5, 27.5] m, 5 m cells
GRID_STEP_M = 5.0
GRID_CELLS = int(2 * GRID_HALF_M / GRID_STEP_M)  # 11
GRID_FEATURES = ("presence", "vx", "vy", "on_road")
SIDE_WINDOW_M = 10.0  # a car within this distance along the road occupies a side lane
LANE_CLASSES = ("lane 0", "lane 1", "lane 2", "lane 3", "lane 4", "lane 5")
SIDE_CLASSES = ("free", "vehicle", "no_lane")
LABEL_NAMES = {
    "lane_index": LANE_CLASSES,
    "vehicle_ahead": ("none", "vehicle"),
    "left_lane": SIDE_CLASSES,
    "right_lane": SIDE_CLASSES,
}
STATE_FIELDS = (
    "speed_fraction",
    "lane_offset_fraction",
    "heading_error_rad",
    "steer_fraction",
    "lane_fraction",
)
STATE_LOW = np.array([0.0, -1.0, -np.pi, -1.0, 0.0])
STATE_HIGH = np.array([1.0, 1.0, np.pi, 1.0, 1.25])


def kinematics_features(config) -> tuple[str, ...]:
    """Column names of the kinematics observation."""
    heading = ("cos_h", "sin_h") if config.kinematics_heading else ()
    return ("presence", "x", "y", "vx", "vy", *heading)


def _road_velocity(world: HighwayState) -> tuple[np.ndarray, np.ndarray]:
    """Velocities (B, V) along the road and towards the right lanes of every car."""
    speed = world.veh_speed / np.maximum(np.cos(world.veh_heading_error), 1e-6)
    world.set_own(speed, world.car.speed_mps)
    return speed * np.cos(world.veh_heading_error), -speed * np.sin(world.veh_heading_error)


def kinematics(world: HighwayState) -> np.ndarray:
    """highway-env's Kinematics observation (C, V, F) float32, one per controlled car.

    Row 0 is the controlled car in absolute road coordinates; rows 1.. are the nearest
    other cars (by distance along the road; the other controlled cars too), relative to
    it: those within 200 m, and unless ``kinematics_see_behind`` only those less than
    two car lengths behind. ``x`` is scaled from [-200, 200] m, ``y`` from +-lane_width
    x lanes, ``vx``, ``vy`` from [-80, 80] m/s, all to [-1, 1] and clipped; missing rows
    are zeros.
    """
    cfg = world.config
    rows, count = cfg.kinematics_vehicles_count, world.num_cars
    vx, vy = _road_velocity(world)
    x, y = world.veh_s, -world.veh_d
    own_x, own_y = world.own(x)[:, None], world.own(y)[:, None]  # (C, 1)
    own_vx, own_vy = world.own(vx)[:, None], world.own(vy)[:, None]
    rel_x = world.others(x) - own_x  # (C, K)
    rel_y = world.others(y) - own_y
    visible = np.hypot(rel_x, rel_y) < PERCEPTION_DISTANCE_M
    valid = world.others_valid()
    if valid is not None:
        visible &= valid
    if not cfg.kinematics_see_behind:
        visible &= rel_x > -2.0 * cfg.car_length_m
    order = np.argsort(np.where(visible, np.abs(rel_x), np.inf), axis=1, kind="stable")
    order = order[:, : rows - 1]  # (C, V - 1)
    b = np.arange(count)[:, None]
    present = visible[b, order]
    y_range = cfg.lane_width_m * cfg.lanes_count
    other_vx, other_vy = world.others(vx)[b, order], world.others(vy)[b, order]
    columns = [
        np.concatenate([np.ones((count, 1)), present], axis=1),
        np.concatenate([own_x, rel_x[b, order]], axis=1) / X_RANGE_M,
        np.concatenate([own_y, rel_y[b, order]], axis=1) / y_range,
        np.concatenate([own_vx, other_vx - own_vx], axis=1) / V_RANGE_MPS,
        np.concatenate([own_vy, other_vy - own_vy], axis=1) / V_RANGE_MPS,
    ]
    if cfg.kinematics_heading:
        e = world.veh_heading_error
        own_e, other_e = world.own(e)[:, None], world.others(e)[b, order]
        columns += [
            np.concatenate([np.cos(own_e), np.cos(other_e)], axis=1),
            np.concatenate([-np.sin(own_e), -np.sin(other_e)], axis=1),
        ]
    obs = np.clip(np.stack(columns, axis=-1), -1.0, 1.0)  # (C, V', F)
    obs[:, 1:] *= present[..., None]
    if obs.shape[1] < rows:  # fewer other cars than rows
        pad = np.zeros((count, rows - obs.shape[1], obs.shape[2]))
        obs = np.concatenate([obs, pad], axis=1)
    return obs.astype(np.float32)


def occupancy_grid(world: HighwayState) -> np.ndarray:
    """highway-env's OccupancyGrid observation (C, 4, 11, 11) float32, one per
    controlled car.

    Features presence, vx, vy (relative to the controlled car, scaled from [-80, 80]
    m/s and clipped) and on_road, over 5 m cells from -27.5 to 27.5 m along (axis 1) and
    across (axis 2, + towards the right lanes) the road around it, as highway-env
    indexes ``grid[feature, x_cell, y_cell]``. The car itself is in the centre cell.
    """
    n, count = world.num_npcs, world.num_cars
    vx, vy = _road_velocity(world)
    s_all, d_all = world.veh_s, world.veh_d
    own_s, own_d = world.own(s_all), world.own(d_all)
    own_vx, own_vy = world.own(vx), world.own(vy)
    if world.num_agents > 1:  # every car of its world, as the car sees them
        on = world.agent_world
        s_all, d_all, vx, vy = s_all[on], d_all[on], vx[on], vy[on]
    rel_x = s_all - own_s[:, None]  # (C, V)
    rel_y = -(d_all - own_d[:, None])
    ix = np.floor((rel_x + GRID_HALF_M) / GRID_STEP_M).astype(np.int64)
    iy = np.floor((rel_y + GRID_HALF_M) / GRID_STEP_M).astype(np.int64)
    inside = (ix >= 0) & (ix < GRID_CELLS) & (iy >= 0) & (iy < GRID_CELLS)
    if world.num_agents > 1:
        inside[:, n:] &= world.present.reshape(world.batch_size, -1)[world.agent_world]
    grid = np.zeros((count, len(GRID_FEATURES), GRID_CELLS, GRID_CELLS), np.float32)
    bb, vv = np.nonzero(inside)  # row-major: the controlled cars (last) are written last
    values = np.stack(
        [
            np.ones(len(bb)),
            (vx[bb, vv] - own_vx[bb]) / V_RANGE_MPS,
            (vy[bb, vv] - own_vy[bb]) / V_RANGE_MPS,
        ],
        axis=-1,
    )
    for k in range(3):
        grid[bb, k, ix[bb, vv], iy[bb, vv]] = np.clip(values[:, k], -1.0, 1.0)
    centres = -GRID_HALF_M + GRID_STEP_M * (np.arange(GRID_CELLS) + 0.5)
    s = own_s[:, None, None] + centres[None, :, None]  # (C, 11, 1)
    d = own_d[:, None, None] - centres[None, None, :]  # (C, 1, 11)
    b = world.agent_world[:, None, None]
    grid[:, 3] = world.drivable(b, s, d)
    return grid


def state_vector(world: HighwayState) -> np.ndarray:
    """The ``state`` observation (C, 5 + D) float32: see STATE_FIELDS, then curvature."""
    cfg = world.config
    b = world.agent_world
    s, d = world.own(world.veh_s), world.own(world.veh_d)
    lane = world.ego_lane_index
    offset = (d - world.lane_centre_d(b, lane, s)) / cfg.lane_width_m
    head = np.stack(
        [
            world.car.speed_mps / cfg.top_speed_mps,
            offset,
            world.own(world.veh_heading_error),
            world.car.steer_rad / cfg.max_steer_rad,
            lane / max(cfg.lanes_count - 1, 1),
        ],
        axis=-1,
    )
    head = np.clip(head, STATE_LOW, STATE_HIGH)
    ahead = s[:, None] + np.asarray(cfg.curvature_lookahead_m)[None, :]
    index = np.clip(np.round(ahead / 2.0).astype(np.int64), 0, world.ref_curvature.shape[1] - 1)
    curvature = world.ref_curvature[b[:, None], index]
    return np.concatenate([head, np.clip(curvature, -1.0, 1.0)], axis=-1).astype(np.float32)


def labels(world: HighwayState) -> dict[str, np.ndarray]:
    """Perception labels (C,) of the current frames: see LABEL_NAMES.

    ``vehicle_ahead``: another car in the controlled car's lane between its front
    bumper and the camera's top edge; ``left_lane`` / ``right_lane``: ``no_lane`` where
    no lane runs there, ``vehicle`` when a car in it is within 10 m along the road, else
    ``free``. Other cars are the NPCs and the other controlled cars still in the world.
    """
    cfg = world.config
    b = world.agent_world
    s = world.own(world.veh_s)
    lane = world.ego_lane_index
    rel = world.others(world.veh_s) - s[:, None]
    npc_lane, npc_from = world.others(world.veh_lane), world.others(world.veh_from_lane)
    valid = world.others_valid()

    def occupied(target: np.ndarray) -> np.ndarray:
        hit = (npc_lane == target[:, None]) | (npc_from == target[:, None])
        return hit if valid is None else hit & valid

    ahead = (
        occupied(lane)
        & (rel > 0.5 * cfg.car_length_m)
        & (rel - 0.5 * cfg.car_length_m < world.view_ahead_m)
    ).any(axis=1)
    out = {"lane_index": lane.copy(), "vehicle_ahead": ahead.astype(np.int64)}
    for name, step in (("left_lane", -1), ("right_lane", 1)):
        side = lane + step
        exists = (side >= 0) & (side <= cfg.lanes_count - 1)
        if cfg.on_ramp:
            exists |= (side == cfg.lanes_count) & world.ramp_beside(b, s)
            exists &= (lane < cfg.lanes_count) | world.ramp_beside(b, s) | (side > lane)
        busy = (occupied(side) & (np.abs(rel) < SIDE_WINDOW_M)).any(axis=1)
        out[name] = np.where(exists, busy.astype(np.int64), 2)
    return out
