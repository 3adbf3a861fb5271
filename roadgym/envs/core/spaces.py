"""Observation and action spaces, and action checking, shared by every world and by the
single and the vector env."""

from __future__ import annotations

import numpy as np
from gymnasium import spaces

from roadgym.envs.core.config import WorldConfig
from roadgym.envs.core.semantic import NUM_CLASSES

# Discrete actions as (steer, throttle): + steer is right, + throttle accelerates.
DISCRETE_ACTIONS = np.array(
    [
        [0.0, 0.0],  # 0: coast
        [0.0, 1.0],  # 1: accelerate
        [0.0, -1.0],  # 2: brake
        [-1.0, 0.0],  # 3: steer left
        [1.0, 0.0],  # 4: steer right
        [-1.0, 0.5],  # 5: steer left, half throttle
        [1.0, 0.5],  # 6: steer right, half throttle
        [-0.5, 1.0],  # 7: half left, full throttle
        [0.5, 1.0],  # 8: half right, full throttle
    ],
    dtype=np.float64,
)
DISCRETE_ACTION_NAMES = (
    "coast",
    "accelerate",
    "brake",
    "left",
    "right",
    "left + half throttle",
    "right + half throttle",
    "half left + throttle",
    "half right + throttle",
)
# A finer set for value-based learners (``discrete_actions="fine_steer"`` where a world
# offers it): every steer of FINE_STEER_LEVELS with brake, coast or full throttle, steer
# major. The basic set's smallest steer is 0.5 (0.25 rad), too coarse to hold a bend at
# speed: the privileged expert, mapped to its nearest basic action, leaves the road on
# every track, and finishes 95-100% of laps with this set. Row 0 is coast, as in the
# basic set (gymnasium's play() takes 0 as its no-op); the others follow steer major.
FINE_STEER_LEVELS = (-1.0, -0.4, -0.15, 0.0, 0.15, 0.4, 1.0)
FINE_STEER_THROTTLES = (-1.0, 0.0, 1.0)
FINE_STEER_ACTIONS = np.array(
    [[0.0, 0.0]]
    + [
        [steer, throttle]
        for steer in FINE_STEER_LEVELS
        for throttle in FINE_STEER_THROTTLES
        if (steer, throttle) != (0.0, 0.0)
    ],
    dtype=np.float64,
)
DISCRETE_ACTION_SETS = {"basic": DISCRETE_ACTIONS, "fine_steer": FINE_STEER_ACTIONS}
# highway-env's DiscreteMetaAction, in its order: worlds with action_type="meta" (Highway)
# execute them with a low-level controller; the controls are then these indices (B,).
META_ACTION_NAMES = ("LANE_LEFT", "IDLE", "LANE_RIGHT", "FASTER", "SLOWER")


def discrete_action_table(config: WorldConfig) -> np.ndarray:
    """The (A, 2) [steer, throttle] table of ``config``'s discrete actions: the world's
    ``discrete_actions`` set (see DISCRETE_ACTION_SETS), the basic DISCRETE_ACTIONS for a
    world without that field."""
    return DISCRETE_ACTION_SETS[getattr(config, "discrete_actions", "basic")]


def observation_space(
    config: WorldConfig,
    state_low: np.ndarray,
    state_high: np.ndarray,
    world_modes: dict[str, spaces.Box] | None = None,
) -> spaces.Space:
    """The single-world observation space: one Box, or a Dict when modes are joined by '+'.

    ``state_low`` / ``state_high`` (F,) bound the world's own state fields; the route or
    road curvature at each of ``config.curvature_lookahead_m`` follows, clipped to [-1, 1].
    ``world_modes`` adds the Boxes of a world's own modes (Town's ``nav``). A config with
    ``frame_stack`` > 1 stacks every mode (see ``roadgym.envs.core.frame_stack``).
    """
    size = config.camera_size_px
    curvature = np.ones(len(config.curvature_lookahead_m))
    by_mode = {
        "rgb": spaces.Box(0, 255, (size, size, 3), np.uint8),
        "semantic": spaces.Box(0, NUM_CLASSES - 1, (size, size), np.uint8),
        "state": spaces.Box(
            np.concatenate([state_low, -curvature]).astype(np.float32),
            np.concatenate([state_high, curvature]).astype(np.float32),
            dtype=np.float32,
        ),
        **(world_modes or {}),
    }
    modes = config.modes()
    frame_stack = getattr(config, "frame_stack", 1)
    if frame_stack > 1:
        by_mode = {mode: _stacked_box(box, mode, frame_stack) for mode, box in by_mode.items()}
    if len(modes) == 1:
        return by_mode[modes[0]]
    return spaces.Dict({mode: by_mode[mode] for mode in modes})


def _stacked_box(box: spaces.Box, mode: str, k: int) -> spaces.Box:
    """The Box of ``k`` stacked frames of ``mode`` (see ``roadgym.envs.core.frame_stack``)."""
    low, high = box.low, box.high
    if mode == "semantic":  # (H, W) -> (H, W, 1): frames stack along a new channel axis
        low, high = low[..., None], high[..., None]
    # np.tile repeats along the last axis: (..., C) -> (..., k * C), frames oldest first.
    return spaces.Box(np.tile(low, k), np.tile(high, k), dtype=box.dtype)


def action_space(config: WorldConfig) -> spaces.Space:
    """``Box(-1, 1, (2,))`` [steer, throttle], ``Discrete(A)`` for the A rows of
    :func:`discrete_action_table`, or ``Discrete(5)`` for ``meta`` (``META_ACTION_NAMES``)."""
    if config.action_type == "meta":
        return spaces.Discrete(len(META_ACTION_NAMES))
    if config.action_type == "discrete":
        return spaces.Discrete(len(discrete_action_table(config)))
    return spaces.Box(-1.0, 1.0, (2,), np.float32)


def actions_to_controls(actions: object, config: WorldConfig, batch_size: int | None) -> np.ndarray:
    """Check actions and turn them into controls (B, 2) = [steer, throttle].

    ``batch_size=None`` takes one action (the single env's); an int takes that many.
    Continuous actions must have shape (2,) each and be finite; values outside [-1, 1]
    are clipped. Discrete actions must be integers in [0, A), rows of
    :func:`discrete_action_table`. Meta
    actions must be integers in [0, 5) and come back as indices (B,) int64, not controls:
    the world's low-level controller turns them into steering and throttle.
    """
    array = np.asarray(actions)
    batch_shape = () if batch_size is None else (batch_size,)
    if config.action_type in ("discrete", "meta"):
        table = discrete_action_table(config)
        count = len(META_ACTION_NAMES if config.action_type == "meta" else table)
        integral = np.issubdtype(array.dtype, np.integer) or _is_integral_float(array)
        if array.shape != batch_shape or not integral:
            raise ValueError(
                f"action = {actions!r} is not allowed; expected integer(s) of shape "
                f"{batch_shape} in [0, {count - 1}]"
            )
        index = array.astype(np.int64).reshape(-1)
        if np.any((index < 0) | (index >= count)):
            raise ValueError(
                f"action = {actions!r} is out of range; allowed: integers in [0, {count - 1}]"
            )
        return index if config.action_type == "meta" else table[index]
    expected = (*batch_shape, 2)
    # Real numbers only: a complex action would silently lose its imaginary part.
    real = np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)
    if array.shape != expected or not real:
        raise ValueError(
            f"action = {actions!r} has shape {array.shape} and dtype {array.dtype}; "
            f"expected numbers of shape {expected}: [steer, throttle] (real, not complex)"
        )
    controls = array.astype(np.float64).reshape(-1, 2)
    if not np.all(np.isfinite(controls)):
        raise ValueError(f"action = {actions!r} contains NaN or inf; allowed: finite numbers")
    return np.clip(controls, -1.0, 1.0)


def _is_integral_float(array: np.ndarray) -> bool:
    return (
        np.issubdtype(array.dtype, np.floating)
        and bool(np.all(np.isfinite(array)))
        and bool(np.all(array == np.round(array)))
    )
