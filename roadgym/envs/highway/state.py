"""The state of a batch of B highways: every array the step reads and writes, and the
road geometry queries that the step, the observations and the expert share.

Positions on the road are ``(s, d)``: arc length along the reference line (the centre
of lane 0) and lateral offset, + left. NPC cars live in these coordinates; the ego car
is a bicycle model in world coordinates, projected onto the reference line every step.
The step modules (``traffic``, ``ego``) and the observations take a
:class:`HighwayState`; this module imports none of them.
"""

from __future__ import annotations

import math

import numpy as np

from roadgym.envs.core.camera import EgoCamera
from roadgym.envs.core.dynamics import CarLimits, CarState
from roadgym.envs.core.frame_stack import FrameHistory
from roadgym.envs.core.sprites import ActorSplatter, box_samples
from roadgym.envs.highway.config import HighwayConfig
from roadgym.envs.highway.generator import (
    SAMPLE_SPACING_M,
    HighwayMap,
    ramp_offset_m,
)

NO_LANE = -1


class HighwayState:
    """B independent highways' arrays: road, ego car, NPC cars, episode metrics.

    NPC arrays are (B, N); indices N .. N + A - 1 of the ``veh_*`` arrays (B, N + A) are
    the A controlled cars (``num_agents``; the ego car when A = 1), so the car following
    code sees every car, the controlled ones included, in one set of arrays. Arrays of
    the controlled cars (``car``, ``ego_*``, ``crashed``, ...) are flat (B * A,), world
    major: car ``k`` is agent ``k % A`` of world ``k // A`` (``agent_world``), at veh
    index ``agent_slot[k]``.
    """

    def __init__(self, config: HighwayConfig, batch_size: int) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size = {batch_size}; allowed: an int >= 1")
        cfg = self.config = config
        self.batch_size = batch = batch_size
        self.observation_modes = config.modes()
        self.limits = CarLimits.from_config(cfg)
        self.lanes_count = cfg.lanes_count
        self.lane_width_m = cfg.lane_width_m
        self.max_lane = cfg.lanes_count if cfg.on_ramp else cfg.lanes_count - 1
        # The lane group no car sees (traffic's "no second lane"): removed cars go there.
        self.hidden_lane = self.max_lane + 1
        self.maps: list[HighwayMap | None] = [None] * batch

        vertices = math.ceil(cfg.road_length_m / SAMPLE_SPACING_M) + 1
        self.ref_xy = np.zeros((batch, vertices, 2))
        self.ref_normal = np.zeros((batch, vertices, 2))
        self.ref_cum_s = np.tile(np.arange(vertices) * SAMPLE_SPACING_M, (batch, 1))
        self.ref_heading = np.zeros((batch, vertices - 1))  # per segment
        self.ref_curvature = np.zeros((batch, vertices))
        self.num_segments = vertices - 1
        # Each segment's start, direction and squared length: the ego projection's inputs.
        self.seg_start_x = np.zeros((batch, vertices - 1))
        self.seg_start_y = np.zeros((batch, vertices - 1))
        self.seg_dir_x = np.zeros((batch, vertices - 1))
        self.seg_dir_y = np.zeros((batch, vertices - 1))
        self.seg_length_sq = np.ones((batch, vertices - 1))
        self.road_length_m = (vertices - 1) * SAMPLE_SPACING_M
        inf = np.full(batch, np.inf)
        self.ramp_start_s = inf.copy()
        self.ramp_join_s = inf.copy()
        self.ramp_end_s = inf.copy()
        self.world_key = np.zeros(batch, dtype=np.uint64)

        # Cars: NPCs 0..N-1 and the controlled cars at N..N+A-1 of every veh_* array.
        n = cfg.vehicles_count
        agents = self.num_agents = cfg.num_agents
        self.num_npcs = n
        self.num_cars = cars = batch * agents  # controlled cars of all worlds
        self.agent_world = np.repeat(np.arange(batch), agents)  # (B * A,)
        self.agent_slot = n + np.tile(np.arange(agents), batch)  # (B * A,) veh index
        self.veh_s = np.zeros((batch, n + agents))
        self.veh_d = np.zeros((batch, n + agents))
        self.veh_speed = np.zeros((batch, n + agents))  # along the road (m/s)
        self.veh_heading_error = np.zeros((batch, n + agents))  # to the road, + left (rad)
        self.veh_desired_mps = np.ones((batch, n + agents))
        self.veh_lane = np.zeros((batch, n + agents), dtype=np.int64)  # lane in / going to
        self.veh_from_lane = np.full((batch, n + agents), NO_LANE, dtype=np.int64)

        self.car = CarState.zeros(cars)
        # frame_stack > 1: each controlled car's last frames of every mode, stacked
        # (roadgym.envs.core.frame_stack).
        self.history = FrameHistory(cfg.frame_stack, cars) if cfg.frame_stack > 1 else None
        self.ego_segment = np.zeros(cars, dtype=np.int64)
        self.ego_target_lane = np.zeros(cars, dtype=np.int64)
        self.ego_speed_index = np.zeros(cars, dtype=np.int64)
        self.ego_start_s = np.zeros(cars)
        self.crashed = np.zeros(cars, dtype=bool)
        self.off_road = np.zeros(cars, dtype=bool)
        self.lane_changes = np.zeros(cars, dtype=np.int64)
        # Controlled cars that ended and were parked or removed (num_agents > 1), and
        # those still in the world (not removed).
        self.finished = np.zeros(cars, dtype=bool)
        self.present = np.ones(cars, dtype=bool)
        self.agent_collisions = np.zeros(cars, dtype=np.int64)  # with controlled cars
        self.controlled_collisions = np.zeros(batch, dtype=np.int64)  # pairs, per world
        self.npc_collisions = np.zeros(batch, dtype=np.int64)
        self.npc_overlaps = np.zeros(batch, dtype=np.int64)  # pairs overlapping last step
        self.sim_steps = np.zeros(batch, dtype=np.int64)
        self.time_s = np.zeros(batch)
        self.ego_lane_index = np.zeros(cars, dtype=np.int64)
        self.entry_order: np.ndarray | None = None  # last step's sort of the lane entries

        # Projection window of the ego car: one step of travel and a margin.
        reach = cfg.top_speed_mps * cfg.dt_s + 2 * cfg.car_length_m
        half = math.ceil(reach / SAMPLE_SPACING_M) + 1
        self.window = np.arange(-half, half + 1)

        mpp = cfg.meters_per_pixel
        self.camera = EgoCamera(
            cfg.camera_size_px, cfg.camera_ahead_fraction, cfg.car_length_m, cfg.car_width_m, mpp
        )
        self.view_ahead_m = cfg.camera_size_px * cfg.camera_ahead_fraction * mpp
        self.splatter = ActorSplatter(cfg.camera_size_px, cfg.camera_ahead_fraction, mpp)
        self.vehicle_samples = box_samples(cfg.car_length_m, cfg.car_width_m, 0.5 * mpp)
        # The map raster follows the ego car: drawn around it, redrawn when it nears an edge.
        self.raster_side_px = max(256, 4 * cfg.camera_size_px)
        self.rasters = np.zeros((0, 0, 0), np.uint8)  # allocated on the first camera frame
        # One raster per controlled car: the cars of a world may be far apart.
        self.raster_origin_m = np.zeros((cars, 2))  # (left_m, top_m)
        self.raster_centre_m = np.full((cars, 2), np.inf)  # inf: must be drawn

    # ------------------------------------------------------------------ geometry

    def store_segments(self, index: int) -> None:
        """Keep the reference line segments of world ``index`` (after ``ref_xy`` is set)."""
        xy = self.ref_xy[index]
        start, end = xy[:-1], xy[1:]
        self.seg_start_x[index], self.seg_start_y[index] = start[:, 0], start[:, 1]
        dir_x, dir_y = end[:, 0] - start[:, 0], end[:, 1] - start[:, 1]
        self.seg_dir_x[index], self.seg_dir_y[index] = dir_x, dir_y
        self.seg_length_sq[index] = np.maximum(dir_x * dir_x + dir_y * dir_y, 1e-12)

    def lane_centre_d(self, b: np.ndarray, lane: np.ndarray, s: np.ndarray) -> np.ndarray:
        """Lateral offset (m) of the centre of ``lane`` at ``s`` in worlds ``b`` (broadcast)."""
        main = -lane * self.lane_width_m
        if not self.config.on_ramp:
            return main.astype(np.float64)
        ramp = ramp_offset_m(s, self.lanes_count, self.lane_width_m, self.ramp_join_s[b])
        return np.where(lane >= self.lanes_count, ramp, main)

    def ramp_beside(self, b: np.ndarray, s: np.ndarray) -> np.ndarray:
        """Whether the ramp lane runs beside the main road at ``s`` (a lane change away)."""
        return (s >= self.ramp_join_s[b]) & (s <= self.ramp_end_s[b])

    def drivable(self, b: np.ndarray, s: np.ndarray, d: np.ndarray) -> np.ndarray:
        """Whether road point ``(s, d)`` of worlds ``b`` is on the road (broadcast)."""
        w = self.lane_width_m
        inside = (s >= 0.0) & (s <= self.road_length_m)
        main = (d <= 0.5 * w) & (d >= -(self.lanes_count - 0.5) * w)
        if self.config.on_ramp:
            on = (s >= self.ramp_start_s[b]) & (s <= self.ramp_end_s[b])
            centre = ramp_offset_m(s, self.lanes_count, w, self.ramp_join_s[b])
            main = main | (on & (np.abs(d - centre) <= 0.5 * w))
        return inside & main

    def lane_of(self, b: np.ndarray, s: np.ndarray, d: np.ndarray) -> np.ndarray:
        """The lane whose centre is nearest to ``(s, d)`` (the ramp where it is present)."""
        nearest = np.rint(-d / self.lane_width_m)  # np.clip, np.round: slower, same result
        lane = np.minimum(np.maximum(nearest, 0), self.lanes_count - 1).astype(np.int64)
        if self.config.on_ramp:
            on = (s >= self.ramp_start_s[b]) & (s <= self.ramp_end_s[b])
            beyond = d < -(self.lanes_count - 0.5) * self.lane_width_m
            lane = np.where(on & beyond, self.lanes_count, lane)
        return lane

    def road_frame(self, b: np.ndarray, s: np.ndarray):
        """Reference points (..., 2), left normals (..., 2) and headings (...) at ``s``."""
        u = np.minimum(np.maximum(s, 0.0), self.road_length_m - 1e-6) / SAMPLE_SPACING_M
        index = np.minimum(u.astype(np.int64), self.num_segments - 1)
        t = (u - index)[..., None]
        p0, p1 = self.ref_xy[b, index], self.ref_xy[b, index + 1]
        n0, n1 = self.ref_normal[b, index], self.ref_normal[b, index + 1]
        return p0 + t * (p1 - p0), n0 + t * (n1 - n0), self.ref_heading[b, index]

    def road_to_world(self, b: np.ndarray, s: np.ndarray, d: np.ndarray):
        """World points (..., 2) and road headings (...) of road points ``(s, d)``."""
        point, normal, heading = self.road_frame(b, s)
        return point + d[..., None] * normal, heading

    def own(self, array: np.ndarray, cars: np.ndarray | None = None) -> np.ndarray:
        """The controlled cars' entries (C,) of a ``veh_*`` array (B, N + A): all B * A
        cars when ``cars`` is None (a view for A = 1), else those of ``cars``."""
        if cars is None:
            if self.num_agents == 1:
                return array[:, self.num_npcs]
            return array[self.agent_world, self.agent_slot]
        return array[self.agent_world[cars], self.agent_slot[cars]]

    def set_own(self, array: np.ndarray, value: np.ndarray, cars: np.ndarray | None = None):
        """Write the controlled cars' entries of a ``veh_*`` array (see :meth:`own`)."""
        if cars is None:
            if self.num_agents == 1:
                array[:, self.num_npcs] = value
            else:
                array[self.agent_world, self.agent_slot] = value
        else:
            array[self.agent_world[cars], self.agent_slot[cars]] = value

    def world_cars(self, worlds: np.ndarray) -> np.ndarray:
        """The controlled cars (W * A,) of ``worlds`` (W,), in order."""
        a = self.num_agents
        return (np.asarray(worlds)[:, None] * a + np.arange(a)[None, :]).reshape(-1)

    def others(self, array: np.ndarray) -> np.ndarray:
        """Every other car's entries as each controlled car sees them: (B, N) NPCs for
        A = 1, else (B * A, N + A) all cars of its world (mask with :meth:`others_valid`)."""
        if self.num_agents == 1:
            return array[:, : self.num_npcs]
        return array[self.agent_world]

    def others_valid(self) -> np.ndarray | None:
        """Which of :meth:`others` exist for each controlled car (not itself, not removed);
        None for A = 1 (all NPCs)."""
        if self.num_agents == 1:
            return None
        n, a = self.num_npcs, self.num_agents
        valid = np.ones((self.num_cars, n + a), dtype=bool)
        valid[:, n:] = self.present.reshape(self.batch_size, a)[self.agent_world]
        valid[np.arange(self.num_cars), self.agent_slot] = False
        return valid

    def vehicle_poses(self) -> tuple[np.ndarray, np.ndarray]:
        """World positions (B, N, 2) and headings (B, N) of the NPC cars."""
        b = np.arange(self.batch_size)[:, None]
        n = self.num_npcs
        xy, heading = self.road_to_world(b, self.veh_s[:, :n], self.veh_d[:, :n])
        return xy, heading + self.veh_heading_error[:, :n]

    def all_poses(self) -> tuple[np.ndarray, np.ndarray]:
        """World positions (B, N + A, 2) and headings (B, N + A) of every car."""
        xy, heading = self.vehicle_poses()
        car, a = self.car, self.num_agents
        own_xy = self.ego_xy().reshape(self.batch_size, a, 2)
        own_heading = car.heading_rad.reshape(self.batch_size, a)
        return (
            np.concatenate([xy, own_xy], axis=1),
            np.concatenate([heading, own_heading], axis=1),
        )

    def ego_xy(self) -> np.ndarray:
        """Controlled car centres (B * A, 2)."""
        return np.stack([self.car.x_m, self.car.y_m], axis=-1)
