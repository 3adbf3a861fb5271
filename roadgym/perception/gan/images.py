"""Frame grids (numpy) and PNG writing for samples and edits."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from roadgym.perception.atomic import atomic_write_bytes

__all__ = ["frame_grid", "write_png"]


def frame_grid(frames: np.ndarray, columns: int, gap_px: int = 2, scale: int = 1) -> np.ndarray:
    """Tile uint8 frames ``(N, H, W, 3)`` row by row into one ``(rows*H, columns*W, 3)`` image
    with ``gap_px`` white pixels between tiles; ``scale`` enlarges each pixel (nearest)."""
    if frames.ndim != 4 or frames.dtype != np.uint8:
        raise ValueError(f"frames must be uint8 (N, H, W, 3); got {frames.dtype} {frames.shape}")
    if columns < 1:
        raise ValueError(f"columns={columns!r} must be >= 1")
    if scale > 1:
        frames = frames.repeat(scale, axis=1).repeat(scale, axis=2)
    n, h, w, c = frames.shape
    rows = -(-n // columns)
    grid = np.full(
        (rows * h + (rows - 1) * gap_px, columns * w + (columns - 1) * gap_px, c), 255, np.uint8
    )
    for i, frame in enumerate(frames):
        r, col = divmod(i, columns)
        grid[
            r * (h + gap_px) : r * (h + gap_px) + h, col * (w + gap_px) : col * (w + gap_px) + w
        ] = frame
    return grid


def write_png(path: str | Path, image: np.ndarray) -> Path:
    """Write an RGB uint8 image to ``path`` as PNG, atomically."""
    import cv2

    ok, encoded = cv2.imencode(".png", np.ascontiguousarray(image[..., ::-1]))  # cv2 is BGR
    if not ok:
        raise ValueError(f"could not encode a {image.shape} image as PNG")
    return atomic_write_bytes(path, encoded.tobytes())
