"""The stall rule every world shares: no progress for too long ends the episode.

Standing still must never be the cheapest policy. A world measures its own progress
(arc length along the lap or the route); :class:`StallClock` counts, per world, the
steps since that progress last advanced by :data:`STALL_PROGRESS_M` beyond the point
where the count started. Speed alone would not do: a car can creep or weave on the
spot at speed without getting anywhere, and a car at a red light is rightly at rest.
"""

from __future__ import annotations

import numpy as np

STALL_PROGRESS_M = 1.0  # progress below this, however long, is no progress


class StallClock:
    """Steps since each of B worlds last made :data:`STALL_PROGRESS_M` of progress.

    ``timeout_s`` 0 disables the rule (:meth:`update` then never reports a stall, but
    still counts, so ``steps_since_progress`` stays meaningful).
    """

    def __init__(self, batch_size: int, timeout_s: float, dt_s: float) -> None:
        self.timeout_steps = int(round(timeout_s / dt_s)) if timeout_s > 0 else 0
        self.anchor_m = np.zeros(batch_size)  # progress where the current count started
        self.steps_since_progress = np.zeros(batch_size, dtype=np.int64)

    def reset(self, index: int | np.ndarray, progress_m: float | np.ndarray) -> None:
        """Start world(s) ``index`` afresh at ``progress_m``."""
        self.anchor_m[index] = progress_m
        self.steps_since_progress[index] = 0

    def update(self, progress_m: np.ndarray, worlds: np.ndarray | None = None) -> np.ndarray:
        """Count one step of every world at ``progress_m`` (B,); whether each stalled (B,).

        A world stalls on the step where its count reaches the timeout, that is after
        ``timeout_s`` of simulated time without progress. ``worlds`` (indices) counts a
        step of those worlds only, at ``progress_m`` (W,), and returns theirs (W,): a
        world whose episode ended part-way through a repeated action stops counting.
        """
        index = slice(None) if worlds is None else worlds
        anchor_m = self.anchor_m[index]
        advanced = progress_m >= anchor_m + STALL_PROGRESS_M
        self.anchor_m[index] = np.where(advanced, progress_m, anchor_m)
        steps = np.where(advanced, 0, self.steps_since_progress[index] + 1)
        self.steps_since_progress[index] = steps
        if self.timeout_steps == 0:
            return np.zeros(len(progress_m), dtype=bool)
        return steps >= self.timeout_steps
