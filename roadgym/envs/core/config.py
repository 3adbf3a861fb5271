"""Typed, validated configuration dataclasses for roadgym environments.

Every field carries its documentation and its allowed values in ``dataclasses.field``
metadata, so validation, error messages and the README table come from one place.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from collections.abc import Mapping
from typing import Any, ClassVar, TypeVar

import numpy as np

ConfigT = TypeVar("ConfigT", bound="BaseConfig")


class ConfigError(ValueError):
    """A configuration field was unknown, of the wrong type, or out of range."""


class UnknownFieldError(ConfigError, TypeError):
    """A field name the config does not have.

    Also a ``TypeError`` whose message reads like Python's own ("got an unexpected keyword
    argument 'name'"), because callers such as TorchRL's ``GymEnv`` pass optional keywords
    (``frameskip=``) to ``gymnasium.make`` and drop them exactly when that error comes back.
    """


def option(
    default: Any,
    doc: str,
    *,
    low: float | None = None,
    high: float | None = None,
    choices: tuple[Any, ...] | None = None,
) -> Any:
    """Declare a config field with its documentation and its allowed values.

    ``low`` and ``high`` are inclusive bounds (for numbers, and for each item of a tuple
    of numbers); ``choices`` lists the allowed values.
    """
    metadata = {"doc": doc, "low": low, "high": high, "choices": choices}
    if isinstance(default, tuple):
        return dataclasses.field(default_factory=lambda: default, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def _allowed_text(field: dataclasses.Field, type_name: str) -> str:
    low, high, choices = field.metadata["low"], field.metadata["high"], field.metadata["choices"]
    if choices is not None:
        return "one of " + ", ".join(repr(c) for c in choices)
    if low is not None and high is not None:
        return f"{type_name} in [{low}, {high}]"
    if low is not None:
        return f"{type_name} >= {low}"
    if high is not None:
        return f"{type_name} <= {high}"
    return type_name


def _check_number(name: str, value: Any, kind: type, field: dataclasses.Field, owner: str):
    # bool is an int subclass, but True is never a meaningful lane count or speed. numpy
    # scalars (np.int64, np.float32, ...) are numbers like Python's, so they are accepted.
    if isinstance(value, (bool, np.bool_)) or not isinstance(
        value, (int, float, np.integer, np.floating)
    ):
        raise ConfigError(
            f"{owner}.{name} = {value!r} has type {type(value).__name__}; "
            f"allowed: {_allowed_text(field, kind.__name__)}"
        )
    if kind is int and not float(value).is_integer():
        raise ConfigError(
            f"{owner}.{name} = {value!r} is not an integer; allowed: {_allowed_text(field, 'int')}"
        )
    converted = kind(value)  # a Python int or float, whatever the input's type
    low, high = field.metadata["low"], field.metadata["high"]
    if (
        not math.isfinite(converted)
        or (low is not None and converted < low)
        or (high is not None and converted > high)
    ):
        raise ConfigError(
            f"{owner}.{name} = {value!r} is out of range; "
            f"allowed: {_allowed_text(field, kind.__name__)}"
        )
    return converted


@dataclasses.dataclass(frozen=True)
class BaseConfig:
    """Base for env configs: validates every field on construction."""

    def __post_init__(self) -> None:
        owner = type(self).__name__
        hints = typing.get_type_hints(type(self))
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            kind = hints[field.name]
            if kind in (int, float):
                value = _check_number(field.name, value, kind, field, owner)
            elif kind is str or kind is bool:
                if kind is bool and isinstance(value, np.bool_):
                    value = bool(value)
                if not isinstance(value, kind):
                    raise ConfigError(
                        f"{owner}.{field.name} = {value!r} has type {type(value).__name__}; "
                        f"allowed: {_allowed_text(field, kind.__name__)}"
                    )
            elif typing.get_origin(kind) is tuple:
                if isinstance(value, np.ndarray) and value.ndim == 1:
                    value = value.tolist()  # a numpy vector is a tuple of numbers too
                if not isinstance(value, (tuple, list)) or len(value) == 0:
                    raise ConfigError(
                        f"{owner}.{field.name} = {value!r} must be a non-empty tuple of numbers"
                    )
                value = tuple(
                    _check_number(f"{field.name}[{i}]", item, float, field, owner)
                    for i, item in enumerate(value)
                )
            choices = field.metadata["choices"]
            if choices is not None and value not in choices:
                raise ConfigError(
                    f"{owner}.{field.name} = {value!r} is not allowed; "
                    f"allowed: {_allowed_text(field, kind.__name__)}"
                )
            object.__setattr__(self, field.name, value)
        self.validate()

    def validate(self) -> None:
        """Checks that involve several fields; subclasses override."""

    @classmethod
    def build(
        cls: type[ConfigT], config: ConfigT | Mapping[str, Any] | None = None, **overrides: Any
    ) -> ConfigT:
        """Make a config from an instance or a mapping, then apply keyword overrides.

        This is what ``gymnasium.make(id, config=..., **fields)`` calls; unknown field
        names raise an :class:`UnknownFieldError` (a ``ConfigError`` and a ``TypeError``)
        that lists the known ones.
        """
        if config is None:
            values: dict[str, Any] = {}
        elif isinstance(config, cls):
            values = dataclasses.asdict(config)
        elif isinstance(config, Mapping):
            values = dict(config)
        else:
            raise ConfigError(
                f"config = {config!r} has type {type(config).__name__}; "
                f"allowed: a {cls.__name__}, a mapping of its fields, or None"
            )
        values.update(overrides)
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = [name for name in values if name not in known]  # in the caller's order
        if unknown:
            raise UnknownFieldError(
                f"{cls.__name__}() got an unexpected keyword argument {unknown[0]!r} "
                f"(unknown {cls.__name__} field(s) {', '.join(map(repr, unknown))}; "
                f"allowed fields: {', '.join(sorted(known))})"
            )
        return cls(**values)

    @classmethod
    def markdown_table(cls) -> str:
        """A Markdown table of every field: name, default, allowed values, meaning."""
        hints = typing.get_type_hints(cls)
        rows = ["| field | default | allowed | meaning |", "|---|---|---|---|"]
        for field in dataclasses.fields(cls):
            default = (
                field.default_factory() if field.default is dataclasses.MISSING else field.default
            )
            kind = hints[field.name]
            type_name = kind.__name__ if isinstance(kind, type) else "tuple of float"
            rows.append(
                f"| `{field.name}` | `{default!r}` | {_allowed_text(field, type_name)} "
                f"| {field.metadata['doc']} |"
            )
        return "\n".join(rows)


OBSERVATION_MODES = ("rgb", "semantic", "state")


def parse_observation_modes(
    observation: str, allowed: tuple[str, ...] = OBSERVATION_MODES
) -> tuple[str, ...]:
    """Split an observation spec like ``"rgb+state"`` into its modes, in order.

    ``allowed`` is the world's own list (every world has ``OBSERVATION_MODES``; some add
    their own, such as Town's ``nav``).
    """
    modes = tuple(observation.split("+"))
    bad = [m for m in modes if m not in allowed]
    if bad or len(set(modes)) != len(modes):
        raise ConfigError(
            f"observation = {observation!r} is not allowed; allowed: one of "
            f"{', '.join(allowed)} or several joined by '+' without repeats "
            "(e.g. 'rgb+state')"
        )
    return modes


@dataclasses.dataclass(frozen=True)
class WorldConfig(BaseConfig):
    """The fields every world shares: time step, the ego car, the lane width, the camera,
    observation, action and render. Each is declared once, here, with one allowed range; a
    world that needs another default redeclares the field with :func:`world_default`,
    which keeps this documentation and range.

    Fields that only some worlds share live in the groups below (:class:`IdmTrafficFields`,
    :class:`RouteFields`); a world lists the groups it has as bases, before
    ``WorldConfig``, so the table reads: shared world fields, shared group fields, own.
    """

    dt_s: float = option(0.1, "Simulation and control time step (s).", low=0.01, high=0.5)
    wheelbase_m: float = option(
        2.7, "Kinematic bicycle wheelbase (m); shorter than car_length_m.", low=0.5, high=6.0
    )
    car_length_m: float = option(
        4.5, "Car length (m); longer than wheelbase_m.", low=1.0, high=10.0
    )
    car_width_m: float = option(2.0, "Car width (m).", low=0.5, high=4.0)
    max_steer_rad: float = option(0.5, "Largest front wheel angle (rad).", low=0.05, high=1.2)
    steer_rate_radps: float = option(
        2.0, "Fastest change of the wheel angle (rad/s).", low=0.1, high=20.0
    )
    max_accel_mps2: float = option(
        4.0, "Ego acceleration at full throttle (m/s^2).", low=0.1, high=20.0
    )
    max_brake_mps2: float = option(
        8.0,
        "Deceleration at full brake (m/s^2), of the ego car and of NPC cars.",
        low=0.1,
        high=30.0,
    )
    top_speed_mps: float = option(
        30.0, "Ego speed cap (m/s); the car never reverses.", low=1.0, high=80.0
    )
    lane_width_m: float = option(4.0, "Width of each lane (m).", low=2.5, high=6.0)
    curvature_lookahead_m: tuple[float, ...] = option(
        (0.0, 10.0, 20.0, 40.0),
        "Distances ahead (m) at which the state vector samples the curvature of the road "
        "(of the route, where the world has one).",
        low=0.0,
        high=500.0,
    )
    camera_size_px: int = option(64, "Side of the square camera frame (px).", low=16, high=512)
    meters_per_pixel: float = option(
        0.5, "Camera (and map raster) resolution in meters per pixel.", low=0.05, high=5.0
    )
    camera_ahead_fraction: float = option(
        0.75, "Share of the camera view that lies ahead of the car.", low=0.5, high=0.95
    )
    observation: str = option(
        "rgb",
        "Observation modes: 'rgb', 'semantic', 'state', or several joined by '+' "
        "(a Dict observation), e.g. 'rgb+state'.",
    )
    frame_stack: int = option(
        1,
        "Frames per observation: the last k frames stacked along the channel axis "
        "(rgb (H, W, 3k), semantic (H, W, k) when k > 1, state and nav vectors concatenated), "
        "oldest first; reset fills the stack with the first frame. The recommended way to "
        "stack frames: the same in the single env, the vector env, SB3 and RLlib.",
        low=1,
        high=16,
    )
    action_type: str = option(
        "continuous",
        "'continuous' Box(-1, 1, (2,)) or 'discrete' (see DISCRETE_ACTIONS).",
        choices=("continuous", "discrete"),
    )
    render_size_px: int = option(512, "Side of the render_mode frame (px).", low=64, high=2048)
    flat_labels: bool = option(
        False,
        "Perception labels in the info as flat keys info['label_<task>'] (True) instead of "
        "the nested dict info['labels'] (False), for info readers that take only flat "
        "values (TorchRL, Gymnasium's vector info tools).",
    )

    # The observation modes this world offers (a class attribute, not a field).
    observation_modes: ClassVar[tuple[str, ...]] = OBSERVATION_MODES

    def validate(self) -> None:
        self.modes()
        if not self.wheelbase_m < self.car_length_m:
            raise ConfigError(
                f"{type(self).__name__}.wheelbase_m = {self.wheelbase_m} is not shorter than "
                f"car_length_m = {self.car_length_m}; allowed: wheelbase_m < car_length_m "
                "(the axles sit inside the car)"
            )

    def modes(self) -> tuple[str, ...]:
        """The observation modes of ``observation``, in order (validated)."""
        return parse_observation_modes(self.observation, type(self).observation_modes)


FINISHED_AGENT_MODES = ("remove", "park")


@dataclasses.dataclass(frozen=True)
class MultiAgentFields(BaseConfig):
    """Several controlled cars per world (``roadgym.envs.multiagent``): Town and Highway.
    A world may allow fewer than the range says (Highway: its spawn grid)."""

    num_agents: int = option(
        1,
        "Controlled cars per world. 1 is the single-agent env; more need a multi-agent "
        "front (roadgym.envs.multiagent: PettingZoo ParallelEnv per world, or the "
        "multi-agent vector env of B worlds x N agents).",
        low=1,
        high=20,
    )
    finished_agent_mode: str = option(
        "remove",
        "What a controlled car that ended (collision, off road, goal) becomes while the "
        "others drive on: 'remove' takes it out of the world, 'park' leaves it standing "
        "where it ended, an obstacle for everyone else (num_agents > 1 only).",
        choices=FINISHED_AGENT_MODES,
    )


def require_single_agent(config: BaseConfig, front: str) -> None:
    """Refuse a config with ``num_agents`` > 1 in a single-agent front ``front``."""
    agents = getattr(config, "num_agents", 1)
    if agents != 1:
        raise ConfigError(
            f"{type(config).__name__}.num_agents = {agents} is not allowed in {front}, a "
            "single-agent env; allowed: num_agents = 1 here, or several cars through "
            "roadgym.envs.multiagent (MultiAgentParallelEnv: PettingZoo, one world; "
            "MultiAgentVectorEnv: B worlds x N cars as B * N slots)"
        )


@dataclasses.dataclass(frozen=True)
class IdmTrafficFields(BaseConfig):
    """NPC cars driven by the Intelligent Driver Model (Treiber et al., 2000): Town and
    Highway. The defaults are highway-env's ``IDMVehicle`` constants."""

    idm_accel_mps2: float = option(
        3.0, "IDM maximum acceleration of NPCs (m/s^2).", low=0.1, high=10.0
    )
    idm_comfort_brake_mps2: float = option(
        5.0, "IDM comfortable deceleration of NPCs (m/s^2).", low=0.1, high=15.0
    )
    idm_time_headway_s: float = option(1.5, "IDM desired time gap of NPCs (s).", low=0.1, high=5.0)
    idm_min_gap_m: float = option(
        5.0, "IDM standstill gap of NPCs, bumper to bumper (m).", low=0.5, high=20.0
    )


@dataclasses.dataclass(frozen=True)
class RouteFields(BaseConfig):
    """A drive along a lane graph to a goal or round a lap: Track and Town. Its lanes carry
    a speed limit; progress is rewarded, every step costs, and leaving the road or making
    no progress ends the episode."""

    speed_limit_mps: float = option(
        25.0, "Speed limit stored on every lane of the lane graph (m/s).", low=1.0, high=60.0
    )
    step_penalty: float = option(0.02, "Cost paid every step.", low=0.0, high=1e3)
    off_road_penalty: float = option(
        20.0,
        "Penalty when a corner of the car leaves the road (ends the episode).",
        low=0.0,
        high=1e6,
    )
    stall_timeout_s: float = option(
        5.0,
        "No progress along the route (less than 1 m) for this long ends the episode "
        "(terminated, info['stalled']); 0 disables (s).",
        low=0.0,
        high=1e4,
    )
    stall_penalty: float = option(
        50.0, "Penalty when the stall rule ends the episode.", low=0.0, high=1e6
    )


# Every group of shared fields: a field name belongs to exactly one of them.
SHARED_FIELD_GROUPS: tuple[type[BaseConfig], ...] = (
    WorldConfig,
    IdmTrafficFields,
    RouteFields,
    MultiAgentFields,
)


def redeclare(
    owner: type[BaseConfig],
    name: str,
    default: Any,
    note: str = "",
    *,
    extra_choices: tuple[Any, ...] = (),
) -> Any:
    """Redeclare ``owner``'s field ``name`` in a subclass with another default.

    The documentation and the allowed range stay ``owner``'s; ``note`` (the subclass's
    reason for its default, or what it adds) is appended to the documentation, and
    ``extra_choices`` extend a field's choices (Highway's ``meta`` actions), never narrow
    them.
    """
    fields = {field.name: field for field in dataclasses.fields(owner)}
    if name not in fields:
        raise KeyError(f"{name!r} is not a {owner.__name__} field; allowed: {', '.join(fields)}")
    metadata = fields[name].metadata
    choices = metadata["choices"]
    if extra_choices:
        if choices is None:
            raise KeyError(f"{owner.__name__}.{name} has no choices to extend")
        choices = (*choices, *extra_choices)
    return option(
        default,
        f"{metadata['doc']} {note}".strip(),
        low=metadata["low"],
        high=metadata["high"],
        choices=choices,
    )


def world_default(
    name: str, default: Any, note: str = "", *, extra_choices: tuple[Any, ...] = ()
) -> Any:
    """Redeclare the shared field ``name`` with another default (and a note on why).

    The documentation and the allowed range stay those of the group that declares the
    field (:class:`WorldConfig`, :class:`IdmTrafficFields` or :class:`RouteFields`), so a
    shared field has one definition however many worlds change its default.
    """
    for group in SHARED_FIELD_GROUPS:
        if name in {field.name for field in dataclasses.fields(group)}:
            return redeclare(group, name, default, note, extra_choices=extra_choices)
    names = [field.name for group in SHARED_FIELD_GROUPS for field in dataclasses.fields(group)]
    raise KeyError(f"{name!r} is not a shared config field; allowed: {', '.join(names)}")
