"""Frame stacking inside the simulator, so the single and the vector env share it.

The last k frames of every world are kept stacked along the channel axis, oldest
first: rgb (H, W, 3k), semantic (H, W, k), state (k * D,). A world that was just reset
has its stack filled with its first frame, as Gymnasium's
``FrameStackObservation(padding_type="reset")`` does.

This (the env config's ``frame_stack``) is roadgym's recommended way to stack frames.
SB3's ``VecFrameStack`` (the training hyperparameter ``frame_stack``, deprecated) lays
frames out the same way but pads a new episode's stack with zeros; it stays supported
for models trained with it.
"""

from __future__ import annotations

import numpy as np


class FrameHistory:
    """The last ``k`` frames of each of B worlds, per observation mode.

    The owner calls :meth:`mark_step` after stepping every world and :meth:`mark_reset`
    after resetting some; :meth:`push` then takes the newest frames of some worlds and
    returns their stacks. Pushing twice without a step in between replaces the newest
    frame rather than shifting, so observing twice gives the same stack.
    """

    def __init__(self, k: int, batch_size: int) -> None:
        if k < 1:
            raise ValueError(f"frame_stack = {k}; allowed: an int >= 1")
        self.k = k
        self.batch_size = batch_size
        self._stacks: dict[str, np.ndarray] = {}  # mode -> (B, ..., k * C)
        self._fresh = np.ones(batch_size, dtype=bool)  # reset since the last push
        self._stale = np.zeros(batch_size, dtype=bool)  # stepped since the last push

    def mark_step(self) -> None:
        """Every world advanced by one step: its next push shifts the stack."""
        self._stale[:] = True

    def mark_reset(self, worlds: np.ndarray | int) -> None:
        """These worlds started a new episode: their next push fills the stack."""
        self._fresh[worlds] = True

    def push(
        self, frames: dict[str, np.ndarray], worlds: np.ndarray | None
    ) -> dict[str, np.ndarray]:
        """Add the newest ``frames`` (mode -> (W, ...)) of ``worlds`` (all when None).

        Returns the stacks of those worlds, mode -> (W, ..., k * C), as new arrays.
        """
        index = slice(None) if worlds is None else worlds
        fresh = self._fresh[index]  # (W,)
        shift = self._stale[index] & ~fresh  # (W,)
        out = {}
        for mode, frame in frames.items():
            if mode == "semantic":
                frame = frame[..., None]  # (W, H, W, 1)
            channels = frame.shape[-1]
            stack = self._stacks.get(mode)
            if stack is None:
                stack = np.zeros(
                    (self.batch_size, *frame.shape[1:-1], channels * self.k), frame.dtype
                )
                self._stacks[mode] = stack
            # A copy of the selected worlds' stacks (a view when all worlds are pushed).
            chosen = stack if worlds is None else stack[worlds]  # (W, ..., k * C)
            if shift.all():
                chosen[..., :-channels] = chosen[..., channels:]
            elif shift.any():
                chosen[shift, ..., :-channels] = chosen[shift, ..., channels:]
            chosen[..., -channels:] = frame
            if fresh.any():
                chosen[fresh] = np.concatenate([frame[fresh]] * self.k, axis=-1)
            if worlds is not None:
                stack[worlds] = chosen
            out[mode] = chosen.copy()
        self._fresh[index] = False
        self._stale[index] = False
        return out
