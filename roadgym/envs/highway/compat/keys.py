"""highway-env's configuration keys: their defaults per id and their roadgym fields.

:func:`translate` turns a highway-env config dict into a validated
:class:`HighwayConfig` plus the observation and action options that roadgym's config has
no field for (typed configs too, in ``observations``, ``grayscale`` and ``actions``).
Every key is translated, accepted only at the values roadgym reproduces, or refused with
an error that names it; nothing is dropped.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np

from roadgym.envs.core.config import BaseConfig, ConfigError
from roadgym.envs.highway.compat.actions import ContinuousAction, DiscreteMetaAction
from roadgym.envs.highway.compat.grayscale import GrayscaleObservation
from roadgym.envs.highway.compat.observations import (
    KinematicsObservation,
    OccupancyGridObservation,
)
from roadgym.envs.highway.config import HighwayConfig, MergeConfig

OBSERVATION_TYPES = {
    cls.type_name: cls
    for cls in (KinematicsObservation, OccupancyGridObservation, GrayscaleObservation)
}
ACTION_TYPES = {cls.type_name: cls for cls in (DiscreteMetaAction, ContinuousAction)}
ROADGYM_KEY = "roadgym"  # {"roadgym": {field: value}}: HighwayConfig fields without a key
IDM_VEHICLE = "highway_env.vehicle.behavior.IDMVehicle"
MERGE_END_AFTER_RAMP_M = 60.0  # merge-v0 ends 60 m after the ramp's end (x > 370 m)

# AbstractEnv.default_config(): what every highway-env env starts from.
_ABSTRACT = {
    "observation": {"type": "Kinematics"},
    "action": {"type": "DiscreteMetaAction"},
    "simulation_frequency": 15,
    "policy_frequency": 1,
    "other_vehicles_type": IDM_VEHICLE,
    "screen_width": 600,
    "screen_height": 150,
    "centering_position": [0.3, 0.5],
    "scaling": 5.5,
    "show_trajectories": False,
    "render_agent": True,
    "offscreen_rendering": True,
    "manual_control": False,
    "real_time_rendering": False,
    "neighbour_vehicles_connected_lanes": False,
}
_REWARDS = {"collision_reward": -1, "right_lane_reward": 0.1, "reward_speed_range": [20, 30]}
DEFAULTS = {
    "highway-v0": {
        **_ABSTRACT,
        "lanes_count": 4,
        "vehicles_count": 50,
        "controlled_vehicles": 1,
        "initial_lane_id": None,
        "duration": 40,
        "ego_spacing": 2,
        "vehicles_density": 1,
        **_REWARDS,
        "high_speed_reward": 0.4,
        "lane_change_reward": 0,
        "normalize_reward": True,
        # highway-env's default is False (off the road: no termination, zero reward);
        # roadgym always ends the episode there, so the key holds True.
        "offroad_terminal": True,
    },
    "merge-v0": {
        **_ABSTRACT,
        **_REWARDS,
        "high_speed_reward": 0.2,
        "merging_speed_reward": -0.5,
        "lane_change_reward": -0.05,
    },
}
DEFAULTS["highway-fast-v0"] = {
    **DEFAULTS["highway-v0"],
    "simulation_frequency": 5,
    "lanes_count": 3,
    "vehicles_count": 20,
    "duration": 30,
    "ego_spacing": 1.5,
}

# roadgym fields every mirrored id sets (no highway-env key): its straight road, its
# speed cap (Vehicle.MAX_SPEED) and the ego car's initial speed.
_FIXED = {"max_curvature_per_m": 0.0, "top_speed_mps": 40.0, "ego_initial_speed_mps": 25.0}
FIXED_FIELDS = {
    "highway-v0": _FIXED,
    "highway-fast-v0": _FIXED,
    # merge-v0's road: two lanes, a ramp joining 200 m ahead of the ego car for 80 m,
    # three cars on the road and one on the ramp; highway-env never truncates it, roadgym
    # at 40 s (the ramp is passed in about 12 s).
    "merge-v0": {
        **_FIXED,
        "ego_initial_speed_mps": 30.0,
        "lanes_count": 2,
        "vehicles_count": 4,
        "ramp_vehicles_count": 1,
        "ramp_join_m": 200.0,
        "ramp_merge_length_m": 80.0,
        "duration_s": 40.0,
    },
}
CONFIG_CLASSES = {"highway-v0": HighwayConfig, "highway-fast-v0": HighwayConfig,
                  "merge-v0": MergeConfig}  # fmt: skip

# Keys roadgym reproduces only at these values: key -> (allowed values, why).
ACCEPTED_VALUES: dict[str, tuple[tuple[Any, ...], str]] = {
    "other_vehicles_type": ((IDM_VEHICLE,), "roadgym's NPCs are IDM + MOBIL drivers"),
    "initial_lane_id": ((None,), "roadgym draws the ego car's lane from the seed"),
    "manual_control": ((False,), "use roadgym's `watch` / gymnasium's play()"),
    "real_time_rendering": ((False,), "roadgym renders when render() is called"),
    "show_trajectories": ((False,), "roadgym draws no trajectories"),
    "render_agent": ((True,), "roadgym always draws the ego car"),
    "offscreen_rendering": ((True, False), "render_mode decides; any bool"),
    "neighbour_vehicles_connected_lanes": ((False,), "roadgym's neighbour search is fixed"),
    "offroad_terminal": ((True,), "roadgym always ends the episode off the road"),
    "screen_width": ((600,), "render() draws roadgym's square frame (roadgym.render_size_px)"),
    "screen_height": ((150,), "render() draws roadgym's square frame (roadgym.render_size_px)"),
    "scaling": ((5.5,), "render() draws roadgym's 100 m bird's-eye view"),
    "centering_position": (([0.3, 0.5], (0.3, 0.5)), "render() centres the ego car"),
    "ego_spacing": ((2, 1.5), "roadgym's spawn keeps its own gap ahead of the ego car"),
}

# highway-env key -> the roadgym field it sets (for the docs and error messages).
FIELD_OF_KEY = {
    "simulation_frequency": "dt_s",
    "policy_frequency": "policy_frequency_hz",
    "lanes_count": "lanes_count",
    "vehicles_count": "vehicles_count",
    "duration": "duration_s",
    "vehicles_density": "recycle_behind_m",
    "collision_reward": "collision_reward",
    "right_lane_reward": "right_lane_reward",
    "high_speed_reward": "high_speed_reward",
    "lane_change_reward": "lane_change_reward",
    "reward_speed_range": "reward_speed_range_mps",
    "normalize_reward": "normalize_reward",
    "controlled_vehicles": "num_agents",
}
# HighwayConfig fields this layer's observations do not read: refused at other values.
UNUSED_FIELDS = {
    "frame_stack": "stack frames with GrayscaleObservation's stack_size",
    "kinematics_heading": "add cos_h and sin_h to Kinematics' features",
    "curvature_lookahead_m": "it shapes roadgym's 'state' observation (roadgym/Highway-v0)",
}
RECYCLE_WINDOW_M = (100.0, 400.0)  # HighwayConfig's recycle_behind_m, recycle_ahead_m


@dataclasses.dataclass(frozen=True)
class Translation:
    """What a highway-env config becomes: roadgym's world config and the option sets."""

    world: HighwayConfig
    observation: BaseConfig
    action: BaseConfig
    env_name: str
    multi_agent_observation: bool = False  # a tuple, one per controlled car
    multi_agent_action: bool = False

    @property
    def merge(self) -> bool:
        return self.env_name == "merge-v0"


def _number(key: str, value: Any) -> float:
    """``config[key]`` as a float; anything but a real number is refused naming the key."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(
        value, (int, float, np.integer, np.floating)
    ):
        raise ConfigError(
            f"config[{key!r}] = {value!r} has type {type(value).__name__}; allowed: a number"
        )
    return float(value)


def _multi_agent(kind: str, table: Mapping[str, type[BaseConfig]], spec: Any):
    """(option set, True) for ``{"type": "MultiAgent<Kind>", "<kind>_config": {...}}``,
    (option set, False) for a plain ``{"type": ...}`` dict."""
    multi = f"MultiAgent{kind.capitalize()}"
    if not (isinstance(spec, Mapping) and spec.get("type") == multi):
        return _typed(kind, table, spec), False
    inner_key = f"{kind}_config"
    extra = [key for key in spec if key not in ("type", inner_key)]
    if extra or inner_key not in spec:
        raise ConfigError(
            f"config[{kind!r}] ({multi}) needs {inner_key!r} and has no other key; got "
            f"{sorted(spec)}"
        )
    return _typed(f"{kind}']['{inner_key}", table, spec[inner_key], inner=True), True


def _typed(
    kind: str, table: Mapping[str, type[BaseConfig]], spec: Any, inner: bool = False
) -> BaseConfig:
    """The option set of an observation / action dict ``{"type": ..., **options}``
    (``inner``: the one inside a MultiAgent dict, which cannot nest another)."""
    if not isinstance(spec, Mapping) or "type" not in spec:
        raise ConfigError(
            f"config['{kind}'] = {spec!r}; allowed: a dict with 'type' one of "
            f"{', '.join(table)}" + ("" if inner else f" or MultiAgent{kind.capitalize()}")
        )
    name = spec["type"]
    if name not in table:
        multi = "" if inner else f", MultiAgent{kind.capitalize()}"
        raise ConfigError(
            f"config['{kind}']['type'] = {name!r} is not supported; allowed: "
            f"{', '.join(table)}{multi}"
        )
    cls = table[name]
    options = {key: value for key, value in spec.items() if key != "type"}
    known = {field.name for field in dataclasses.fields(cls)}
    unknown = [key for key in options if key not in known]
    if unknown:
        raise ConfigError(
            f"config['{kind}'] ({name}) has unknown or unsupported key(s) "
            f"{', '.join(map(repr, unknown))}; allowed: type, {', '.join(sorted(known))}"
        )
    return cls(**options)


def check_key(env_name: str, key: str) -> None:
    """Refuse a key that ``env_name``'s config does not have, naming those it has."""
    allowed = DEFAULTS[env_name]
    if key != ROADGYM_KEY and key not in allowed:
        extra = ""
        if key == "merging_speed_reward" or key in DEFAULTS["highway-v0"]:
            extra = f" (it is not a {env_name} key in highway-env either)"
        raise ConfigError(
            f"config key {key!r} is unknown or unsupported on roadgym/{env_name}{extra}; "
            f"allowed: {', '.join(sorted([*allowed, ROADGYM_KEY]))}"
        )


def translate(env_name: str, config: Mapping[str, Any]) -> Translation:
    """The roadgym configuration of highway-env's ``config`` on ``roadgym/<env_name>``."""
    for key in config:
        check_key(env_name, key)
    hw = {**DEFAULTS[env_name], **config}
    for key, (allowed, why) in ACCEPTED_VALUES.items():
        if key in hw and hw[key] not in allowed:
            raise ConfigError(
                f"config[{key!r}] = {hw[key]!r} is not supported ({why}); allowed: "
                f"{', '.join(map(repr, allowed))}"
            )
    observation, multi_observation = _multi_agent("observation", OBSERVATION_TYPES,
                                                  hw["observation"])  # fmt: skip
    action, multi_action = _multi_agent("action", ACTION_TYPES, hw["action"])
    fields: dict[str, Any] = {}  # from highway-env's keys; FIXED_FIELDS go under them
    if "controlled_vehicles" in hw:
        # highway-env's crashed controlled cars stop where they are: parked obstacles.
        fields["num_agents"] = hw["controlled_vehicles"]
        fields["finished_agent_mode"] = "park"
    fields["dt_s"] = 1.0 / max(_number("simulation_frequency", hw["simulation_frequency"]), 1e-9)
    fields["policy_frequency_hz"] = _number("policy_frequency", hw["policy_frequency"])
    for key in ("lanes_count", "vehicles_count", "collision_reward", "right_lane_reward",
                "high_speed_reward", "lane_change_reward", "normalize_reward"):  # fmt: skip
        if key in hw:
            fields[key] = hw[key]
    if "duration" in hw:
        fields["duration_s"] = hw["duration"]
    fields["reward_speed_range_mps"] = hw["reward_speed_range"]
    if "vehicles_density" in hw:
        density = _number("vehicles_density", hw["vehicles_density"])
        if density <= 0:
            raise ConfigError(f"config['vehicles_density'] = {density!r}; allowed: a number > 0")
        fields["recycle_behind_m"] = RECYCLE_WINDOW_M[0] / density
        fields["recycle_ahead_m"] = RECYCLE_WINDOW_M[1] / density
    typed = _type_fields(observation)
    fields.update(typed)
    fields.update(action.world_fields())
    overrides = hw.get(ROADGYM_KEY) or {}
    if not isinstance(overrides, Mapping):
        raise ConfigError(
            f"config[{ROADGYM_KEY!r}] = {overrides!r}; allowed: a dict of HighwayConfig fields"
        )
    clash = sorted(key for key in set(overrides) & set(fields) if overrides[key] != fields[key])
    if clash:
        sources = {f: f"config[{k!r}]" for k, f in FIELD_OF_KEY.items()}
        sources["recycle_ahead_m"] = "config['vehicles_density']"
        sources["finished_agent_mode"] = "config['controlled_vehicles']"
        sources.update({f: "config['observation']" for f in typed})
        sources.update({f: "config['action']" for f in action.world_fields()})
        named = [f"{field} (from {sources.get(field, 'a highway-env key')})" for field in clash]
        raise ConfigError(
            f"config[{ROADGYM_KEY!r}] sets {', '.join(named)} to another value than this "
            "layer does; set the highway-env key instead, or use roadgym/Highway-v0 for "
            "roadgym's own fields"
        )
    defaults = {f.name: f for f in dataclasses.fields(CONFIG_CLASSES[env_name])}
    for name, why in UNUSED_FIELDS.items():
        if name in overrides and name in defaults:
            field = defaults[name]
            default = (
                field.default_factory() if field.default is dataclasses.MISSING else field.default
            )
            if overrides[name] != default:
                raise ConfigError(
                    f"config[{ROADGYM_KEY!r}] sets {name} = {overrides[name]!r}, which this "
                    f"layer's observations do not use; {why}"
                )
    fields = {**FIXED_FIELDS[env_name], **fields, **overrides}
    cls = CONFIG_CLASSES[env_name]
    try:
        world = cls.build(fields)
    except ConfigError as error:
        keys = [k for k, f in FIELD_OF_KEY.items() if f in str(error) and k in hw]
        hint = f" (from highway-env key(s) {', '.join(map(repr, keys))})" if keys else ""
        raise ConfigError(f"{error}{hint}") from error
    return Translation(world, observation, action, env_name, multi_observation, multi_action)


def _type_fields(observation: BaseConfig) -> dict[str, Any]:
    """The HighwayConfig fields an observation type sets."""
    if isinstance(observation, KinematicsObservation):
        return {
            "observation": "kinematics",
            "kinematics_vehicles_count": observation.vehicles_count,
            "kinematics_see_behind": observation.see_behind,
        }
    if isinstance(observation, OccupancyGridObservation):
        return {"observation": "occupancy_grid"}
    return observation.camera_fields()


def default_config(env_name: str) -> dict[str, Any]:
    """A fresh copy of ``env_name``'s highway-env defaults."""
    return copy.deepcopy(DEFAULTS[env_name])
