"""Per-route failures and one table row from ``roadgym evaluate --json`` reports.

Usage: ``python experiments/town_student/failures.py runs/eval-a.json [runs/eval-b.json ...]``

For each report: the row of RESULTS.md (route completion, success, driving score,
stop-sign / red-light violations and vehicle / pedestrian collisions per route, stalled
share) and every route that did not end in success or had an infraction, with its seed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

INFRACTIONS = (
    "collisions_vehicle",
    "collisions_pedestrian",
    "red_light_violations",
    "stop_sign_violations",
    "stalled",
    "off_route",
    "off_road",
)


def row(report: dict) -> str:
    """A markdown table row of the report's means (route completion and score with std)."""
    episodes = report["episodes"]

    def values(key: str) -> np.ndarray:
        return np.array([float(e[key]) for e in episodes])

    rc, ds = values("route_completion"), values("driving_score")
    return (
        f"| {report.get('agent', '?')} ({len(episodes)} routes) "
        f"| {rc.mean():.3f} +- {rc.std():.3f} | {values('success').mean():.0%} "
        f"| {ds.mean():.3f} +- {ds.std():.3f} "
        f"| {values('stop_sign_violations').mean():.2f} / "
        f"{values('red_light_violations').mean():.2f} "
        f"| {values('collisions_vehicle').mean():.2f} / "
        f"{values('collisions_pedestrian').mean():.2f} "
        f"| {values('stalled').mean():.0%} |"
    )


def failures(report: dict) -> list[str]:
    """One line per route that failed or had an infraction: seed, completion, what happened."""
    lines = []
    for episode in report["episodes"]:
        what = [k for k in INFRACTIONS if float(episode[k]) > 0]
        if what or not episode["success"]:
            lines.append(
                f"  {episode['seed']}: completion {episode['route_completion']:.2f}, "
                f"{'success' if episode['success'] else 'failed'}, " + (", ".join(what) or "-")
            )
    return lines


def main(paths: list[str]) -> None:
    """Print each report's row and failures."""
    for path in paths:
        report = json.loads(Path(path).read_text(encoding="utf-8"))
        print(path)
        print(row(report))
        print("\n".join(failures(report)))


if __name__ == "__main__":
    main(sys.argv[1:])
