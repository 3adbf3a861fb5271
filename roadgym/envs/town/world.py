"""A batch of B towns stepped together with array operations: ``roadgym/Town-v0``'s core.

Each world holds a procedural town, an ego car with a planned route, N NPC cars, P
pedestrians and the traffic lights. Resetting a world builds its town and route (Python,
once per episode); a step advances every world, car, pedestrian and light with array
operations over the batch (no Python loop over worlds or actors).
"""

from __future__ import annotations

import numpy as np

from roadgym.envs.core import kernels
from roadgym.envs.core.dynamics import step_bicycle
from roadgym.envs.core.lane_graph import project_onto_window, wrap_angle
from roadgym.envs.core.semantic import SemanticClass
from roadgym.envs.town import ego, packing
from roadgym.envs.town.generator import generate_town
from roadgym.envs.town.pedestrians import step_pedestrians
from roadgym.envs.town.raster import draw_route, draw_town, light_bar_table, town_frame
from roadgym.envs.town.routing import sample_route
from roadgym.envs.town.state import BIG_STEP, TownState
from roadgym.envs.town.traffic import (
    LIGHT_GREEN,
    LIGHT_RED,
    LIGHT_YELLOW,
    lane_pose,
    light_states,
    step_vehicles,
    walk_signal,
)

AGENT_START_GAP_M = 12.0  # controlled cars start at least this far apart ...
ROUTE_TRIES = 200  # ... found in this many route draws, or the config is refused
LIGHT_CLASS = np.zeros(4, dtype=np.uint8)  # light state -> class painted on its stop line
LIGHT_CLASS[[0, LIGHT_RED, LIGHT_YELLOW, LIGHT_GREEN]] = [
    SemanticClass.ROAD,
    SemanticClass.LIGHT_RED,
    SemanticClass.LIGHT_YELLOW,
    SemanticClass.LIGHT_GREEN,
]


class TownWorld(TownState):
    """B independent towns, each with an ego car, NPC traffic, pedestrians and lights.

    The arrays live in :class:`TownState`; this class resets, steps and observes them.
    """

    LABEL_NAMES = ego.LABEL_NAMES  # perception task -> class names

    # ------------------------------------------------------------------ reset

    def reset_world(self, index: int, rng: np.random.Generator) -> None:
        """Draw a new town and routes for world ``index`` from ``rng``; place every actor."""
        cfg = self.config
        cars = self.world_cars(np.array([index]))
        if self.history is not None:
            self.history.mark_reset(cars)
        town = generate_town(rng, cfg)
        routes = [sample_route(rng, town, cfg.route_length_min_m, cfg.route_length_max_m)]
        for _ in range(1, self.num_agents):
            routes.append(self._apart_route(rng, town, routes))
        self.towns[index] = town
        frame = town_frame(town, self.raster_side_px, cfg.meters_per_pixel)
        self.raster_origin_m[cars] = (frame.left_m, frame.top_m)
        first = self.rasters[cars[0]]
        first.fill(SemanticClass.GRASS)
        draw_town(first, town, frame)
        for car, route in zip(cars.tolist(), routes, strict=True):
            self.routes[car] = route
            if car != cars[0]:
                self.rasters[car] = first
        for car, route in zip(cars.tolist(), routes, strict=True):
            draw_route(self.rasters[car], route, frame)  # each car sees its own route
        packing.pack_lanes(self, index, town)
        packing.pack_control(self, index, town, light_bar_table(town, frame, self.raster_side_px))
        for car, route in zip(cars.tolist(), routes, strict=True):
            packing.pack_route(self, car, route)
        packing.pack_sidewalks(self, index, town)
        self.world_key[index] = np.uint64(rng.integers(0, 2**63 - 1))
        self.step_count[index] = 0
        for car, route in zip(cars.tolist(), routes, strict=True):
            self.car.x_m[car], self.car.y_m[car] = route.line.vertices[0]
            self.car.heading_rad[car] = route.line.segment_headings[0]
        self.car.speed_mps[cars] = 0.0
        self.car.steer_rad[cars] = 0.0
        self.route_segment[cars] = 0
        self.ego_claim_event[cars] = -1
        self.ego_wait_since[cars] = BIG_STEP
        for array in self.metrics.values():
            array[cars] = 0
        self.ended_cars[cars] = False
        self.finished[cars] = False
        self.present[cars] = True
        self.agent_collisions[cars] = 0
        self.controlled_collisions[index] = 0
        packing.spawn_vehicles(self, index, town, rng)
        packing.spawn_pedestrians(self, index, town, rng)
        self._locate(cars)
        self.stall.reset(cars, self.s_m[cars])
        self._place_actors()
        if self.light_state.shape[1] >= self.light_pixels.shape[1]:
            self.light_state[index] = -1  # unknown: forces a repaint of this world's lights
        self._update_lights()

    def _apart_route(self, rng: np.random.Generator, town, routes: list) -> object:
        """Another controlled car's route, starting clear of the cars placed so far."""
        cfg = self.config
        starts = np.array([r.line.vertices[0] for r in routes])
        for _ in range(ROUTE_TRIES):
            route = sample_route(rng, town, cfg.route_length_min_m, cfg.route_length_max_m)
            gap = np.hypot(*(starts - route.line.vertices[0]).T).min()
            if gap >= AGENT_START_GAP_M:
                return route
        raise packing.SpawnError(
            f"TownConfig.num_agents = {cfg.num_agents} cars do not fit in this town: car "
            f"{len(routes) + 1} found no route start {AGENT_START_GAP_M:g} m from the others in "
            f"{ROUTE_TRIES} tries; allowed: fewer num_agents or a larger town (grid_size)"
        )

    def _place_actors(self) -> None:
        """Poses of every NPC car and pedestrian from their lane / edge positions."""
        b = np.arange(self.batch_size)[:, None]
        self.veh_xy, self.veh_heading = lane_pose(self, b, self.veh_lane[..., 0], self.veh_s)
        start = self.walk_xy[b, self.ped_from]
        direction = self.walk_xy[b, self.ped_to] - start
        fraction = self.ped_progress_m / np.maximum(self.ped_edge_length_m, 1e-6)
        self.ped_xy = start + fraction[..., None] * direction
        self.ped_heading = np.arctan2(direction[..., 1], direction[..., 0])

    def _update_lights(self) -> np.ndarray:
        state = light_states(self)  # (B, Q)
        # Repaint the stop lines of lights that changed (padding hits the scratch pixel).
        if self.light_state.shape != state.shape:
            changed = np.ones(state.shape, dtype=bool)
        else:
            changed = state != self.light_state
        if changed.any():
            # Every controlled car's raster shows its world's lights.
            by_car, changed = self.by_car(state), self.by_car(changed)
            self._raster_buffer[self.light_pixels[changed]] = LIGHT_CLASS[by_car[changed]][:, None]
        self.light_state = state
        return state

    # ------------------------------------------------------------------ step

    def step(self, controls: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Advance all worlds by one step under ``controls`` (C, 2) = [steer, throttle],
        one per controlled car (C = B for one car a world).

        Controls must already be finite and within [-1, 1]. Returns ``(reward,
        terminated)``, each (C,); per-car details are in :meth:`infos`. With several cars
        a world, ``terminated`` says which have ended so far, and cars that ended on an
        earlier step are parked or removed first (``finished_agent_mode``).
        """
        cfg = self.config
        self.step_count += 1
        if self.history is not None:
            self.history.mark_step()
        lights = self._update_lights()
        walk, walk_left = walk_signal(self)
        previous_s = self.s_m.copy()
        frozen = None
        if self.num_agents > 1:
            self._finish_ended()
            frozen = self.finished if self.finished.any() else None
        car = self.car
        pose = None if frozen is None else (car.x_m.copy(), car.y_m.copy(), car.heading_rad.copy())
        step_bicycle(car, controls[:, 0], controls[:, 1], self.limits, cfg.dt_s)
        if pose is not None:  # finished cars stay where they ended
            for array, before in zip((car.x_m, car.y_m, car.heading_rad), pose, strict=True):
                np.copyto(array, before, where=frozen)
            car.speed_mps[frozen] = 0.0
        self._locate(np.arange(self.num_cars))
        red, stop = ego.stop_line_events(self, previous_s, lights)
        step_vehicles(self, lights)
        step_pedestrians(self, walk, walk_left)
        reward, terminated = ego.reward_and_end(self, previous_s, red, stop)
        if self.num_agents == 1:
            return reward, terminated
        self.ended_cars |= terminated
        return reward, self.ended_cars.copy()

    def _finish_ended(self) -> None:
        """Park or remove the controlled cars that ended on the last step."""
        newly = self.ended_cars & ~self.finished
        if not newly.any():
            return
        self.finished |= newly
        self.car.speed_mps[newly] = 0.0
        if self.config.finished_agent_mode == "remove":
            self.present &= ~newly

    def _locate(self, worlds: np.ndarray) -> None:
        """Project the controlled cars ``worlds`` (car indices) onto their routes."""
        if kernels.use_numba():  # the same arithmetic, car by car (roadgym[fast])
            from roadgym.envs.core.projection_kernel import locate_on_routes

            heading = locate_on_routes(
                self.route_xy,
                self.route_cum_s,
                self.route_heading,
                self.route_segments,
                self.window,
                self.car.x_m,
                self.car.y_m,
                np.asarray(worlds, dtype=np.int64),
                self.route_segment,
                self.s_m,
                self.lateral_offset_m,
            )
            self.heading_error_rad[worlds] = wrap_angle(self.car.heading_rad[worlds] - heading)
            return
        centre = np.stack([self.car.x_m[worlds], self.car.y_m[worlds]], -1)[:, None, :]
        segments = np.minimum(
            np.maximum(self.route_segment[worlds, None] + self.window[None, :], 0),
            self.route_segments[worlds, None] - 1,
        )  # (W, K)
        s, lateral, segment = project_onto_window(
            self.route_xy[worlds], self.route_cum_s[worlds], centre, segments
        )
        self.s_m[worlds] = s[:, 0]
        self.lateral_offset_m[worlds] = lateral[:, 0]
        self.route_segment[worlds] = segment[:, 0]
        heading = self.route_heading[worlds, segment[:, 0]]
        self.heading_error_rad[worlds] = wrap_angle(self.car.heading_rad[worlds] - heading)

    # ------------------------------------------------------------------ observe

    def semantic_view(self) -> np.ndarray:
        """The cameras' class ids (C, H, W) uint8: map, route, lights, cars, pedestrians."""
        mpp = self.config.meters_per_pixel
        col = (self.car.x_m - self.raster_origin_m[:, 0]) / mpp
        row = (self.raster_origin_m[:, 1] - self.car.y_m) / mpp
        view = self.camera.semantic(self.rasters, col, row, self.car.heading_rad)
        ego_xy = self.ego_xy()
        heading = self.car.heading_rad
        # Pedestrians are drawn square to the image (their heading is the camera's): a
        # person seen from above has no long axis, and a tilted square of 2.5 px could
        # miss a full 3 x 3 block of pixels.
        by_car = self.by_car
        self.splatter.splat(
            view,
            ego_xy,
            heading,
            by_car(self.ped_xy),
            np.broadcast_to(heading[:, None], (self.num_cars, self.ped_xy.shape[1])),
            self.pedestrian_samples,
            SemanticClass.PEDESTRIAN,
        )
        vehicles_xy, vehicles_heading, valid = by_car(self.veh_xy), by_car(self.veh_heading), None
        if self.num_agents > 1:  # the other controlled cars still in the world, too
            shape = (self.batch_size, self.num_agents)
            others_xy = ego_xy.reshape(*shape, 2)[self.agent_world]  # (C, A, 2)
            others_heading = heading.reshape(shape)[self.agent_world]
            vehicles_xy = np.concatenate([vehicles_xy, others_xy], axis=1)
            vehicles_heading = np.concatenate([vehicles_heading, others_heading], axis=1)
            valid = np.ones(vehicles_heading.shape, dtype=bool)
            others = self.present.reshape(shape)[self.agent_world]
            others[np.arange(self.num_cars), np.arange(self.num_cars) % self.num_agents] = False
            valid[:, self.veh_xy.shape[1] :] = others
        self.splatter.splat(
            view,
            ego_xy,
            heading,
            vehicles_xy,
            vehicles_heading,
            self.vehicle_samples,
            SemanticClass.VEHICLE,
            valid,
        )
        view[:, self.camera.ego_rows, self.camera.ego_cols] = SemanticClass.EGO_CAR  # its mask
        return view

    def observe(self, worlds: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """Every configured observation mode of controlled cars ``worlds`` (all when None;
        one per world for A = 1): mode -> (W, ...).

        With ``frame_stack`` > 1 these are the stacks of the last frames (oldest first).
        """
        if worlds is not None:  # a few worlds after a reset: cheap enough to slice
            return {mode: array[worlds] for mode, array in self.observe().items()}
        out: dict[str, np.ndarray] = {}
        if "rgb" in self.observation_modes or "semantic" in self.observation_modes:
            semantic = self.semantic_view()
            if "rgb" in self.observation_modes:
                out["rgb"] = self.camera.rgb(semantic)
            if "semantic" in self.observation_modes:
                out["semantic"] = semantic
        if "state" in self.observation_modes:
            out["state"] = ego.state_vector(self)
        if "nav" in self.observation_modes:
            out["nav"] = ego.nav_vector(self)
        if self.history is not None:
            out = self.history.push(out, None)
        return out

    def infos(self) -> dict[str, np.ndarray]:
        """Per controlled car metrics, batched: name -> (C,) array."""
        return ego.infos(self)

    def labels(self) -> dict[str, np.ndarray]:
        """Perception labels, batched: name -> (B,) array (see ``LABEL_NAMES``)."""
        return ego.labels(self)
