"""The state of a batch of B towns: every array the step reads and writes, and the
queries on it that several step modules share.

The step functions (``ego``, ``traffic``, ``pedestrians``) and the reset-time packing
(``packing``) take a :class:`TownState` and import this module; this module imports
none of them, so the world's state and the code that steps it never import each other
in a circle. :class:`roadgym.envs.town.world.TownWorld` adds reset, step and observe.
"""

from __future__ import annotations

import math

import numpy as np

from roadgym.envs.core.camera import EgoCamera
from roadgym.envs.core.dynamics import CarLimits, CarState, car_corners
from roadgym.envs.core.frame_stack import FrameHistory
from roadgym.envs.core.map_raster import check_raster_budget
from roadgym.envs.core.semantic import TOWN_DRIVABLE_CLASSES
from roadgym.envs.core.sprites import ActorSplatter, box_samples
from roadgym.envs.core.stall import StallClock
from roadgym.envs.town.config import TownConfig
from roadgym.envs.town.generator import max_town_extent_m

BIG_STEP = np.iinfo(np.int64).max // 4  # "never" for step-count keys
FAR_AWAY_M = 1.0e6  # where a controlled car that left the world is put for distance tests
RASTER_MARGIN_M = 20.0
PEDESTRIAN_SIZE_M = 0.7
# Cameras draw a pedestrian at least this many pixels across, square to the image: at the
# default 0.5 m/px a 0.7 m person would be 1.4 px, below what a small CNN can find. A box
# 2.5 px across, sampled finer than a pixel, covers 3 or 4 pixel rows and columns
# wherever it lands. Only the drawing grows: collisions keep the 0.7 m body.
PEDESTRIAN_MIN_PX = 2.5
EGO_POINTS_M = np.array([-1.5, 0.0, 1.5])  # the ego car as three points along its axis
EGO_JUNCTION_MARGIN_M = 3.0
EGO_OVER_LINE_M = 0.5  # how far a controlled car's bumper may stand over a line, not inside
DRIVABLE = np.zeros(256, dtype=bool)
DRIVABLE[list(TOWN_DRIVABLE_CLASSES)] = True
METRIC_DTYPES = {
    "collisions_vehicle": np.int64,
    "collisions_pedestrian": np.int64,
    "red_light_violations": np.int64,
    "stop_sign_violations": np.int64,
    "off_road": bool,
    "off_route": bool,
    "success": bool,
    "stalled": bool,
    "distance_m": np.float64,
    "steps": np.int64,
}


def distance_sq(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Squared distances between points ``a`` (..., 2) and ``b`` (..., 2), broadcast.

    Component by component: the same sums as ``np.square(a - b).sum(-1)`` without the
    (..., 2) temporaries and the reduction over a trailing axis of two.
    """
    dx = a[..., 0] - b[..., 0]
    dy = a[..., 1] - b[..., 1]
    return dx * dx + dy * dy


def gather_rows(table: np.ndarray, index: np.ndarray) -> np.ndarray:
    """``table[b, index[b, ...]]`` for every world b: ``table`` (B, Q), ``index`` (B, ...).

    The same values as ``np.take_along_axis(table, index, 1)``, by one flat gather.
    """
    batch, width = table.shape
    offsets = (np.arange(batch) * width).reshape((batch,) + (1,) * (index.ndim - 1))
    return np.take(table, index + offsets)


class TownState:
    """B independent towns' arrays: ego car, route, NPC cars, pedestrians and lights.

    Arrays have the world index first. Town-sized arrays (lanes, junctions, approaches,
    sidewalks, the route) are added and grown by :mod:`roadgym.envs.town.packing`.
    """

    def __init__(self, config: TownConfig, batch_size: int) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size = {batch_size}; allowed: an int >= 1")
        cfg = self.config = config
        self.batch_size = batch = batch_size
        # Controlled cars: A per world, flat (B * A,) world major, as in Highway. Their
        # arrays (car, route, metrics, one map raster each: a car sees its own route)
        # have B * A rows; the town's arrays (lanes, lights, NPCs, pedestrians) B.
        agents = self.num_agents = cfg.num_agents
        cars = self.num_cars = batch * agents
        self.agent_world = np.repeat(np.arange(batch), agents)  # (C,)
        self.observation_modes = config.modes()
        # Stacking lives in the world so the single and the vector env share it.
        self.history = FrameHistory(config.frame_stack, cars) if config.frame_stack > 1 else None
        self.limits = CarLimits.from_config(cfg)
        mpp = cfg.meters_per_pixel
        side = self.raster_side_px = math.ceil((max_town_extent_m(cfg) + 2 * RASTER_MARGIN_M) / mpp)
        check_raster_budget(side, cars, "TownConfig", "grid_size, block_max_m")
        # One flat buffer: the rasters plus a scratch pixel that padded light bars write to.
        self._raster_buffer = np.zeros(cars * side * side + 1, np.uint8)
        self.rasters = self._raster_buffer[:-1].reshape(cars, side, side)
        self.scratch_pixel = cars * side * side
        self.raster_origin_m = np.zeros((cars, 2))  # (left_m, top_m) per car's raster
        self.camera = EgoCamera(
            cfg.camera_size_px, cfg.camera_ahead_fraction, cfg.car_length_m, cfg.car_width_m, mpp
        )
        self.splatter = ActorSplatter(cfg.camera_size_px, cfg.camera_ahead_fraction, mpp)
        self.vehicle_samples = box_samples(cfg.car_length_m, cfg.car_width_m, 0.7 * mpp)
        drawn_m = max(PEDESTRIAN_SIZE_M, PEDESTRIAN_MIN_PX * mpp)
        self.pedestrian_samples = box_samples(drawn_m, drawn_m, 0.7 * mpp)
        self.view_ahead_m = cfg.camera_size_px * cfg.camera_ahead_fraction * mpp

        def steps(seconds: float) -> int:
            return max(int(round(seconds / cfg.dt_s)), 0)

        self.green_steps = max(steps(cfg.green_s), 1)
        self.yellow_steps = max(steps(cfg.yellow_s), 1)
        self.phase_steps = self.green_steps + self.yellow_steps + steps(cfg.all_red_s)
        self.walk_steps = max(steps(cfg.walk_s), 1)
        self.stop_steps = steps(cfg.stop_duration_s)
        # Projection window on the route: a step of travel plus margin, at 0.5 m spacing.
        half_window = math.ceil((cfg.top_speed_mps * cfg.dt_s + 2.0) / 0.5) + 2
        self.window = np.arange(-half_window, half_window + 1)  # (K,)

        self.towns: list = [None] * batch
        self.routes: list = [None] * cars
        self.world_key = np.zeros(batch, dtype=np.uint64)
        self.step_count = np.zeros(batch, dtype=np.int64)
        self.car = CarState.zeros(cars)
        self.route_segments = np.ones(cars, dtype=np.int64)
        self.route_length_m = np.ones(cars)
        self.route_segment = np.zeros(cars, dtype=np.int64)
        self.s_m = np.zeros(cars)
        self.lateral_offset_m = np.zeros(cars)
        self.heading_error_rad = np.zeros(cars)
        self.ego_claim_event = -np.ones(cars, dtype=np.int64)
        self.ego_wait_since = np.full(cars, BIG_STEP, dtype=np.int64)
        self.metrics = {name: np.zeros(cars, dtype=dtype) for name, dtype in METRIC_DTYPES.items()}
        self.stall = StallClock(cars, cfg.stall_timeout_s, cfg.dt_s)
        # Several cars: those that ended (cumulative), were parked or removed, are still in.
        self.ended_cars = np.zeros(cars, dtype=bool)
        self.finished = np.zeros(cars, dtype=bool)
        self.present = np.ones(cars, dtype=bool)
        self.agent_collisions = np.zeros(cars, dtype=np.int64)
        self.controlled_collisions = np.zeros(batch, dtype=np.int64)
        n, p = cfg.num_vehicles, cfg.num_pedestrians
        self.veh_lane = np.zeros((batch, n, 3), dtype=np.int64)
        self.veh_s = np.zeros((batch, n))
        self.veh_speed = np.zeros((batch, n))
        self.veh_xy = np.zeros((batch, n, 2))
        self.veh_heading = np.zeros((batch, n))
        self.veh_waiting_since = np.full((batch, n), BIG_STEP, dtype=np.int64)
        self.veh_committed = np.zeros((batch, n), dtype=bool)
        self.veh_stop_key = np.full((batch, n), BIG_STEP, dtype=np.int64)
        self.veh_stop_junction = -np.ones((batch, n), dtype=np.int64)
        self.veh_draws = np.zeros((batch, n), dtype=np.uint64)
        self.ped_from = np.zeros((batch, p), dtype=np.int64)
        self.ped_to = np.zeros((batch, p), dtype=np.int64)
        self.ped_kind = np.zeros((batch, p), dtype=np.int64)
        self.ped_junction = -np.ones((batch, p), dtype=np.int64)
        self.ped_progress_m = np.zeros((batch, p))
        self.ped_edge_length_m = np.ones((batch, p))
        self.ped_speed_mps = np.ones((batch, p))
        self.ped_waiting = np.zeros((batch, p), dtype=bool)
        self.ped_jaywalker = np.zeros((batch, p), dtype=bool)
        self.ped_xy = np.zeros((batch, p, 2))
        self.ped_heading = np.zeros((batch, p))
        self.ped_draws = np.zeros((batch, p), dtype=np.uint64)
        self.light_state = np.zeros((batch, 1), dtype=np.int64)

    # ------------------------------------------------------------------ queries

    def by_car(self, array: np.ndarray) -> np.ndarray:
        """A town array (B, ...) as each controlled car sees it (C, ...): itself for A = 1."""
        return array if self.num_agents == 1 else array[self.agent_world]

    def world_cars(self, worlds: np.ndarray) -> np.ndarray:
        """The controlled cars (W * A,) of ``worlds`` (W,), in order."""
        a = self.num_agents
        return (np.asarray(worlds)[:, None] * a + np.arange(a)[None, :]).reshape(-1)

    @property
    def ended(self) -> np.ndarray:
        """Whether each world (B,) has no controlled car left driving."""
        return (self.ended_cars | self.finished).reshape(self.batch_size, -1).all(axis=1)

    def ego_xy(self) -> np.ndarray:
        """Controlled car positions (C, 2)."""
        return np.stack([self.car.x_m, self.car.y_m], axis=-1)

    def ego_axis_points(self) -> np.ndarray:
        """Points (B, 3, 2) along the ego car's axis, standing in for its body."""
        forward = np.stack([np.cos(self.car.heading_rad), np.sin(self.car.heading_rad)], -1)
        return self.ego_xy()[:, None, :] + EGO_POINTS_M[None, :, None] * forward[:, None, :]

    def ego_corners(self) -> np.ndarray:
        cfg = self.config
        return car_corners(
            self.car.x_m, self.car.y_m, self.car.heading_rad, cfg.car_length_m, cfg.car_width_m
        )

    def off_road(self) -> np.ndarray:
        """Whether any corner of each controlled car stands off the drivable classes (C,)."""
        corners = self.ego_corners()  # (C, 4, 2)
        mpp, side = self.config.meters_per_pixel, self.raster_side_px
        col = ((corners[..., 0] - self.raster_origin_m[:, None, 0]) / mpp).astype(np.int64)
        row = ((self.raster_origin_m[:, None, 1] - corners[..., 1]) / mpp).astype(np.int64)
        b = np.arange(self.num_cars)[:, None]
        classes = self.rasters[b, np.clip(row, 0, side - 1), np.clip(col, 0, side - 1)]
        return ~DRIVABLE[classes].all(axis=1)

    def ego_stop_claim(self) -> tuple[np.ndarray, np.ndarray]:
        """(junction (C,), key (C,)) of each controlled car's turn at a stop sign; junction
        -1: none. Keys order turns by arrival (see ``claim_base``), ties by car."""
        b = np.arange(self.num_cars)
        event = np.maximum(self.ego_claim_event, 0)
        app = self.route_stop_approach[b, event]
        junction = self.approach_junction[self.agent_world, app]
        ready = (self.ego_claim_event >= 0) & (
            self.step_count[self.agent_world] - self.ego_wait_since >= self.stop_steps
        )
        n = self.veh_s.shape[1]
        key = self.ego_wait_since * self.claim_base + n + 1 + b % self.num_agents
        ready &= self.present & ~self.finished
        return np.where(ready, junction, -1), key

    @property
    def claim_base(self) -> int:
        """Stop-sign keys are ``arrival step * claim_base + car``: NPCs 0..N-1, then the
        controlled cars from N + 1."""
        return self.veh_s.shape[1] + 1 + self.num_agents

    def car_in_junction(self) -> np.ndarray:
        """(C, J) 1 where a controlled car (still in the world) is inside a junction."""
        half = 0.5 * self.config.car_length_m
        jn = self.junction_cycle.shape[1]
        s = self.s_m[:, None]
        # The car occupies a junction from its front bumper entering to its rear bumper
        # (plus a margin) leaving: its centre alone would free the box too early. A
        # bumper up to EGO_OVER_LINE_M over the line still stands at it (the stop-sign
        # stretch): counting it inside barred every other car from a box it waited to
        # enter, while it waited for their turn.
        inside = (self.route_connector_start_s < s + half - EGO_OVER_LINE_M) & (
            self.route_connector_end_s > s - half - EGO_JUNCTION_MARGIN_M
        )  # (C, K)
        inside &= self.present[:, None]
        rows, cols = np.nonzero(inside)
        out = np.zeros(self.num_cars * jn, dtype=np.int64)
        np.add.at(out, rows * jn + self.route_connector_junction[rows, cols], 1)
        return out.reshape(self.num_cars, jn)

    def junction_occupancy(self, include_ego: bool) -> np.ndarray:
        """Cars (B, J) inside each junction or cleared to enter it (the controlled cars
        too with ``include_ego``)."""
        batch, jn = self.junction_cycle.shape
        b = np.arange(batch)[:, None]
        lane0 = self.veh_lane[..., 0]
        inside = self.lane_is_connector[b, lane0]
        junction = np.where(inside, self.lane_junction[b, lane0], self.veh_stop_junction)
        counted = inside | (self.veh_committed & (self.veh_stop_junction >= 0))
        occupancy = np.zeros(batch * jn, dtype=np.int64)
        np.add.at(occupancy, (b * jn + np.maximum(junction, 0))[counted], 1)
        occupancy = occupancy.reshape(batch, jn)
        if include_ego:
            occupancy += self.car_in_junction().reshape(batch, self.num_agents, jn).sum(axis=1)
        return occupancy
