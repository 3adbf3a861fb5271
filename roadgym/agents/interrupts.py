"""Signals during training: SIGTERM stops ``learn`` as Ctrl-C does, and neither may cut
the final save short."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["TrainingInterrupted", "signals_ignored", "stop_on_signals"]


class TrainingInterrupted(KeyboardInterrupt):
    """SIGTERM, turned into the KeyboardInterrupt that Ctrl-C raises, to stop ``learn``."""


@contextmanager
def stop_on_signals() -> Iterator[dict[str, str | None]]:
    """Turn SIGTERM into a KeyboardInterrupt during training; say which signal came."""
    caught: dict[str, str | None] = {"signal": None}

    def on_signal(signum: int, frame: object) -> None:
        caught["signal"] = signal.Signals(signum).name
        raise TrainingInterrupted(caught["signal"])

    previous = {}
    for signum in (signal.SIGINT, signal.SIGTERM):
        try:
            previous[signum] = signal.signal(signum, on_signal)
        except ValueError:  # not the main thread: signals stay as they are
            pass
    try:
        yield caught
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@contextmanager
def signals_ignored() -> Iterator[None]:
    """Hold off Ctrl-C and SIGTERM while the final model is written."""
    previous = {}
    for signum in (signal.SIGINT, signal.SIGTERM):
        try:
            previous[signum] = signal.signal(signum, signal.SIG_IGN)
        except ValueError:
            pass
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
