"""Learning curves as PNG, read from a run's TensorBoard log and drawn with OpenCV.

matplotlib is not a roadgym dependency; a curve needs axes, ticks, a few polylines and a
legend, which OpenCV draws well enough.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import cv2
import numpy as np

from roadgym.perception.atomic import atomic_write_bytes

__all__ = ["DEFAULT_PANELS", "export_learning_curve", "plot_panels", "read_scalars"]

# Panel title -> scalar tags drawn in it.
DEFAULT_PANELS: dict[str, tuple[str, ...]] = {
    "held-out evaluation (fraction)": ("eval/progress", "eval/lap_completed", "eval/off_road"),
    "training episodes (fraction)": ("driving/progress", "driving/lap_completed"),
    "training return": ("rollout/ep_rew_mean", "eval/return"),
}
_COLOURS = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189)]
_FONT = cv2.FONT_HERSHEY_SIMPLEX


def read_scalars(log_dir: str | Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Every scalar tag in a TensorBoard log directory: ``{tag: (steps, values)}``.

    Several event files (a resumed run) are merged, later files winning on equal steps.
    """
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    log_dir = Path(log_dir)
    if not log_dir.is_dir():
        raise FileNotFoundError(f"TensorBoard log directory {str(log_dir)!r} does not exist")
    merged: dict[str, dict[int, float]] = {}
    files = sorted(log_dir.glob("events.out.tfevents.*"), key=lambda p: p.stat().st_mtime)
    if not files:
        raise FileNotFoundError(f"no TensorBoard event file in {log_dir}")
    for event_file in files:
        accumulator = EventAccumulator(str(event_file), size_guidance={"scalars": 0})
        accumulator.Reload()
        for tag in accumulator.Tags()["scalars"]:
            points = merged.setdefault(tag, {})
            for event in accumulator.Scalars(tag):
                points[event.step] = event.value
    return {
        tag: (np.array(sorted(points)), np.array([points[s] for s in sorted(points)]))
        for tag, points in merged.items()
    }


def _nice_ticks(low: float, high: float, count: int = 5) -> np.ndarray:
    span = max(high - low, 1e-9)
    raw = span / count
    magnitude = 10 ** np.floor(np.log10(raw))
    step = min((m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw), default=raw)
    return np.arange(np.ceil(low / step) * step, high + step * 0.5, step)


def _format(value: float) -> str:
    value = round(float(value), 9) + 0.0  # no "-0" labels from float noise
    if abs(value) >= 1000:
        return f"{value / 1000:g}k"
    return f"{value:g}"


def _draw_panel(
    canvas: np.ndarray,
    box: tuple[int, int, int, int],
    title: str,
    series: Mapping[str, tuple[np.ndarray, np.ndarray]],
    x_max: float,
) -> None:
    left, top, width, height = box
    # The legend sits between the panel title and the plot, never over the curves.
    legend_h = 18 * len(series)
    plot_left, plot_top = left + 70, top + 36 + legend_h
    plot_w, plot_h = width - 90, height - 80 - legend_h
    cv2.putText(canvas, title, (left + 70, top + 22), _FONT, 0.6, (0, 0, 0), 1, cv2.LINE_AA)
    values = np.concatenate([v for _, v in series.values()]) if series else np.zeros(1)
    y_low, y_high = float(min(values.min(), 0.0)), float(values.max())
    if y_high - y_low < 1e-9:
        y_high = y_low + 1.0
    pad = 0.05 * (y_high - y_low)
    y_low, y_high = y_low - (pad if y_low < 0 else 0), y_high + pad

    def to_px(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        px = plot_left + x / max(x_max, 1) * plot_w
        py = plot_top + plot_h - (y - y_low) / (y_high - y_low) * plot_h
        return np.stack([px, py], axis=-1).round().astype(np.int32)  # (N, 2)

    grey, black = (220, 220, 220), (0, 0, 0)
    for tick in _nice_ticks(y_low, y_high):
        ((_, y),) = to_px(np.zeros(1), np.array([tick]))
        cv2.line(canvas, (plot_left, y), (plot_left + plot_w, y), grey, 1)
        cv2.putText(canvas, _format(tick), (left + 8, y + 5), _FONT, 0.45, black, 1, cv2.LINE_AA)
    for tick in _nice_ticks(0, x_max):
        ((x, _),) = to_px(np.array([tick]), np.array([y_low]))
        cv2.line(canvas, (x, plot_top), (x, plot_top + plot_h), grey, 1)
        label = _format(tick)
        cv2.putText(
            canvas,
            label,
            (x - 4 * len(label), plot_top + plot_h + 18),
            _FONT,
            0.45,
            black,
            1,
            cv2.LINE_AA,
        )
    cv2.rectangle(canvas, (plot_left, plot_top), (plot_left + plot_w, plot_top + plot_h), black, 1)
    cv2.putText(
        canvas,
        "env steps",
        (plot_left + plot_w // 2 - 35, plot_top + plot_h + 38),
        _FONT,
        0.45,
        black,
        1,
        cv2.LINE_AA,
    )
    for index, (tag, (steps, vals)) in enumerate(series.items()):
        colour = _COLOURS[index % len(_COLOURS)][::-1]  # RGB -> BGR
        points = to_px(steps.astype(float), vals.astype(float))
        cv2.polylines(canvas, [points], False, colour, 2, cv2.LINE_AA)
        if len(points) < 30:
            for point in points:
                cv2.circle(canvas, tuple(int(c) for c in point), 3, colour, -1, cv2.LINE_AA)
        legend_y = top + 44 + 18 * index
        cv2.line(canvas, (plot_left + 10, legend_y - 4), (plot_left + 30, legend_y - 4), colour, 2)
        text = f"{tag}  (last {vals[-1]:.3g}, max {vals.max():.3g})"
        cv2.putText(canvas, text, (plot_left + 36, legend_y), _FONT, 0.45, black, 1, cv2.LINE_AA)


def plot_panels(
    scalars: Mapping[str, tuple[np.ndarray, np.ndarray]],
    panels: Mapping[str, Sequence[str]],
    title: str,
    panel_size: tuple[int, int] = (760, 320),
) -> np.ndarray:
    """Stack one panel per entry of ``panels`` (tags missing from ``scalars`` are skipped)."""
    present = {
        name: {tag: scalars[tag] for tag in tags if tag in scalars and len(scalars[tag][0])}
        for name, tags in panels.items()
    }
    present = {name: series for name, series in present.items() if series}
    if not present:
        raise ValueError(
            f"none of the tags {sorted({t for ts in panels.values() for t in ts})} are in the log"
        )
    x_max = max(float(s.max()) for series in present.values() for s, _ in series.values())
    width, height = panel_size
    canvas = np.full((40 + height * len(present), width, 3), 255, dtype=np.uint8)  # BGR
    scale = 0.7
    while scale > 0.35 and cv2.getTextSize(title, _FONT, scale, 2)[0][0] > width - 24:
        scale -= 0.05  # shrink a long title until it fits
    cv2.putText(canvas, title, (12, 28), _FONT, scale, (0, 0, 0), 2, cv2.LINE_AA)
    for index, (name, series) in enumerate(present.items()):
        _draw_panel(canvas, (0, 40 + index * height, width, height), name, series, x_max)
    return canvas


def export_learning_curve(
    log_dir: str | Path,
    out_path: str | Path,
    *,
    title: str = "",
    panels: Mapping[str, Sequence[str]] | None = None,
) -> Path:
    """Read ``log_dir`` (a run's ``tb/``) and write the curve PNG to ``out_path`` atomically."""
    scalars = read_scalars(log_dir)
    image = plot_panels(scalars, panels or DEFAULT_PANELS, title or str(log_dir))
    ok, encoded = cv2.imencode(".png", image)
    if not ok:
        raise RuntimeError("OpenCV could not encode the curve as PNG")
    return atomic_write_bytes(out_path, encoded.tobytes())
