"""Label rows for sample grids, from the label combinations that occur in real frames."""

from __future__ import annotations

import numpy as np

from roadgym.perception.gan.data import LabelledFrames

__all__ = ["grid_labels", "parse_fixed_labels"]


def parse_fixed_labels(
    items: list[str], class_names: dict[str, list[str]] | dict[str, tuple[str, ...]]
) -> dict[str, int]:
    """``["light_state=yellow", ...]`` to ``{task: class id}``; errors name what is allowed."""
    fixed = {}
    for item in items:
        task, sep, name = item.partition("=")
        if not sep or task not in class_names:
            raise ValueError(
                f"label {item!r} must be task=class with task in {sorted(class_names)}"
            )
        names = list(class_names[task])
        if name not in names:
            raise ValueError(f"label {item!r}: class {name!r} is not one of {names}")
        fixed[task] = names.index(name)
    return fixed


def grid_labels(
    data: LabelledFrames,
    rows_task: str,
    per_row: int,
    fixed: dict[str, int] | None = None,
    seed: int = 0,
) -> tuple[np.ndarray, list[str]]:
    """One row per class of ``rows_task`` (classes without frames skipped), ``per_row`` label
    tuples each, copied from random real frames of that class so that the other tasks
    take combinations that occur; ``fixed`` then overrides tasks for every entry.
    Returns ``(labels (rows * per_row, T), row class names)``."""
    rng = np.random.default_rng(seed)
    column = data.column(rows_task)
    fixed = fixed or {}
    rows, names = [], []
    for class_id, name in enumerate(data.class_names[rows_task]):
        members = data.labels[:, column] == class_id
        matching = members.copy()
        for task, value in fixed.items():
            matching &= data.labels[:, data.column(task)] == value
        pool = np.flatnonzero(matching if matching.any() else members)
        if len(pool) == 0:
            continue
        picked = data.labels[rng.choice(pool, per_row, replace=len(pool) < per_row)].copy()
        for task, value in fixed.items():
            picked[:, data.column(task)] = value
        rows.append(picked)
        names.append(name)
    return np.concatenate(rows), names
