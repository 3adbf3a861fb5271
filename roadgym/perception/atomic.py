"""Atomic file writes: every artefact goes to a temporary name, then ``os.replace``.

A crash (or Ctrl-C) mid-write leaves at most a ``*.tmp-*`` file behind, never a
truncated checkpoint, shard or report under the final name.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

__all__ = [
    "DirectoryLock",
    "DirectoryLockedError",
    "atomic_write",
    "atomic_write_bytes",
    "atomic_write_json",
    "atomic_write_text",
]

LOCK_NAME = ".roadgym.lock"


def atomic_write(path: str | os.PathLike, write: Callable[[IO[bytes]], Any]) -> Path:
    """Call ``write(file)`` on a temporary file beside ``path``, then rename it onto ``path``.

    The temporary file lives in the same directory so the rename stays on one
    filesystem (``os.replace`` is only atomic there). Parent directories are created.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.tmp-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        # mkstemp creates the file owner-only (0600); give it the mode a plain open() would.
        os.chmod(tmp_name, 0o666 & ~_current_umask())
        os.replace(tmp_name, path)
    except BaseException:
        # Also on KeyboardInterrupt: never leave the temporary file lying around.
        try:
            os.unlink(tmp_name)
        except FileNotFoundError:
            pass
        raise
    return path


def _current_umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically."""
    return atomic_write(path, lambda file: file.write(data))


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike, obj: Any) -> Path:
    """Write ``obj`` as indented JSON to ``path`` atomically."""
    return atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=False) + "\n")


class DirectoryLockedError(RuntimeError):
    """Another process holds the lock of a run or dataset folder."""


class DirectoryLock:
    """An exclusive, non-blocking lock on a folder (``with DirectoryLock(path): ...``).

    Two processes writing one run or dataset folder would interleave their files
    silently; the second one raises :class:`DirectoryLockedError` instead. The lock is
    ``flock`` on ``LOCK_NAME`` inside the folder, so it dies with its process (a killed
    run never leaves a stale lock); the file itself stays and records the holder's pid.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self._file: IO[str] | None = None

    def __enter__(self) -> DirectoryLock:
        import fcntl  # POSIX only, like the rest of roadgym's tooling

        self.path.mkdir(parents=True, exist_ok=True)
        lock_path = self.path / LOCK_NAME
        file = lock_path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            file.seek(0)
            holder = file.read().strip() or "unknown"
            file.close()
            raise DirectoryLockedError(
                f"{self.path} is in use by another process (pid {holder}); wait for it to "
                "finish or use another folder"
            ) from None
        file.seek(0)
        file.truncate()
        file.write(f"{os.getpid()}\n")
        file.flush()
        self._file = file
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._file is not None:
            self._file.close()  # closing releases the flock
            self._file = None
