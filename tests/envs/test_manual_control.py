import subprocess
import sys
from pathlib import Path

import numpy as np

from roadgym.envs.core.manual_control import keyboard_action

ROOT = Path(__file__).parents[2]


def test_arrow_keys_map_to_steer_and_throttle():
    np.testing.assert_array_equal(keyboard_action({}), [0, 0])
    np.testing.assert_array_equal(keyboard_action({"left": True, "up": True}), [-1, 1])
    np.testing.assert_array_equal(keyboard_action({"right": True, "down": True}), [1, -1])
    np.testing.assert_array_equal(keyboard_action({"left": True, "right": True}), [0, 0])


def test_play_script_opens_a_headless_window_and_quits(tmp_path):
    # Post a quit event after a few frames; the loop must close the window and return.
    code = (
        "import pygame, roadgym\n"
        "from roadgym.envs.core import manual_control, rendering\n"
        "show = rendering.HumanWindow.show\n"
        "frames = []\n"
        "def counting_show(self, image):\n"
        "    frames.append(1)\n"
        "    if len(frames) == 5:\n"
        "        pygame.event.post(pygame.event.Event(pygame.QUIT))\n"
        "    show(self, image)\n"
        "rendering.HumanWindow.show = counting_show\n"
        "manual_control.play(seed=0, render_size_px=128)\n"
        "print(len(frames))\n"
    )
    env = {"SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "dummy", "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert int(out.stdout.strip().splitlines()[-1]) >= 5
