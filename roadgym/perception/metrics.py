"""Classification metrics: confusion matrix, per-class precision/recall/F1, a PNG of it.

Written here rather than taken from scikit-learn so that training needs nothing
beyond torch and numpy; the PNG is drawn with OpenCV, already a roadgym dependency.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from roadgym.perception.atomic import atomic_write_bytes

__all__ = [
    "classification_report",
    "confusion_matrix",
    "format_report",
    "write_confusion_png",
]


def confusion_matrix(true: np.ndarray, predicted: np.ndarray, num_classes: int) -> np.ndarray:
    """``(num_classes, num_classes)`` counts; row = true class, column = predicted class."""
    true = np.asarray(true, dtype=np.int64)
    predicted = np.asarray(predicted, dtype=np.int64)
    flat = np.bincount(true * num_classes + predicted, minlength=num_classes * num_classes)
    return flat.reshape(num_classes, num_classes)


def classification_report(matrix: np.ndarray, class_names: Sequence[str]) -> dict[str, Any]:
    """Per-class precision, recall, F1 and support, plus accuracy and macro/weighted means."""
    matrix = np.asarray(matrix, dtype=np.float64)
    correct = np.diag(matrix)
    support = matrix.sum(axis=1)
    predicted = matrix.sum(axis=0)
    # A class never predicted (or never present) gets 0, not NaN, as scikit-learn does.
    precision = np.divide(correct, predicted, out=np.zeros_like(correct), where=predicted > 0)
    recall = np.divide(correct, support, out=np.zeros_like(correct), where=support > 0)
    denominator = precision + recall
    f1 = np.divide(
        2 * precision * recall, denominator, out=np.zeros_like(correct), where=denominator > 0
    )
    total = support.sum()
    per_class = {
        name: {
            "precision": float(precision[i]),
            "recall": float(recall[i]),
            "f1": float(f1[i]),
            "support": int(support[i]),
        }
        for i, name in enumerate(class_names)
    }
    weights = support / total if total > 0 else np.zeros_like(support)
    return {
        "accuracy": float(correct.sum() / total) if total > 0 else 0.0,
        "per_class": per_class,
        "macro_avg": {
            "precision": float(precision.mean()),
            "recall": float(recall.mean()),
            "f1": float(f1.mean()),
        },
        "weighted_avg": {
            "precision": float((precision * weights).sum()),
            "recall": float((recall * weights).sum()),
            "f1": float((f1 * weights).sum()),
        },
        "support": int(total),
        "confusion_matrix": matrix.astype(np.int64).tolist(),
        "class_names": list(class_names),
    }


def format_report(report: dict[str, Any]) -> str:
    """A plain-text table of :func:`classification_report` output."""
    width = max(12, *(len(name) for name in report["per_class"]))
    header = f"{'class':<{width}} {'precision':>9} {'recall':>9} {'f1':>9} {'support':>9}"
    lines = [header, "-" * len(header)]
    for name, row in report["per_class"].items():
        lines.append(
            f"{name:<{width}} {row['precision']:>9.4f} {row['recall']:>9.4f} "
            f"{row['f1']:>9.4f} {row['support']:>9d}"
        )
    lines.append("-" * len(header))
    for label in ("macro_avg", "weighted_avg"):
        row = report[label]
        lines.append(
            f"{label:<{width}} {row['precision']:>9.4f} {row['recall']:>9.4f} "
            f"{row['f1']:>9.4f} {report['support']:>9d}"
        )
    lines.append(f"{'accuracy':<{width}} {report['accuracy']:>9.4f}")
    return "\n".join(lines)


def write_confusion_png(
    matrix: np.ndarray, class_names: Sequence[str], path: str | Path, cell_px: int = 64
) -> Path:
    """Draw the confusion matrix (row-normalised colours, raw counts) as a PNG, atomically."""
    import cv2

    matrix = np.asarray(matrix, dtype=np.int64)
    n = len(class_names)
    rows = matrix.sum(axis=1, keepdims=True)
    share = np.divide(matrix, rows, out=np.zeros(matrix.shape), where=rows > 0)  # (n, n)
    margin = 12 + 8 * max(len(name) for name in class_names)
    size = margin + n * cell_px + 8
    image = np.full((size, size, 3), 255, dtype=np.uint8)
    font = cv2.FONT_HERSHEY_SIMPLEX
    for i in range(n):
        for j in range(n):
            top, left = margin + i * cell_px, margin + j * cell_px
            shade = int(255 - 200 * share[i, j])
            cv2.rectangle(
                image,
                (left, top),
                (left + cell_px - 1, top + cell_px - 1),
                (255, shade, shade),
                thickness=-1,
            )  # BGR: blue deepens with share
            colour = (255, 255, 255) if share[i, j] > 0.6 else (0, 0, 0)
            cv2.putText(
                image,
                str(matrix[i, j]),
                (left + 6, top + cell_px // 2 + 5),
                font,
                0.45,
                colour,
                1,
                cv2.LINE_AA,
            )
        cv2.putText(
            image,
            class_names[i],
            (4, margin + i * cell_px + cell_px // 2 + 5),
            font,
            0.4,
            (0, 0, 0),
            1,
            cv2.LINE_AA,
        )
    # Column names run vertically: write them on a strip and rotate it.
    strip = np.full((n * cell_px, margin, 3), 255, dtype=np.uint8)  # row j = column j
    for j in range(n):
        cv2.putText(
            strip,
            class_names[j],
            (4, j * cell_px + cell_px // 2 + 5),
            font,
            0.4,
            (0, 0, 0),
            1,
            cv2.LINE_AA,
        )
    image[:margin, margin : margin + n * cell_px] = np.rot90(strip, k=1)
    cv2.putText(image, "true \\ predicted", (4, 14), font, 0.4, (80, 80, 80), 1, cv2.LINE_AA)
    ok, encoded = cv2.imencode(".png", image)
    if not ok:
        raise RuntimeError("OpenCV failed to encode the confusion matrix PNG")
    return atomic_write_bytes(path, encoded.tobytes())
