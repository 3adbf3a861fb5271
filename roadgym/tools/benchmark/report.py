"""The benchmark's Markdown table and its JSON file."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from roadgym.tools.benchmark.anchors import ANCHORS, BASELINE, HIGHWAY_BASELINE, RESET_BASELINE


def format_table(rows: dict[str, dict[str, Any]], ppo: dict[str, Any] | None) -> str:
    """A Markdown table of the rows and the PPO comparison."""
    base = rows.get(BASELINE, {}).get("fps")
    cpu_base = rows.get(BASELINE, {}).get("cpu_fps")
    highway_base = rows.get(HIGHWAY_BASELINE, {}).get("fps")
    lines = [
        "| env | frames/s | vs CarRacing single | frames/CPU s | vs CarRacing (CPU) "
        "| vs highway-fast | vs its anchor | RSS delta (MiB) | traced peak (MiB) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for anchor in ANCHORS:
        row = rows.get(anchor.name)
        if row is None or anchor.resets:
            continue
        if "skipped" in row:
            lines.append(f"| {anchor.description} | skipped: {row['skipped']} | | | | | | | |")
            continue
        ratio = f"{row['fps'] / base:.1f}x" if base else "n/a"
        cpu_ratio = f"{row['cpu_fps'] / cpu_base:.1f}x" if cpu_base else "n/a"
        highway_ratio = f"{row['fps'] / highway_base:.1f}x" if highway_base else "n/a"
        note = " (BLANK FRAMES)" if row.get("frames_blank") else ""
        versus = rows.get(anchor.versus or "", {}).get("fps")
        versus_ratio = f"{row['fps'] / versus:.0f}x {anchor.versus}" if versus else ""
        rss = row.get("rss_delta_mib")
        traced = row.get("traced_peak_mib")
        lines.append(
            f"| {anchor.description}{note} | {row['fps']:,.0f} | {ratio} | "
            f"{row['cpu_fps']:,.0f} | {cpu_ratio} | {highway_ratio} | {versus_ratio} | "
            f"{'' if rss is None else f'{rss:.0f}'} | "
            f"{'' if traced is None else f'{traced:.0f}'} |"
        )
    lines += _reset_table(rows)
    if ppo is not None:
        lines += [
            "",
            "| SB3 PPO training | env steps/s | vs CarRacing PPO | steps/CPU s | (CPU) |",
            "|---|---:|---:|---:|---:|",
        ]
        for key in ("roadgym", "carracing"):
            entry = ppo.get(key)
            if entry is None:
                continue
            if "skipped" in entry:
                lines.append(f"| {key} | skipped: {entry['skipped']} | | | |")
                continue
            ratio = f"{ppo['ratio']:.1f}x" if "ratio" in ppo else "n/a"
            cpu_ratio = f"{ppo['cpu_ratio']:.1f}x" if "cpu_ratio" in ppo else "n/a"
            lines.append(
                f"| {entry['setup']} | {entry['steps_per_s']:,.0f} | "
                f"{ratio if key == 'roadgym' else '1.0x'} | {entry['steps_per_cpu_s']:,.0f} | "
                f"{cpu_ratio if key == 'roadgym' else '1.0x'} |"
            )
    return "\n".join(lines)


def _reset_table(rows: dict[str, dict[str, Any]]) -> list[str]:
    """Lines of the reset table (milliseconds per reset), empty when no reset row ran."""
    chosen = [a for a in ANCHORS if a.resets and a.name in rows]
    if not chosen:
        return []
    base = rows.get(RESET_BASELINE, {}).get("reset_cpu_ms")
    lines = [
        "",
        "| reset | ms per reset (median block) | ms per reset (CPU) | mean of all resets (ms) "
        "| CarRacing reset / this (CPU) |",
        "|---|---:|---:|---:|---:|",
    ]
    for anchor in chosen:
        row = rows[anchor.name]
        if "skipped" in row:
            lines.append(f"| {anchor.description} | skipped: {row['skipped']} | | | |")
            continue
        ratio = f"{base / row['reset_cpu_ms']:.2f}x" if base else "n/a"
        wall, cpu, mean = row["reset_ms"], row["reset_cpu_ms"], row["reset_mean_ms"]
        lines.append(f"| {anchor.description} | {wall:.1f} | {cpu:.1f} | {mean:.1f} | {ratio} |")
    lines.append(
        "(each reset a new seed; the median over blocks of resets, see "
        "roadgym.tools.benchmark.timing.time_resets)"
    )
    return lines


def write_json_atomically(path: Path, payload: dict[str, Any]) -> None:
    """Write to a temporary file beside ``path`` and rename it: never a half file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, suffix=".tmp", delete=False) as tmp:
        json.dump(payload, tmp, indent=2)
    os.replace(tmp.name, path)
