"""highway-env's observation types on a roadgym highway: their options and their arrays.

Each option set is a typed, validated config (:class:`BaseConfig`), built from the
observation dict of a highway-env config (``{"type": "Kinematics", "features": [...]}``);
each ``observe`` function is batched over the worlds of a :class:`HighwayState` (no loop
over vehicles). Positions are road coordinates, as in ``roadgym.envs.highway.observation``:
``x`` along the road, ``y`` across it, positive towards the right lanes (highway-env's
axes on its straight road).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
from gymnasium import spaces

from roadgym.envs.core.config import BaseConfig, ConfigError, option
from roadgym.envs.highway.state import HighwayState

MAX_SPEED_MPS = 40.0  # highway-env's Vehicle.MAX_SPEED: its default feature ranges
PERCEPTION_DISTANCE_M = 5.0 * MAX_SPEED_MPS  # highway-env's AbstractEnv.PERCEPTION_DISTANCE
UNBOUNDED = 1e6  # bound of a feature that is neither normalised nor clipped (finite: SB3)
KINEMATICS_FEATURES = (
    "presence", "x", "y", "vx", "vy", "heading", "cos_h", "sin_h",
    "long_off", "lat_off", "ang_off",
)  # fmt: skip
GRID_FEATURES = ("presence", "x", "y", "vx", "vy", "heading", "cos_h", "sin_h", "on_road")
ANGLE_FEATURES = ("heading", "ang_off")  # in [-pi, pi]
UNIT_FEATURES = ("presence", "cos_h", "sin_h", "on_road")  # in [0, 1] or [-1, 1]


def _names(owner: str, field: str, value: Any, allowed: tuple[str, ...]) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Sequence) or not value:
        raise ConfigError(
            f"{owner}.{field} = {value!r} is not allowed; allowed: a non-empty list of "
            f"{', '.join(allowed)}"
        )
    bad = [name for name in value if name not in allowed]
    if bad or len(set(value)) != len(value):
        raise ConfigError(
            f"{owner}.{field} = {list(value)!r} is not allowed ({bad or 'repeats'}); "
            f"allowed: names from {', '.join(allowed)}, without repeats"
        )
    return tuple(value)


def _ranges(owner: str, value: Any, allowed: tuple[str, ...]) -> dict[str, tuple[float, float]]:
    if not isinstance(value, Mapping):
        raise ConfigError(
            f"{owner}.features_range = {value!r} is not allowed; allowed: a dict "
            "feature -> [low, high]"
        )
    out = {}
    for name, pair in value.items():
        if name not in allowed:
            raise ConfigError(
                f"{owner}.features_range has {name!r}; allowed features: {', '.join(allowed)}"
            )
        low, high = (float(v) for v in np.asarray(pair, dtype=np.float64).reshape(2))
        if not (np.isfinite(low) and np.isfinite(high) and low < high):
            raise ConfigError(
                f"{owner}.features_range[{name!r}] = {pair!r}; allowed: [low, high], low < high"
            )
        out[name] = (low, high)
    return out


def _lmap(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """highway-env's ``utils.lmap`` from [low, high] to [-1, 1]."""
    return -1.0 + 2.0 * (values - low) / (high - low)


@dataclasses.dataclass(frozen=True)
class KinematicsObservation(BaseConfig):
    """highway-env's ``Kinematics``: a (vehicles_count, features) table, the ego car first.

    The ego row is absolute; the other rows are relative to it in x, y, vx, vy unless
    ``absolute``. ``lat_off`` / ``long_off`` / ``ang_off`` are offsets to each car's own
    lane (its centre, the distance along the road, the heading to the road).
    """

    type_name: ClassVar[str] = "Kinematics"

    features: Sequence[str] = option(("presence", "x", "y", "vx", "vy"), "Columns, in order.")
    vehicles_count: int = option(5, "Rows: the ego car and the nearest others.", low=1, high=50)
    features_range: Any = option(None, "feature -> [low, high] mapped to [-1, 1] (None: defaults).")
    absolute: bool = option(False, "Other cars in road coordinates, not relative to the ego car.")
    order: str = option("sorted", "Rows by distance, or shuffled.", choices=("sorted", "shuffled"))
    normalize: bool = option(True, "Map the ranged features to [-1, 1].")
    clip: bool = option(True, "Clip the normalised features to [-1, 1].")
    see_behind: bool = option(False, "Include cars more than two car lengths behind.")
    observe_intentions: bool = option(False, "Unsupported (roadgym NPCs have no destinations).")
    include_obstacles: bool = option(True, "roadgym's highways have no obstacle objects.")

    def validate(self) -> None:
        owner = type(self).__name__
        object.__setattr__(
            self, "features", _names(owner, "features", self.features, KINEMATICS_FEATURES)
        )
        if self.features_range is not None:
            ranges = _ranges(owner, self.features_range, KINEMATICS_FEATURES)
            object.__setattr__(self, "features_range", ranges)
        if self.observe_intentions:
            raise ConfigError(
                f"{owner}.observe_intentions = True is not supported: roadgym's NPCs have no "
                "destinations; allowed: False"
            )

    def ranges(self, world: HighwayState) -> dict[str, tuple[float, float]]:
        """The features' normalisation ranges: ``features_range``, or highway-env's defaults."""
        if self.features_range is not None:
            return dict(self.features_range)
        y = world.config.lane_width_m * world.config.lanes_count
        v = 2.0 * MAX_SPEED_MPS
        return {"x": (-PERCEPTION_DISTANCE_M, PERCEPTION_DISTANCE_M), "y": (-y, y),
                "vx": (-v, v), "vy": (-v, v)}  # fmt: skip

    def space(self, ranges: Mapping[str, tuple[float, float]]) -> spaces.Box:
        """Box (vehicles_count, F): each column bounded by what it can hold."""
        low, high = _bounds(self.features, ranges, self.normalize, self.clip)
        shape = (self.vehicles_count, len(self.features))
        return spaces.Box(
            np.broadcast_to(low, shape).astype(np.float32),
            np.broadcast_to(high, shape).astype(np.float32),
            dtype=np.float32,
        )


@dataclasses.dataclass(frozen=True)
class OccupancyGridObservation(BaseConfig):
    """highway-env's ``OccupancyGrid``: (features, cells along x, cells along y) around
    the ego car, the values of the car in each cell relative to the ego car's."""

    type_name: ClassVar[str] = "OccupancyGrid"

    features: Sequence[str] = option(("presence", "vx", "vy", "on_road"), "Layers, in order.")
    grid_size: Any = option(
        ((-27.5, 27.5), (-27.5, 27.5)), "[[x_min, x_max], [y_min, y_max]] around the ego car (m)."
    )
    grid_step: Any = option((5.0, 5.0), "[x_step, y_step]: cell size (m).")
    features_range: Any = option(None, "feature -> [low, high] mapped to [-1, 1] (None: defaults).")
    absolute: bool = option(False, "Unsupported (as in highway-env).")
    align_to_vehicle_axes: bool = option(False, "Unsupported: the grid follows the road.")
    clip: bool = option(True, "Clip the values to [-1, 1].")
    as_image: bool = option(False, "uint8 in [0, 255] instead of float32 in [-1, 1].")

    def validate(self) -> None:
        owner = type(self).__name__
        object.__setattr__(
            self, "features", _names(owner, "features", self.features, GRID_FEATURES)
        )
        if self.features_range is not None:
            object.__setattr__(
                self, "features_range", _ranges(owner, self.features_range, GRID_FEATURES)
            )
        size = np.asarray(self.grid_size, dtype=np.float64)
        step = np.asarray(self.grid_step, dtype=np.float64)
        if (
            size.shape != (2, 2)
            or not np.all(np.isfinite(size))
            or np.any(size[:, 0] >= size[:, 1])
        ):
            raise ConfigError(
                f"{owner}.grid_size = {self.grid_size!r}; allowed: [[x_min, x_max], "
                "[y_min, y_max]] with min < max"
            )
        if step.shape != (2,) or not np.all(np.isfinite(step)) or np.any(step <= 0):
            raise ConfigError(f"{owner}.grid_step = {self.grid_step!r}; allowed: two steps > 0")
        cells = np.floor((size[:, 1] - size[:, 0]) / step).astype(int)
        if np.any(cells < 1) or np.prod(cells) > 256 * 256:
            raise ConfigError(
                f"{owner}: grid_size / grid_step gives {cells.tolist()} cells; allowed: 1 to "
                "256 x 256"
            )
        object.__setattr__(self, "grid_size", tuple(map(tuple, size.tolist())))
        object.__setattr__(self, "grid_step", tuple(step.tolist()))
        for name in ("absolute", "align_to_vehicle_axes"):
            if getattr(self, name):
                raise ConfigError(
                    f"{owner}.{name} = True is not supported (the grid is relative to the ego "
                    "car, along the road); allowed: False"
                )

    @property
    def cells(self) -> tuple[int, int]:
        """Cells along x and along y."""
        size, step = np.asarray(self.grid_size), np.asarray(self.grid_step)
        return tuple(np.floor((size[:, 1] - size[:, 0]) / step).astype(int).tolist())

    def ranges(self) -> dict[str, tuple[float, float]]:
        """Normalisation ranges: ``features_range``, or highway-env's (vx, vy +-80 m/s)."""
        if self.features_range is not None:
            return dict(self.features_range)
        v = 2.0 * MAX_SPEED_MPS
        return {"vx": (-v, v), "vy": (-v, v)}

    def space(self) -> spaces.Box:
        shape = (len(self.features), *self.cells)
        if self.as_image:
            return spaces.Box(0, 255, shape, np.uint8)
        low, high = _bounds(self.features, self.ranges(), True, self.clip)
        return spaces.Box(
            np.broadcast_to(low[:, None, None], shape).astype(np.float32),
            np.broadcast_to(high[:, None, None], shape).astype(np.float32),
            dtype=np.float32,
        )


def _bounds(features, ranges, normalize: bool, clip: bool) -> tuple[np.ndarray, np.ndarray]:
    low, high = np.full(len(features), -UNBOUNDED), np.full(len(features), UNBOUNDED)
    for k, name in enumerate(features):
        if normalize and clip and name in ranges:
            low[k], high[k] = -1.0, 1.0
        elif name in ANGLE_FEATURES:
            low[k], high[k] = -np.pi, np.pi
        elif name in UNIT_FEATURES:
            low[k], high[k] = (0.0 if name in ("presence", "on_road") else -1.0), 1.0
    return low, high


def vehicle_table(world: HighwayState) -> dict[str, np.ndarray]:
    """Every feature of every car (B, N + A), in road coordinates."""
    e = world.veh_heading_error  # to the road, + left
    speed = world.veh_speed / np.maximum(np.cos(e), 1e-6)
    world.set_own(speed, world.car.speed_mps)
    b = np.arange(world.batch_size)[:, None]
    s, d = world.veh_s, world.veh_d
    lane = world.lane_of(b, s, d)
    return {
        "presence": np.ones_like(s),
        "x": s,
        "y": -d,
        "vx": speed * np.cos(e),
        "vy": -speed * np.sin(e),
        "heading": -e,
        "cos_h": np.cos(e),
        "sin_h": -np.sin(e),
        "long_off": s,
        "lat_off": -(d - world.lane_centre_d(b, lane, s)),
        "ang_off": -e,
    }


def _own_and_others(world: HighwayState, table: dict[str, np.ndarray]):
    """Each controlled car's own features (C,), the other cars' (C, K) as it sees
    them, and which of those exist (C, K): NPCs and, with several, the other
    controlled cars still in the world."""
    own = {name: world.own(values) for name, values in table.items()}
    others = {name: world.others(values) for name, values in table.items()}
    valid = world.others_valid()
    if valid is None:
        valid = np.ones(others["x"].shape, dtype=bool)
    return own, others, valid


RELATIVE = ("x", "y", "vx", "vy")  # the features highway-env makes relative to the observer


def observe_kinematics(
    world: HighwayState, options: KinematicsObservation, rng: np.random.Generator
) -> np.ndarray:
    """The Kinematics table (C, V, F) float32 of every controlled car (see
    KinematicsObservation)."""
    rows, count = options.vehicles_count, world.num_cars
    own, others, valid = _own_and_others(world, vehicle_table(world))
    rel_x = others["x"] - own["x"][:, None]  # (C, K)
    rel_y = others["y"] - own["y"][:, None]
    distance = np.hypot(rel_x, rel_y)
    visible = valid & (distance < PERCEPTION_DISTANCE_M)
    if not options.see_behind:
        visible &= rel_x > -2.0 * world.config.car_length_m
    order = np.argsort(np.where(visible, distance, np.inf), axis=1, kind="stable")
    order = order[:, : rows - 1]  # (C, V - 1), nearest first
    c = np.arange(count)[:, None]
    present = visible[c, order]
    ranges = options.ranges(world)
    columns = []
    for name in options.features:
        mine = own[name][:, None]
        theirs = others[name][c, order]
        if name in RELATIVE and not options.absolute:
            theirs = theirs - mine
        column = np.concatenate([mine, theirs], axis=1)  # (C, V')
        if options.normalize and name in ranges:
            column = _lmap(column, *ranges[name])
            if options.clip:
                column = np.clip(column, -1.0, 1.0)
        columns.append(column)
    obs = np.zeros((count, rows, len(options.features)), np.float32)
    filled = np.stack(columns, axis=-1)  # (C, V', F)
    filled[:, 1:] *= present[..., None]
    obs[:, : filled.shape[1]] = filled
    if options.order == "shuffled":
        perm = rng.permuted(np.tile(np.arange(1, rows), (count, 1)), axis=1)  # (C, V - 1)
        obs[:, 1:] = obs[c, perm]
    return obs


def observe_occupancy_grid(world: HighwayState, options: OccupancyGridObservation) -> np.ndarray:
    """The OccupancyGrid (C, F, X, Y) of every controlled car (see
    OccupancyGridObservation)."""
    count = world.num_cars
    own, others, valid = _own_and_others(world, vehicle_table(world))
    (x0, _), (y0, _) = options.grid_size
    step_x, step_y = options.grid_step
    cells_x, cells_y = options.cells
    rel = {name: others[name] - own[name][:, None] for name in RELATIVE}
    ix = np.floor((rel["x"] - x0) / step_x).astype(np.int64)  # (C, K)
    iy = np.floor((rel["y"] - y0) / step_y).astype(np.int64)
    inside = valid & (ix >= 0) & (ix < cells_x) & (iy >= 0) & (iy < cells_y)
    cc, kk = np.nonzero(inside)
    own_x = int(np.floor(-x0 / step_x))  # the observer's own cell, written last
    own_y = int(np.floor(-y0 / step_y))
    own_inside = 0 <= own_x < cells_x and 0 <= own_y < cells_y
    ranges = options.ranges()
    grid = np.zeros((count, len(options.features), cells_x, cells_y))
    for k, name in enumerate(options.features):
        if name == "on_road":
            cx = x0 + step_x * (np.arange(cells_x) + 0.5)
            cy = y0 + step_y * (np.arange(cells_y) + 0.5)
            s = world.own(world.veh_s)[:, None, None] + cx[None, :, None]  # (C, X, 1)
            d = world.own(world.veh_d)[:, None, None] - cy[None, None, :]  # (C, 1, Y)
            grid[:, k] = world.drivable(world.agent_world[:, None, None], s, d)
            continue
        theirs = rel[name] if name in rel else others[name]
        mine = np.zeros(count) if name in rel else own[name]
        values, mine = theirs[cc, kk], mine.astype(np.float64)
        if name in ranges:
            values, mine = _lmap(values, *ranges[name]), _lmap(mine, *ranges[name])
        grid[cc, k, ix[cc, kk], iy[cc, kk]] = values
        if own_inside:
            grid[:, k, own_x, own_y] = mine
    if options.clip or options.as_image:
        grid = np.clip(grid, -1.0, 1.0)
    if options.as_image:
        return ((grid + 1.0) / 2.0 * 255.0).astype(np.uint8)
    return grid.astype(np.float32)
