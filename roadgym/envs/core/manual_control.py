"""Drive a roadgym env with the arrow keys in its pygame window."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import gymnasium as gym
import numpy as np

# Key name -> (steer, throttle) contribution; opposite keys cancel.
KEY_BINDINGS = {
    "left": (-1.0, 0.0),
    "right": (1.0, 0.0),
    "up": (0.0, 1.0),
    "down": (0.0, -1.0),
}


def keyboard_action(pressed: Mapping[str, bool]) -> np.ndarray:
    """The continuous action [steer, throttle] for the arrow keys held in ``pressed``."""
    action = np.zeros(2, dtype=np.float32)
    for key, (steer, throttle) in KEY_BINDINGS.items():
        if pressed.get(key, False):
            action += (steer, throttle)
    return np.clip(action, -1.0, 1.0)


def keys_to_action(
    action_type: str, discrete_table: np.ndarray | None = None
) -> dict[tuple[int, ...], Any]:
    """The arrow keys as ``gymnasium.utils.play.play`` wants them: every combination.

    Keys are tuples of sorted pygame key codes (any subset of the four arrows, held
    together); values are :func:`keyboard_action`'s [steer, throttle] for
    ``action_type="continuous"``, the nearest ``DISCRETE_ACTIONS`` index (or row of
    ``discrete_table``) for ``"discrete"``, or a lane change / speed change for ``"meta"``
    (Highway). No key held is ``play``'s ``noop``: pass ``noop=np.zeros(2, np.float32)``
    for continuous actions, 0 (coast) for discrete, 1 (IDLE) for meta.
    """
    import pygame

    from roadgym.envs.core.spaces import DISCRETE_ACTIONS

    table = DISCRETE_ACTIONS if discrete_table is None else discrete_table
    codes = {
        "left": pygame.K_LEFT,
        "right": pygame.K_RIGHT,
        "up": pygame.K_UP,
        "down": pygame.K_DOWN,
    }
    names = list(codes)
    mapping: dict[tuple[int, ...], Any] = {}
    for subset in range(1, 2 ** len(names)):  # play() refuses (); its noop is "no key"
        held = [name for bit, name in enumerate(names) if subset >> bit & 1]
        action = keyboard_action({name: True for name in held})
        if action_type == "meta":  # highway-env's meta actions: lanes and speed
            action = _meta_action(action)
        elif action_type == "discrete":
            distance = np.square(table - action).sum(-1)
            action = int(np.argmin(distance))  # ties: the lower index
        mapping[tuple(sorted(codes[name] for name in held))] = action
    return mapping


def _meta_action(steer_throttle: np.ndarray) -> int:
    """Arrow keys as a meta action: left/right change lane, up/down change speed."""
    from roadgym.envs.core.spaces import META_ACTION_NAMES

    steer, throttle = steer_throttle
    name = (
        "LANE_LEFT" if steer < 0 else "LANE_RIGHT" if steer > 0
        else "FASTER" if throttle > 0 else "SLOWER" if throttle < 0 else "IDLE"
    )  # fmt: skip
    return META_ACTION_NAMES.index(name)


def play(env_id: str = "roadgym/Track-v0", seed: int | None = None, **config) -> list[float]:
    """Open the env's window and drive with the arrow keys until it is closed or Esc.

    Each episode that ends starts a new one. Returns the episode returns.
    """
    import pygame

    env = gym.make(env_id, render_mode="human", action_type="continuous", **config)
    returns: list[float] = []
    try:
        env.reset(seed=seed)
        episode_return = 0.0
        while True:
            window = env.unwrapped._window
            keys = pygame.key.get_pressed()
            if window.closed_by_user or keys[pygame.K_ESCAPE]:
                break
            pressed = {
                "left": keys[pygame.K_LEFT],
                "right": keys[pygame.K_RIGHT],
                "up": keys[pygame.K_UP],
                "down": keys[pygame.K_DOWN],
            }
            _, reward, terminated, truncated, info = env.step(keyboard_action(pressed))
            episode_return += float(reward)
            if terminated or truncated:
                returns.append(episode_return)
                print(
                    f"episode {len(returns)}: return {episode_return:+.1f}, "
                    f"progress {100 * info['progress']:.1f} %, "
                    f"lap completed {info['lap_completed']}"
                )
                episode_return = 0.0
                env.reset()
    finally:
        env.close()
    return returns
