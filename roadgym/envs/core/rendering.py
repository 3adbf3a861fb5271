"""What people watch, shared by every world: the ego car, the HUD and camera inset, the window.

Each world draws its own bird's-eye frame (``track/render.py``, ``town/render.py``) with
these pieces. Frames are drawn with opencv from the lane graph, never through SDL, so ``rgb_array``
is right on a headless machine; only :class:`HumanWindow` needs pygame.
"""

from __future__ import annotations

import cv2
import numpy as np

from roadgym.envs.core.semantic import PALETTE, SemanticClass

INSET_FRACTION = 0.3  # side of the camera inset as a share of the frame


# The other controlled cars of a multi-agent world, by agent index (the chosen one is
# drawn as the ego car).
AGENT_COLOURS = (  # none near the ego car's blue, the NPCs' yellow, road grey, grass
    (230, 50, 50),
    (240, 240, 240),
    (200, 60, 220),
    (40, 220, 220),
    (250, 130, 30),
    (20, 20, 20),
    (250, 120, 200),
    (150, 90, 40),
)


def draw_ego_car(image: np.ndarray, corners_px16: np.ndarray) -> None:
    """Fill the ego car from its four corners (4, 2), front pair first, in 1/16 pixels."""
    colour = tuple(int(c) for c in PALETTE[SemanticClass.EGO_CAR])
    cv2.fillPoly(image, [corners_px16], colour, lineType=cv2.LINE_AA, shift=4)
    # A white windscreen edge shows which way the car points.
    cv2.polylines(image, [corners_px16[:2]], False, (255, 255, 255), 2, cv2.LINE_AA, shift=4)


def draw_overlays(
    image: np.ndarray, camera_rgb: np.ndarray | None, hud_lines: tuple[str, ...]
) -> None:
    """Draw the agent's camera as an inset (top right) and the HUD text (top left)."""
    size_px = image.shape[1]
    if camera_rgb is not None:
        inset = int(size_px * INSET_FRACTION)
        small = cv2.resize(camera_rgb, (inset, inset), interpolation=cv2.INTER_NEAREST)
        image[4 : 4 + inset, -inset - 4 : -4] = small
        cv2.rectangle(image, (size_px - inset - 5, 3), (size_px - 4, inset + 4), (255, 255, 255), 1)
    if hud_lines:
        # Darken a panel behind the text so it reads on grass and road alike.
        panel = image[: 12 + 20 * len(hud_lines), : 10 + 10 * max(map(len, hud_lines))]
        panel[:] = panel // 3
    for i, line in enumerate(hud_lines):
        origin = (8, 22 + 20 * i)
        cv2.putText(
            image, line, origin, cv2.FONT_HERSHEY_SIMPLEX, 0.55, (255, 255, 255), 1, cv2.LINE_AA
        )


class HumanWindow:
    """A pygame window that shows frames at a fixed rate and closes cleanly."""

    def __init__(self, title: str, fps: float) -> None:
        import pygame  # imported here: only the window needs SDL

        self._pygame = pygame
        self.title = title
        self.fps = fps
        self.screen = None
        self.clock = None
        self.closed_by_user = False

    def show(self, image: np.ndarray) -> None:
        """Display an RGB frame (H, W, 3) and wait for the next tick of ``fps``."""
        pygame = self._pygame
        if self.screen is None:
            # The display only: pygame.init() would also open audio, which prints ALSA
            # errors on machines without a sound card.
            pygame.display.init()
            pygame.display.set_caption(self.title)
            self.screen = pygame.display.set_mode((image.shape[1], image.shape[0]))
            self.clock = pygame.time.Clock()
        for event in pygame.event.get():
            if event.type == pygame.QUIT:
                self.closed_by_user = True
        surface = pygame.surfarray.make_surface(np.ascontiguousarray(image.swapaxes(0, 1)))
        self.screen.blit(surface, (0, 0))
        pygame.display.flip()
        self.clock.tick(self.fps)

    def close(self) -> None:
        if self.screen is not None:
            self._pygame.display.quit()
            self.screen = None
