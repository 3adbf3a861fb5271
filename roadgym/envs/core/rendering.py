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


# The controlled cars of a multi-agent world, by agent index: car_0 is the ego blue (as
# in the single-agent env), car_j (j >= 1) AGENT_COLOURS[j % 8], whichever car the view
# follows, so a car keeps its colour when the view switches to another.
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


def agent_colour(agent: int) -> tuple[int, int, int]:
    """The render colour (RGB) of controlled car ``agent`` of a world: car_0 ego blue,
    car_j AGENT_COLOURS[j % 8] (nine distinct colours, then they repeat)."""
    if agent == 0:
        return tuple(int(c) for c in PALETTE[SemanticClass.EGO_CAR])
    return AGENT_COLOURS[agent % len(AGENT_COLOURS)]


def draw_ego_car(
    image: np.ndarray, corners_px16: np.ndarray, colour: tuple[int, int, int] | None = None
) -> None:
    """Fill the ego car from its four corners (4, 2), front pair first, in 1/16 pixels;
    ``colour``: the ego blue unless given (a multi-agent world's car colours)."""
    if colour is None:
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


def draw_agent_marks(
    image: np.ndarray,
    centres_px: np.ndarray,
    agents: np.ndarray,
    followed: int,
    radius_px: int,
) -> None:
    """Label controlled cars with their index (``agents``, at ``centres_px`` (K, 2)) and
    ring the car the view follows, so that cars of one colour (past nine) are told
    apart and the followed one is found at a glance."""
    for (x, y), agent in zip(
        np.round(centres_px).astype(int).tolist(), agents.tolist(), strict=True
    ):
        if agent == followed:
            cv2.circle(image, (x, y), radius_px, (255, 255, 255), 2, cv2.LINE_AA)
        text = str(agent)
        origin = (x + radius_px // 2, y - radius_px // 2)
        for colour, thickness in (((0, 0, 0), 3), ((255, 255, 255), 1)):
            cv2.putText(
                image, text, origin, cv2.FONT_HERSHEY_SIMPLEX, 0.4, colour, thickness, cv2.LINE_AA
            )


def draw_roster(
    image: np.ndarray, rows: list[tuple[tuple[int, int, int], str]], chosen: int
) -> None:
    """Draw one line per controlled car (its colour swatch and ``text``) at the bottom
    left, the ``chosen`` one marked; columns are added when the rows do not fit."""
    if not rows:
        return
    size_px = image.shape[0]
    line_px, width_px = 15, 10 + 7 * max(len(text) for _, text in rows) + 18
    per_column = max(1, (size_px // 2) // line_px)
    columns = -(-len(rows) // per_column)
    height_px = line_px * min(len(rows), per_column) + 6
    panel = image[size_px - height_px :, : min(width_px * columns, image.shape[1])]
    panel[:] = panel // 3
    for i, (colour, text) in enumerate(rows):
        column, row = divmod(i, per_column)
        x0 = 4 + column * width_px
        y0 = size_px - height_px + 4 + row * line_px
        cv2.rectangle(image, (x0, y0 + 2), (x0 + 9, y0 + 11), colour, -1)
        mark = ">" if i == chosen else " "
        white = (255, 255, 255) if i == chosen else (200, 200, 200)
        cv2.putText(
            image,
            f"{mark}{text}",
            (x0 + 12, y0 + 11),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.38,
            white,
            1,
            cv2.LINE_AA,
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
        self.pressed_keys: list[str] = []  # pygame key names pressed before the last show

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
        self.pressed_keys = []
        for event in pygame.event.get():
            if event.type == pygame.QUIT:
                self.closed_by_user = True
            elif event.type == pygame.KEYDOWN:
                self.pressed_keys.append(pygame.key.name(event.key))
        surface = pygame.surfarray.make_surface(np.ascontiguousarray(image.swapaxes(0, 1)))
        self.screen.blit(surface, (0, 0))
        pygame.display.flip()
        self.clock.tick(self.fps)

    def close(self) -> None:
        if self.screen is not None:
            self._pygame.display.quit()
            self.screen = None
