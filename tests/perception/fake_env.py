"""A tiny labelled image env following the roadgym label contract, for perception tests.

``info["labels"]`` holds ``road_layout`` (where a bright bar sits: centre, left,
right) and ``light_state`` (a red or green corner square); ``unwrapped.label_names``
names the classes. Frames are uint8 HWC and depend only on the seed and actions.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
from gymnasium import spaces

FAKE_LABEL_NAMES = {
    "road_layout": ("straight", "curve_left", "curve_right"),
    "light_state": ("red", "green"),
}


class FakeLabelledEnv(gym.Env):
    """Frames whose content encodes the labels; random episode lengths up to ``max_steps``."""

    metadata = {"render_modes": []}

    def __init__(self, size: int = 36, max_steps: int = 12) -> None:
        self.size = size
        self.max_steps = max_steps
        self.observation_space = spaces.Box(0, 255, (size, size, 3), dtype=np.uint8)
        self.action_space = spaces.Discrete(3)
        self.label_names = {task: list(names) for task, names in FAKE_LABEL_NAMES.items()}

    def _observe(self) -> tuple[np.ndarray, dict]:
        frame = self.np_random.integers(0, 40, (self.size, self.size, 3), dtype=np.uint8)
        third = self.size // 3
        column = {0: third, 1: 0, 2: 2 * third}[self.layout]
        frame[:, column : column + third, :] += 180  # the "road"
        frame[:4, :4, 0 if self.light == 0 else 1] = 255  # the "light"
        labels = {"road_layout": self.layout, "light_state": self.light}
        return frame, {"labels": labels}

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self.steps = 0
        self.layout = int(self.np_random.integers(3))
        self.light = int(self.np_random.integers(2))
        return self._observe()

    def step(self, action):
        self.steps += 1
        # The action nudges the layout, so a policy changes what is seen.
        self.layout = int((self.layout + int(action) + self.np_random.integers(2)) % 3)
        if self.np_random.random() < 0.3:
            self.light = 1 - self.light
        frame, info = self._observe()
        terminated = bool(self.np_random.random() < 0.05)
        return frame, 0.0, terminated, self.steps >= self.max_steps, info


class UnlabelledEnv(FakeLabelledEnv):
    """The same env without the label contract (no ``info['labels']``)."""

    def _observe(self):
        frame, _ = super()._observe()
        return frame, {}


def make_steady_policy(env):
    """A policy factory (``--data-policy``): always the action 1, checked against the env."""
    if not isinstance(env.unwrapped, FakeLabelledEnv):
        raise TypeError(f"expected the fake env, got {env!r}")
    return lambda observation, info: 1
