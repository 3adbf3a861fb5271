"""A batch of B highways stepped together with array operations: the core of
``roadgym/Highway-v0`` and ``roadgym/Merge-v0``.

Resetting a world draws its road and places its traffic (Python, once per episode); a
step runs ``config.substeps`` simulation steps of every world, ego car and NPC car with
array operations over the batch (no Python loop over worlds or cars).
"""

from __future__ import annotations

import numpy as np

from roadgym.envs.core.dynamics import step_bicycle
from roadgym.envs.core.map_raster import PixelFrame
from roadgym.envs.core.semantic import SemanticClass
from roadgym.envs.highway import ego, observation
from roadgym.envs.highway.generator import (
    SAMPLE_SPACING_M,
    build_highways,
    draw_road,
    road_layout,
)
from roadgym.envs.highway.raster import draw_highway
from roadgym.envs.highway.spawn import agent_slots, draw_traffic, place_traffic
from roadgym.envs.highway.state import HighwayState
from roadgym.envs.highway.traffic import npc_overlaps, sort_entries, step_traffic


class HighwayWorld(HighwayState):
    """B independent highways, each with ``num_agents`` controlled cars and NPC traffic.

    The arrays live in :class:`HighwayState`; this class resets, steps and observes them.
    """

    LABEL_NAMES = observation.LABEL_NAMES  # perception task -> class names

    # ------------------------------------------------------------------ reset

    def reset_world(self, index: int, rng: np.random.Generator) -> None:
        """Draw a new road and traffic for world ``index`` from ``rng``."""
        self.reset_worlds(np.array([index]), [rng])

    def reset_worlds(self, indices: np.ndarray, rngs: list[np.random.Generator]) -> None:
        """Draw a new road and traffic for each world in ``indices`` from its generator.

        Each world draws from its own generator in the same order as alone, so a world
        is the same whatever others reset with it; the controlled cars are placed
        together.
        """
        cfg = self.config
        worlds = np.asarray(indices, dtype=np.int64)
        lanes = np.empty((len(worlds), self.num_agents), dtype=np.int64)
        starts = np.empty((len(worlds), self.num_agents))
        ego_start, ramp = road_layout(cfg)
        self.ramp_start_s[worlds], self.ramp_join_s[worlds], self.ramp_end_s[worlds] = (
            ramp or (np.inf,) * 3
        )
        road_draws, traffic_draws = [], []
        for k, (index, rng) in enumerate(zip(worlds.tolist(), rngs, strict=True)):
            road_draws.append(draw_road(rng, cfg))
            self.world_key[index] = np.uint64(rng.integers(0, 2**63 - 1))
            if cfg.ego_on_ramp:
                lane, s0 = cfg.lanes_count, self.ramp_start_s[index] + 20.0
            else:
                lane, s0 = int(rng.integers(cfg.lanes_count)), ego_start
            lanes[k], starts[k] = agent_slots(rng, cfg, lane, s0, ego_start)
            traffic_draws.append(draw_traffic(self, rng))
        place_traffic(self, worlds, traffic_draws, lanes, starts)
        # The roads' arrays, computed together (the traffic needs none of them).
        for index, hmap in zip(worlds.tolist(), build_highways(road_draws, cfg), strict=True):
            self.maps[index] = hmap
            self.ref_xy[index] = hmap.vertices
            self.store_segments(index)
            self.ref_normal[index] = hmap.normals
            self.ref_heading[index] = hmap.segment_heading
            self.ref_curvature[index] = hmap.curvature

        cars = self.world_cars(worlds)  # (W * A,)
        self.raster_centre_m[cars] = np.inf  # a new road: redraw the camera's raster
        on, lanes, starts = self.agent_world[cars], lanes.reshape(-1), starts.reshape(-1)
        d0 = self.lane_centre_d(on, lanes, starts)
        d1 = self.lane_centre_d(on, lanes, starts + 1.0)
        xy, heading = self.road_to_world(on, starts, d0)
        car = self.car
        car.x_m[cars], car.y_m[cars] = xy[:, 0], xy[:, 1]
        car.heading_rad[cars] = heading + np.arctan(d1 - d0)
        car.speed_mps[cars] = cfg.ego_initial_speed_mps
        car.steer_rad[cars] = 0.0
        self.ego_segment[cars] = (starts // SAMPLE_SPACING_M).astype(np.int64)
        self.ego_start_s[cars] = starts
        self.ego_target_lane[cars] = lanes
        speeds = np.asarray(cfg.target_speeds_mps)
        self.ego_speed_index[cars] = int(np.argmin(np.abs(speeds - cfg.ego_initial_speed_mps)))
        for array in (self.crashed, self.off_road, self.lane_changes, self.agent_collisions):
            array[cars] = 0
        self.finished[cars] = False
        self.present[cars] = True
        for array in (self.npc_collisions, self.controlled_collisions, self.npc_overlaps):
            array[worlds] = 0
        self.sim_steps[worlds] = 0
        self.time_s[worlds] = 0.0
        ego.locate_ego(self, cars)
        self.off_road[cars] = ~ego.ego_corners_on_road(self, cars)
        if self.history is not None:
            self.history.mark_reset(cars)

    # ------------------------------------------------------------------ step

    def step(self, controls: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Advance all worlds by one action: ``config.substeps`` simulation steps.

        ``controls`` are [steer, throttle] (B * A, 2), already checked, or for ``meta``
        the action indices (B * A,), one per controlled car. Returns ``(reward,
        terminated)``, each (B * A,). With several cars, those that ended on an earlier
        step are parked or removed first (``finished_agent_mode``) and ignore their
        controls.
        """
        cfg = self.config
        meta = cfg.action_type == "meta"
        if self.num_agents > 1:
            self._finish_ended()
        frozen = self.finished if self.num_agents > 1 and self.finished.any() else None
        changed = ego.apply_meta_actions(self, controls) if meta else None
        moved = np.zeros(self.num_cars, dtype=bool)
        for _ in range(cfg.substeps):
            command = ego.meta_controls(self) if meta else controls
            pose = None if frozen is None else self._pose()
            step_bicycle(self.car, command[:, 0], command[:, 1], self.limits, cfg.dt_s)
            if pose is not None:
                self._restore_pose(pose, frozen)
            lane_before = self.ego_lane_index.copy()
            ego.locate_ego(self)
            moved |= self.ego_lane_index != lane_before
            self.lane_changes += self.ego_lane_index != lane_before
            entries = sort_entries(self)
            overlaps = npc_overlaps(self, entries)
            self.npc_collisions += np.maximum(overlaps - self.npc_overlaps, 0)
            self.npc_overlaps = overlaps
            step_traffic(self, entries)
            if self.num_agents == 1:
                self.crashed |= ego.ego_collisions(self, skip=self.crashed)
            else:
                self._collide_agents()
            self.off_road |= ~ego.ego_corners_on_road(self)
            self.sim_steps += 1
            self.time_s += cfg.dt_s
        reward = ego.reward(self, changed if meta else moved)
        if self.history is not None:
            self.history.mark_step()
        return reward, self.crashed | self.off_road

    def _collide_agents(self) -> None:
        """Collisions of the controlled cars with NPCs and with each other."""
        ended = self.crashed | self.off_road | self.finished
        self.crashed |= ego.ego_collisions(self, skip=ended | ~self.present)
        hit, pairs = ego.agent_collisions(self, ended)
        live_hit = hit & ~ended
        self.crashed |= live_hit
        self.agent_collisions += live_hit
        self.controlled_collisions += pairs

    def _finish_ended(self) -> None:
        """Park or remove the controlled cars that ended on the last step."""
        newly = (self.crashed | self.off_road) & ~self.finished
        if not newly.any():
            return
        self.finished |= newly
        if self.config.finished_agent_mode == "park":
            self.car.speed_mps[newly] = 0.0
            self.set_own(self.veh_speed, 0.0, np.flatnonzero(newly))
        else:
            self.present &= ~newly

    def _pose(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        car = self.car
        return car.x_m.copy(), car.y_m.copy(), car.heading_rad.copy()

    def _restore_pose(self, pose: tuple[np.ndarray, ...], frozen: np.ndarray) -> None:
        """Put finished cars back where they stood, at speed 0."""
        car = self.car
        for array, before in zip((car.x_m, car.y_m, car.heading_rad), pose, strict=True):
            np.copyto(array, before, where=frozen)
        car.speed_mps[frozen] = 0.0

    @property
    def ended(self) -> np.ndarray:
        """Whether each world (B,) has no controlled car left driving."""
        ended = self.crashed | self.off_road | self.finished
        return ended.reshape(self.batch_size, self.num_agents).all(axis=1)

    @property
    def truncated(self) -> np.ndarray:
        """Whether each world (B,) has run for ``duration_s``."""
        return self.time_s >= self.config.duration_s - 1e-9

    # ------------------------------------------------------------------ observe

    def _ensure_rasters(self) -> None:
        """Redraw the camera raster of every controlled car that nears its edge."""
        cfg = self.config
        side, mpp = self.raster_side_px, cfg.meters_per_pixel
        if self.rasters.shape[0] != self.num_cars:
            self.rasters = np.zeros((self.num_cars, side, side), np.uint8)
        half_m = 0.5 * side * mpp
        limit = half_m - cfg.camera_size_px * mpp - 10.0  # the view stays inside
        offset = np.abs(self.ego_xy() - self.raster_centre_m).max(axis=1)
        own_s = self.own(self.veh_s)
        for i in np.flatnonzero(~(offset <= limit)):
            centre = self.ego_xy()[i]
            frame = PixelFrame(float(centre[0] - half_m), float(centre[1] + half_m), mpp)
            raster = self.rasters[i]
            raster.fill(SemanticClass.GRASS)
            s = float(own_s[i])
            reach = 0.75 * side * mpp  # the raster's half diagonal, and a margin
            draw_highway(raster, self.maps[self.agent_world[i]], frame, s - reach, s + reach)
            self.raster_origin_m[i] = (frame.left_m, frame.top_m)
            self.raster_centre_m[i] = centre

    def semantic_view(self) -> np.ndarray:
        """The cameras' class ids (B * A, H, W) uint8: the road and the cars on it."""
        self._ensure_rasters()
        mpp = self.config.meters_per_pixel
        car = self.car
        col = (car.x_m - self.raster_origin_m[:, 0]) / mpp
        row = (self.raster_origin_m[:, 1] - car.y_m) / mpp
        view = self.camera.semantic(self.rasters, col, row, car.heading_rad)
        if self.num_agents == 1:
            xy, heading = self.vehicle_poses()
            valid = None
        else:  # every other car of its world, the controlled ones still in it included
            xy, heading = self.all_poses()
            xy, heading = xy[self.agent_world], heading[self.agent_world]
            valid = self.others_valid()
        self.splatter.splat(
            view,
            self.ego_xy(),
            car.heading_rad,
            xy,
            heading,
            self.vehicle_samples,
            SemanticClass.VEHICLE,
            valid,
        )
        view[:, self.camera.ego_mask] = SemanticClass.EGO_CAR
        return view

    def observe(self, cars: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """Every configured observation mode of controlled cars ``cars`` (all when None;
        one per world for A = 1): mode -> (C, ...).

        With ``frame_stack`` > 1 these are the stacks of each car's last frames of every
        mode along its last axis, oldest first; call it after every step and reset.
        """
        if cars is not None:  # a few cars after a reset: cheap enough to slice
            return {mode: array[cars] for mode, array in self.observe().items()}
        modes = self.observation_modes
        out: dict[str, np.ndarray] = {}
        if "rgb" in modes or "semantic" in modes:
            semantic = self.semantic_view()
            if "rgb" in modes:
                out["rgb"] = self.camera.rgb(semantic)
            if "semantic" in modes:
                out["semantic"] = semantic
        if "state" in modes:
            out["state"] = observation.state_vector(self)
        if "kinematics" in modes:
            out["kinematics"] = observation.kinematics(self)
        if "occupancy_grid" in modes:
            out["occupancy_grid"] = observation.occupancy_grid(self)
        out = {mode: out[mode] for mode in modes}
        if self.history is not None:
            out = self.history.push(out, None)
        return out

    def infos(self) -> dict[str, np.ndarray]:
        """Per controlled car metrics, batched: name -> (B * A,) array (world metrics
        repeated for each car of the world)."""
        info = {
            "speed_mps": self.car.speed_mps.copy(),
            "crashed": self.crashed.copy(),
            "off_road": self.off_road.copy(),
            "lane_index": self.ego_lane_index.copy(),
            "lane_changes": self.lane_changes.copy(),
            "distance_m": self.own(self.veh_s) - self.ego_start_s,
            "npc_collisions": self.npc_collisions[self.agent_world],
        }
        if self.num_agents > 1:
            info["agent_collisions"] = self.agent_collisions.copy()
            info["controlled_collisions"] = self.controlled_collisions[self.agent_world]
        return info

    def labels(self) -> dict[str, np.ndarray]:
        """Perception labels, batched: task -> (B * A,) class ids (see ``LABEL_NAMES``)."""
        return observation.labels(self)
