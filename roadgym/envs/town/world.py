"""A batch of B towns stepped together with array operations: ``roadgym/Town-v0``'s core.

Each world holds a procedural town, an ego car with a planned route, N NPC cars, P
pedestrians and the traffic lights. Resetting a world builds its town and route (Python,
once per episode); a step advances every world, car, pedestrian and light with array
operations over the batch (no Python loop over worlds or actors).
"""

from __future__ import annotations

import numpy as np

from roadgym.envs.core.dynamics import step_bicycle
from roadgym.envs.core.lane_graph import project_onto_window, wrap_angle
from roadgym.envs.core.semantic import SemanticClass
from roadgym.envs.town import ego, packing
from roadgym.envs.town.generator import generate_town
from roadgym.envs.town.pedestrians import step_pedestrians
from roadgym.envs.town.raster import draw_route, draw_town, light_bar_pixels, town_frame
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
        """Draw a new town and route for world ``index`` from ``rng``; place every actor."""
        cfg = self.config
        if self.history is not None:
            self.history.mark_reset(index)
        town = generate_town(rng, cfg)
        route = sample_route(rng, town, cfg.route_length_min_m, cfg.route_length_max_m)
        self.towns[index], self.routes[index] = town, route
        frame = town_frame(town, self.raster_side_px, cfg.meters_per_pixel)
        self.raster_origin_m[index] = (frame.left_m, frame.top_m)
        raster = self.rasters[index]
        raster.fill(SemanticClass.GRASS)
        draw_town(raster, town, frame)
        draw_route(raster, route, frame)
        packing.pack_lanes(self, index, town)
        packing.pack_control(self, index, town, light_bar_pixels(town, frame, self.raster_side_px))
        packing.pack_route(self, index, route)
        packing.pack_sidewalks(self, index, town)
        self.world_key[index] = np.uint64(rng.integers(0, 2**63 - 1))
        self.step_count[index] = 0
        start = route.line.vertices[0]
        self.car.x_m[index], self.car.y_m[index] = start
        self.car.heading_rad[index] = route.line.segment_headings[0]
        self.car.speed_mps[index] = 0.0
        self.car.steer_rad[index] = 0.0
        self.route_segment[index] = 0
        self.ego_claim_event[index] = -1
        self.ego_wait_since[index] = BIG_STEP
        for array in self.metrics.values():
            array[index] = 0
        packing.spawn_vehicles(self, index, town, rng)
        packing.spawn_pedestrians(self, index, town, rng)
        self._locate(np.array([index]))
        self.stall.reset(index, self.s_m[index])
        self._place_actors()
        if self.light_state.shape[1] >= self.light_pixels.shape[1]:
            self.light_state[index] = -1  # unknown: forces a repaint of this world's lights
        self._update_lights()

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
            self._raster_buffer[self.light_pixels[changed]] = LIGHT_CLASS[state[changed]][:, None]
        self.light_state = state
        return state

    # ------------------------------------------------------------------ step

    def step(self, controls: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Advance all worlds by one step under ego ``controls`` (B, 2) = [steer, throttle].

        Controls must already be finite and within [-1, 1]. Returns ``(reward,
        terminated)``, each (B,); per-world details are in :meth:`infos`.
        """
        cfg = self.config
        self.step_count += 1
        if self.history is not None:
            self.history.mark_step()
        lights = self._update_lights()
        walk, walk_left = walk_signal(self)
        previous_s = self.s_m.copy()
        step_bicycle(self.car, controls[:, 0], controls[:, 1], self.limits, cfg.dt_s)
        self._locate(np.arange(self.batch_size))
        red, stop = ego.stop_line_events(self, previous_s, lights)
        step_vehicles(self, lights)
        step_pedestrians(self, walk, walk_left)
        return ego.reward_and_end(self, previous_s, red, stop)

    def _locate(self, worlds: np.ndarray) -> None:
        """Project the ego cars of ``worlds`` onto their routes (windowed, like Track)."""
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
        """The camera's class ids (B, H, W) uint8: map, route, lights, cars, pedestrians."""
        mpp = self.config.meters_per_pixel
        col = (self.car.x_m - self.raster_origin_m[:, 0]) / mpp
        row = (self.raster_origin_m[:, 1] - self.car.y_m) / mpp
        view = self.camera.semantic(self.rasters, col, row, self.car.heading_rad)
        ego_xy = self.ego_xy()
        heading = self.car.heading_rad
        # Pedestrians are drawn square to the image (their heading is the camera's): a
        # person seen from above has no long axis, and a tilted square of 2.5 px could
        # miss a full 3 x 3 block of pixels.
        self.splatter.splat(
            view,
            ego_xy,
            heading,
            self.ped_xy,
            np.broadcast_to(heading[:, None], self.ped_heading.shape),
            self.pedestrian_samples,
            SemanticClass.PEDESTRIAN,
        )
        self.splatter.splat(
            view,
            ego_xy,
            heading,
            self.veh_xy,
            self.veh_heading,
            self.vehicle_samples,
            SemanticClass.VEHICLE,
        )
        view[:, self.camera.ego_mask] = SemanticClass.EGO_CAR
        return view

    def observe(self, worlds: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """Every configured observation mode of ``worlds`` (all when None): mode -> (W, ...).

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
        """Per-world metrics, batched: name -> (B,) array."""
        return ego.infos(self)

    def labels(self) -> dict[str, np.ndarray]:
        """Perception labels, batched: name -> (B,) array (see ``LABEL_NAMES``)."""
        return ego.labels(self)
