"""highway-env's action types on a roadgym highway: options, spaces, and the translation
of their actions into roadgym's (meta action indices, or [steer, throttle])."""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import numpy as np
from gymnasium import spaces

from roadgym.envs.core.config import BaseConfig, ConfigError, option
from roadgym.envs.core.spaces import META_ACTION_NAMES

# highway-env's DiscreteMetaAction index tables (ACTIONS_ALL, ACTIONS_LONGI, ACTIONS_LAT).
META_ALL = ("LANE_LEFT", "IDLE", "LANE_RIGHT", "FASTER", "SLOWER")
META_LONGITUDINAL = ("SLOWER", "IDLE", "FASTER")
META_LATERAL = ("LANE_LEFT", "IDLE", "LANE_RIGHT")


def _pair(owner: str, name: str, value: Any) -> tuple[float, float]:
    pair = np.asarray(value, dtype=np.float64).reshape(-1)
    if pair.shape != (2,) or not np.all(np.isfinite(pair)) or pair[0] >= pair[1]:
        raise ConfigError(f"{owner}.{name} = {value!r}; allowed: [low, high], low < high")
    return float(pair[0]), float(pair[1])


@dataclasses.dataclass(frozen=True)
class DiscreteMetaAction(BaseConfig):
    """highway-env's ``DiscreteMetaAction``: lane changes and target-speed steps, run by
    roadgym's low-level controller (``action_type="meta"``)."""

    type_name: ClassVar[str] = "DiscreteMetaAction"

    longitudinal: bool = option(True, "Offer FASTER and SLOWER.")
    lateral: bool = option(True, "Offer LANE_LEFT and LANE_RIGHT.")
    target_speeds: Any = option(None, "Speeds FASTER / SLOWER step through (m/s), ascending.")

    def validate(self) -> None:
        if not (self.longitudinal or self.lateral):
            raise ConfigError(
                "DiscreteMetaAction: longitudinal and lateral are both False; allowed: at least "
                "one True"
            )

    @property
    def names(self) -> tuple[str, ...]:
        """The action names by index, highway-env's tables."""
        if self.longitudinal and self.lateral:
            return META_ALL
        return META_LONGITUDINAL if self.longitudinal else META_LATERAL

    def world_fields(self) -> dict[str, Any]:
        fields: dict[str, Any] = {"action_type": "meta"}
        if self.target_speeds is not None:
            fields["target_speeds_mps"] = tuple(np.asarray(self.target_speeds, float).tolist())
        return fields

    def space(self) -> spaces.Discrete:
        return spaces.Discrete(len(self.names))

    def to_world(self, action: Any) -> Any:
        """roadgym's meta index of highway-env's action index (checked by roadgym's env)."""
        names = self.names
        if names is META_ALL:
            return action  # the same table
        array = np.asarray(action)
        if not (np.issubdtype(array.dtype, np.integer) or _integral(array)) or array.shape != ():
            raise ValueError(
                f"action = {action!r} is not allowed; expected an integer in [0, {len(names) - 1}]"
            )
        index = int(array)
        if not 0 <= index < len(names):
            raise ValueError(
                f"action = {action!r} is out of range; allowed: integers in [0, {len(names) - 1}]"
            )
        return META_ACTION_NAMES.index(names[index])


def _integral(array: np.ndarray) -> bool:
    return np.issubdtype(array.dtype, np.floating) and bool(
        np.all(np.isfinite(array)) and np.all(array == np.round(array))
    )


@dataclasses.dataclass(frozen=True)
class ContinuousAction(BaseConfig):
    """highway-env's ``ContinuousAction``: [acceleration, steering] in [-1, 1], mapped to
    ``acceleration_range`` (m/s^2) and ``steering_range`` (rad), held for the policy period.

    roadgym's car turns its wheels at ``steer_rate_radps``; this layer sets it to its
    fastest (20 rad/s, the full lock in 0.04 s), near highway-env's instant steering.
    """

    type_name: ClassVar[str] = "ContinuousAction"

    acceleration_range: Any = option((-5.0, 5.0), "[low, high] acceleration (m/s^2).")
    steering_range: Any = option((-np.pi / 4, np.pi / 4), "[low, high] wheel angle (rad).")
    speed_range: Any = option(None, "Unsupported: roadgym's speed cap is top_speed_mps.")
    longitudinal: bool = option(True, "Control the acceleration.")
    lateral: bool = option(True, "Control the steering.")
    dynamical: bool = option(False, "Unsupported: roadgym's car is a kinematic bicycle.")
    clip: bool = option(True, "Clip actions to [-1, 1] (roadgym always does).")

    def validate(self) -> None:
        owner = type(self).__name__
        accel = _pair(owner, "acceleration_range", self.acceleration_range)
        steer = _pair(owner, "steering_range", self.steering_range)
        if not accel[0] < 0.0 < accel[1]:
            raise ConfigError(
                f"{owner}.acceleration_range = {self.acceleration_range!r}; allowed: low < 0 < "
                "high (roadgym's throttle brakes below zero and accelerates above)"
            )
        object.__setattr__(self, "acceleration_range", accel)
        object.__setattr__(self, "steering_range", steer)
        if not (self.longitudinal or self.lateral):
            raise ConfigError(
                f"{owner}: longitudinal and lateral are both False; allowed: at least one True"
            )
        for name, allowed in (("speed_range", None), ("dynamical", False), ("clip", True)):
            if getattr(self, name) != allowed:
                raise ConfigError(
                    f"{owner}.{name} = {getattr(self, name)!r} is not supported; allowed: "
                    f"{allowed!r}"
                )

    def world_fields(self) -> dict[str, Any]:
        low, high = self.acceleration_range
        return {
            "action_type": "continuous",
            "max_accel_mps2": high,
            "max_brake_mps2": -low,
            "max_steer_rad": max(abs(v) for v in self.steering_range),
            "steer_rate_radps": 20.0,
        }

    @property
    def size(self) -> int:
        return 2 if self.longitudinal and self.lateral else 1

    def space(self) -> spaces.Box:
        return spaces.Box(-1.0, 1.0, (self.size,), np.float32)

    def to_world(self, action: Any) -> np.ndarray:
        """roadgym's [steer, throttle] of highway-env's [acceleration, steering]."""
        array = np.asarray(action)
        real = np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)
        if array.shape != (self.size,) or not real or not np.all(np.isfinite(array)):
            raise ValueError(
                f"action = {action!r} is not allowed; expected {self.size} finite number(s) "
                "in [-1, 1]: " + ("[acceleration, steering]" if self.size == 2 else "one axis")
            )
        values = np.clip(array.astype(np.float64), -1.0, 1.0)
        accel = values[0] if self.longitudinal else None
        steer = values[-1] if self.lateral else None
        controls = np.zeros(2)
        if accel is not None:
            low, high = self.acceleration_range
            mps2 = low + (accel + 1.0) * 0.5 * (high - low)  # highway-env's lmap
            controls[1] = mps2 / high if mps2 >= 0 else mps2 / -low
        if steer is not None:
            low, high = self.steering_range
            angle = low + (steer + 1.0) * 0.5 * (high - low)
            controls[0] = angle / max(abs(low), abs(high))
        return controls.astype(np.float32)
