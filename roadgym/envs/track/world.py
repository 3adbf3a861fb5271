"""A batch of B race-track worlds stepped together with array operations.

This is the simulator behind ``roadgym/Track-v0``: the single env is the batch of one,
the vector env the batch of N. Resetting a world builds its track (Python, once per
episode); stepping all worlds touches no Python loop over worlds.
"""

from __future__ import annotations

import math

import numpy as np

from roadgym.envs.core.camera import EgoCamera
from roadgym.envs.core.dynamics import CarLimits, CarState, car_corners, step_bicycle
from roadgym.envs.core.frame_stack import FrameHistory
from roadgym.envs.core.lane_graph import project_onto_window, wrap_angle
from roadgym.envs.core.map_raster import check_raster_budget
from roadgym.envs.core.semantic import SemanticClass
from roadgym.envs.core.stall import StallClock
from roadgym.envs.track.config import TrackConfig
from roadgym.envs.track.generator import (
    SAMPLE_SPACING_M,
    TrackMap,
    generate_track,
    max_track_extent_m,
)
from roadgym.envs.track.raster import draw_track, raster_frame

ROAD_LAYOUT_CLASSES = ("straight", "curve_left", "curve_right")
LABEL_NAMES = {"road_layout": ROAD_LAYOUT_CLASSES}  # perception task -> class names
ROAD_LAYOUT_TURN_RAD = 0.3  # turning over the view ahead above which the road is a curve
STATE_FIELDS = ("speed_fraction", "lateral_offset_fraction", "heading_error_rad", "steer_fraction")
STATE_LOW = np.array([0.0, -2.0, -np.pi, -1.0])
STATE_HIGH = np.array([1.0, 2.0, np.pi, 1.0])
# Curvature entries follow, clipped to [-1, 1] 1/m (tracks never bend tighter than 0.5).
RASTER_MARGIN_M = 30.0


class TrackWorld:
    """B independent tracks with one ego car each."""

    LABEL_NAMES = LABEL_NAMES

    def __init__(self, config: TrackConfig, batch_size: int) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size = {batch_size}; allowed: an int >= 1")
        self.config = config
        self.batch_size = batch_size
        self.observation_modes = config.modes()
        self.limits = CarLimits.from_config(config)
        mpp = config.meters_per_pixel
        self.raster_side_px = math.ceil((max_track_extent_m(config) + 2 * RASTER_MARGIN_M) / mpp)
        check_raster_budget(
            self.raster_side_px, batch_size, "TrackConfig", "track_length_max_m, lane_width_m"
        )
        self.rasters = np.zeros((batch_size, self.raster_side_px, self.raster_side_px), np.uint8)
        self.raster_origin_m = np.zeros((batch_size, 2))  # (left_m, top_m) per world
        self.camera = EgoCamera(
            config.camera_size_px,
            config.camera_ahead_fraction,
            config.car_length_m,
            config.car_width_m,
            mpp,
        )
        self.view_ahead_m = config.camera_size_px * config.camera_ahead_fraction * mpp

        # The road centreline of every world, padded to the longest possible track.
        max_segments = math.ceil(config.track_length_max_m / SAMPLE_SPACING_M) + 2
        self.centre_vertices = np.zeros((batch_size, max_segments + 1, 2))
        self.centre_cum_s = np.zeros((batch_size, max_segments + 1))
        self.centre_heading = np.zeros((batch_size, max_segments))
        self.centre_curvature = np.zeros((batch_size, max_segments + 1))
        self.num_segments = np.ones(batch_size, dtype=np.int64)
        self.track_length_m = np.ones(batch_size)
        self.road_half_width_m = np.ones(batch_size)
        self.tracks: list[TrackMap | None] = [None] * batch_size

        # Projection window: far enough to cover one step of travel and the car's corners.
        reach_m = (
            config.top_speed_mps * config.dt_s
            + config.car_length_m
            + config.num_lanes * config.lane_width_m
        )
        half_window = math.ceil(reach_m / SAMPLE_SPACING_M) + 2
        self.window = np.arange(-half_window, half_window + 1)  # (K,)

        self.car = CarState.zeros(batch_size)
        self.segment = np.zeros(batch_size, dtype=np.int64)  # centreline segment of the car
        self.s_m = np.zeros(batch_size)  # arc length of the car on the centreline
        self.lateral_offset_m = np.zeros(batch_size)
        self.heading_error_rad = np.zeros(batch_size)
        self.progress_m = np.zeros(batch_size)
        self.off_road = np.zeros(batch_size, dtype=bool)
        self.stall = StallClock(batch_size, config.stall_timeout_s, config.dt_s)
        self.stalled = np.zeros(batch_size, dtype=bool)
        # Stacking lives here so the single and the vector env share one implementation.
        self.history = (
            FrameHistory(config.frame_stack, batch_size) if config.frame_stack > 1 else None
        )

    # ------------------------------------------------------------------ reset

    def reset_world(self, index: int, rng: np.random.Generator) -> None:
        """Draw a new track for world ``index`` from ``rng`` and put the car at the start."""
        cfg = self.config
        track = generate_track(rng, cfg)
        self.tracks[index] = track
        centre = track.centreline
        m = centre.num_segments
        self.centre_vertices[index, : m + 1] = centre.vertices
        self.centre_cum_s[index, : m + 1] = centre.cum_s
        self.centre_heading[index, :m] = centre.segment_headings
        self.centre_curvature[index, : m + 1] = centre.vertex_curvature
        self.num_segments[index] = m
        self.track_length_m[index] = centre.length
        self.road_half_width_m[index] = track.road_half_width_m

        frame = raster_frame(track, self.raster_side_px, cfg.meters_per_pixel)
        self.raster_origin_m[index] = (frame.left_m, frame.top_m)
        raster = self.rasters[index]
        raster.fill(SemanticClass.GRASS)
        draw_track(raster, track, frame)

        lane = track.lane_graph[int(rng.integers(len(track.lane_graph)))]
        start = lane.centreline.point_at(np.array(0.0))
        self.car.x_m[index], self.car.y_m[index] = start
        self.car.heading_rad[index] = lane.centreline.heading_at(np.array(0.0))
        self.car.speed_mps[index] = 0.0
        self.car.steer_rad[index] = 0.0
        self.segment[index] = 0
        self.progress_m[index] = 0.0
        self.off_road[index] = False
        self.stall.reset(index, 0.0)
        self.stalled[index] = False
        self._locate(np.array([index]))
        if self.history is not None:
            self.history.mark_reset(index)

    # ------------------------------------------------------------------ step

    def step(self, controls: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Advance all worlds by one env step under ``controls`` (B, 2) = [steer, throttle].

        Controls must already be finite and within [-1, 1]. One env step is
        ``config.action_repeat`` simulation steps of ``dt_s`` under the same controls; a
        world whose episode ends part-way stops there (its later sub-steps are skipped).
        Returns ``(reward, terminated)``, each (B,), the reward summed over the sub-steps;
        per-world details are in the attributes and :meth:`infos`.
        """
        reward, terminated = self._advance(controls, None)
        for _ in range(self.config.action_repeat - 1):
            running = np.flatnonzero(~terminated)
            if len(running) == 0:
                break
            sub_reward, sub_terminated = self._advance(controls[running], running)
            reward[running] += sub_reward
            terminated[running] = sub_terminated
        if self.history is not None:
            self.history.mark_step()
        return reward, terminated

    def _advance(
        self, controls: np.ndarray, worlds: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """One simulation step of ``worlds`` (indices; all when None) under ``controls``
        (W, 2); their ``(reward, terminated)``, each (W,)."""
        cfg = self.config
        index = slice(None) if worlds is None else worlds
        car = self.car
        if worlds is None:
            step_bicycle(car, controls[:, 0], controls[:, 1], self.limits, cfg.dt_s)
        else:  # fancy indexing copies: step the chosen cars, then write them back
            chosen = CarState(
                car.x_m[worlds],
                car.y_m[worlds],
                car.heading_rad[worlds],
                car.speed_mps[worlds],
                car.steer_rad[worlds],
            )
            step_bicycle(chosen, controls[:, 0], controls[:, 1], self.limits, cfg.dt_s)
            for name in ("x_m", "y_m", "heading_rad", "speed_mps", "steer_rad"):
                getattr(car, name)[worlds] = getattr(chosen, name)
        previous_s = self.s_m[index].copy()
        self._locate(worlds)
        length = self.track_length_m[index]
        delta_s = (self.s_m[index] - previous_s + 0.5 * length) % length - 0.5 * length
        previous_progress = np.minimum(self.progress_m[index], length)
        self.progress_m[index] += delta_s
        progress_m = self.progress_m[index]
        progress_reward = cfg.lap_reward * (np.minimum(progress_m, length) - previous_progress)
        # Net progress: driving the wrong way undoes it, so it never counts twice.
        stalled = self.stall.update(progress_m, worlds)
        self.stalled[index] = stalled
        off_road = self.off_road[index]
        reward = (
            progress_reward / length
            - cfg.step_penalty
            - cfg.off_road_penalty * off_road
            - cfg.stall_penalty * stalled
        )
        terminated = off_road | (progress_m >= length) | stalled
        return reward, terminated

    @property
    def lap_completed(self) -> np.ndarray:
        return self.progress_m >= self.track_length_m

    def _locate(self, worlds: np.ndarray | None) -> None:
        """Project the car centre and corners of ``worlds`` (all when None) onto their
        centrelines."""
        index = slice(None) if worlds is None else worlds  # a slice indexes without copies
        state = self.car
        x, y, heading = state.x_m[index], state.y_m[index], state.heading_rad[index]
        centre = np.stack([x, y], axis=-1)[:, None, :]  # (W, 1, 2)
        corners = car_corners(x, y, heading, self.config.car_length_m, self.config.car_width_m)
        points = np.concatenate([centre, corners], axis=1)  # (W, 5, 2)
        segments = (self.segment[index, None] + self.window[None, :]) % self.num_segments[
            index, None
        ]  # (W, K)
        s, lateral, segment = project_onto_window(
            self.centre_vertices[index], self.centre_cum_s[index], points, segments
        )
        self.s_m[index] = s[:, 0] % self.track_length_m[index]
        self.lateral_offset_m[index] = lateral[:, 0]
        self.segment[index] = segment[:, 0]
        road_heading = np.take_along_axis(self.centre_heading[index], segment[:, :1], axis=1)
        self.heading_error_rad[index] = wrap_angle(state.heading_rad[index] - road_heading[:, 0])
        self.off_road[index] = np.any(
            np.abs(lateral[:, 1:]) > self.road_half_width_m[index, None], axis=1
        )

    # ------------------------------------------------------------------ observe

    def _index_ahead(self, distance_m: np.ndarray) -> np.ndarray:
        """Centreline vertex (B, D) nearest to ``distance_m`` (D,) ahead of each car."""
        s = self.s_m[:, None] + distance_m[None, :]  # (B, D)
        fraction = (s % self.track_length_m[:, None]) / self.track_length_m[:, None]
        return np.minimum(
            np.round(fraction * self.num_segments[:, None]).astype(np.int64),
            self.num_segments[:, None] - 1,
        )

    def state_vector(self, worlds: np.ndarray | None = None) -> np.ndarray:
        """The ``state`` observation (W, 4 + D) float32 of ``worlds`` (all when None).

        See STATE_FIELDS and the README.
        """
        lookahead = np.asarray(self.config.curvature_lookahead_m)
        index = self._index_ahead(lookahead)
        curvature = np.take_along_axis(self.centre_curvature, index, axis=1)  # (B, D)
        head = np.stack(
            [
                self.car.speed_mps / self.config.top_speed_mps,
                self.lateral_offset_m / self.road_half_width_m,
                self.heading_error_rad,
                self.car.steer_rad / self.config.max_steer_rad,
            ],
            axis=-1,
        )
        head = np.clip(head, STATE_LOW, STATE_HIGH)
        state = np.concatenate([head, np.clip(curvature, -1.0, 1.0)], axis=-1).astype(np.float32)
        return state if worlds is None else state[worlds]  # (W, 4 + D): cheap for all B

    def semantic_view(self, worlds: np.ndarray | None = None) -> np.ndarray:
        """The camera's class ids (W, H, W) uint8 of ``worlds`` (all when None)."""
        mpp = self.config.meters_per_pixel
        index = slice(None) if worlds is None else worlds
        col = (self.car.x_m[index] - self.raster_origin_m[index, 0]) / mpp
        row = (self.raster_origin_m[index, 1] - self.car.y_m[index]) / mpp
        return self.camera.semantic(self.rasters, col, row, self.car.heading_rad[index], worlds)

    def observe(self, worlds: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """Every configured observation mode of ``worlds`` (all when None): mode -> (W, ...).

        With ``frame_stack`` > 1 these are the stacks of the last frames; call it after
        every step (and after resets) so that no frame is missed.
        """
        out: dict[str, np.ndarray] = {}
        if "rgb" in self.observation_modes or "semantic" in self.observation_modes:
            semantic = self.semantic_view(worlds)
            if "rgb" in self.observation_modes:
                out["rgb"] = self.camera.rgb(semantic)
            if "semantic" in self.observation_modes:
                out["semantic"] = semantic
        if "state" in self.observation_modes:
            out["state"] = self.state_vector(worlds)
        if self.history is not None:
            out = self.history.push(out, worlds)
        return out

    def road_layout(self) -> np.ndarray:
        """Label (B,) of the road in view ahead: index into ROAD_LAYOUT_CLASSES."""
        index = self._index_ahead(np.array([0.0, self.view_ahead_m]))
        heading = np.take_along_axis(self.centre_heading, index, axis=1)  # (B, 2)
        turn = wrap_angle(heading[:, 1] - heading[:, 0])
        return np.where(np.abs(turn) < ROAD_LAYOUT_TURN_RAD, 0, np.where(turn > 0, 1, 2)).astype(
            np.int64
        )

    def infos(self) -> dict[str, np.ndarray]:
        """Per-world metrics, batched: name -> (B,) array."""
        return {
            "progress": np.clip(self.progress_m / self.track_length_m, 0.0, 1.0),
            "lap_completed": self.lap_completed.copy(),
            "off_road": self.off_road.copy(),
            "stalled": self.stalled.copy(),
            "speed_mps": self.car.speed_mps.copy(),
            "lateral_offset_m": self.lateral_offset_m.copy(),
        }

    def labels(self) -> dict[str, np.ndarray]:
        """Perception labels, batched: task -> (B,) class ids (see LABEL_NAMES)."""
        return {"road_layout": self.road_layout()}
