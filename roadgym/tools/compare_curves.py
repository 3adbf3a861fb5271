"""Several runs' learning curves in one figure (matplotlib), for side-by-side comparisons.

    python -m roadgym.tools.compare_curves --out town_ppo_init.png \\
        --run "scratch=runs/compare-scratch-s0/tb" --run "student=runs/compare-student-s0/tb"

Each panel is one scalar tag of the training log (default: route completion, driving
score and return of the training episodes), each run one line, smoothed with a running
mean over ``--smooth`` logged points (the raw points are drawn faintly). matplotlib is not
a roadgym dependency; this tool asks for it when it is missing.
"""

from __future__ import annotations

import argparse
import io
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from roadgym.agents.curves import read_scalars
from roadgym.perception.atomic import atomic_write_bytes

__all__ = ["DEFAULT_TAGS", "plot_comparison"]

DEFAULT_TAGS: dict[str, str] = {
    "driving/route_completion": "route completion (training episodes)",
    "driving/driving_score": "driving score (training episodes)",
    "rollout/ep_rew_mean": "episode return (training)",
}


def _running_mean(values: np.ndarray, window: int) -> np.ndarray:
    if window <= 1 or len(values) < 2:
        return values
    cumulative = np.cumsum(np.insert(values.astype(float), 0, 0.0))
    counts = np.minimum(np.arange(1, len(values) + 1), window)
    upper = np.arange(1, len(values) + 1)
    return (cumulative[upper] - cumulative[upper - counts]) / counts


def plot_comparison(
    runs: Mapping[str, str | Path],
    out: str | Path,
    *,
    tags: Mapping[str, str] | None = None,
    smooth: int = 10,
    title: str = "",
    max_steps: int | None = None,
) -> Path:
    """Draw ``tags`` (tag -> panel title) of every run (label -> TensorBoard dir) to ``out``.

    ``max_steps`` cuts every run at that many env steps (an equal budget in the figure).
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as error:
        raise ImportError("compare_curves needs matplotlib: pip install matplotlib") from error
    tags = dict(tags or DEFAULT_TAGS)
    scalars = {label: read_scalars(path) for label, path in runs.items()}
    figure, axes = plt.subplots(1, len(tags), figsize=(5.2 * len(tags), 3.8), squeeze=False)
    for axis, (tag, panel_title) in zip(axes[0], tags.items(), strict=True):
        for index, (label, series) in enumerate(scalars.items()):
            if tag not in series:
                continue
            steps, values = series[tag]
            if max_steps is not None:
                keep = steps <= max_steps
                steps, values = steps[keep], values[keep]
            colour = f"C{index}"
            axis.plot(steps, values, color=colour, alpha=0.15, linewidth=0.8)
            axis.plot(steps, _running_mean(values, smooth), color=colour, label=label)
        axis.set_title(panel_title, fontsize=10)
        axis.set_xlabel("env steps")
        axis.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8, loc="best")
    if title:
        figure.suptitle(title, fontsize=11)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    plt.close(figure)
    return atomic_write_bytes(out, buffer.getvalue())


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m roadgym.tools.compare_curves --out PNG --run LABEL=TB_DIR ...``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="PNG to write")
    parser.add_argument("--run", action="append", required=True, metavar="LABEL=TB_DIR")
    parser.add_argument("--smooth", type=int, default=10, help="running-mean window (points)")
    parser.add_argument("--title", default="")
    parser.add_argument("--max-steps", type=int, help="cut every run at this many env steps")
    args = parser.parse_args(argv)
    runs = {}
    for item in args.run:
        label, sep, path = item.partition("=")
        if not sep or not path:
            parser.error(f"--run {item!r}; allowed: LABEL=TB_DIR")
        runs[label] = path
    print(
        plot_comparison(
            runs, args.out, smooth=args.smooth, title=args.title, max_steps=args.max_steps
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
