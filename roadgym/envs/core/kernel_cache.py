"""Whether the numba kernels are in numba's on-disk cache, and compiling them in the background.

Nothing here imports numba: :mod:`roadgym.envs.core.kernels` asks :func:`cache_state` at
the first step whether compiled kernels wait in the cache. They do when a *stamp* file
is there, written (atomically) by :mod:`roadgym.envs.core.kernel_warmup` after it
compiled every kernel. The stamp lives in the folder where numba caches
``envs/core``'s kernels (so clearing numba's cache clears it too), and its name holds a
*key* of everything that invalidates numba's cache: the kernels' source text, the numba
and Python versions, the CPU and numba's CPU settings. Beside it: a lock file that one
compiler at a time holds (``flock``: released by the kernel when that process dies, so
never stale) and, after a failed compile, a ``.failed`` file with its error, so that no
process retries until ``roadgym compile-kernels`` is run or the key changes.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import os
import pickle
import platform
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

PACKAGE_DIR = Path(__file__).resolve().parents[2]  # roadgym/
# The files whose text numba's cache depends on (a test checks that every module using
# kernels.njit matches one of these): a change to any of them means compiling again.
KERNEL_SOURCES = ("envs/core/*kernel*.py", "envs/town/kernels/*.py")
# numba settings that change the machine code it caches (part of its index key).
NUMBA_SETTINGS = ("NUMBA_CPU_NAME", "NUMBA_CPU_FEATURES", "NUMBA_OPT", "NUMBA_BOUNDSCHECK")
PRELOAD_SWITCH_S = 0.0005  # the GIL's switch interval while a thread loads the kernels
POLL_S = 0.5  # how often a process waiting for another one's compile looks for the stamp


@dataclass(frozen=True)
class CachePaths:
    """The stamp, lock and failure files of one key, in one cache folder."""

    folder: Path
    key: str

    @property
    def stamp(self) -> Path:
        """Written last by a successful compile: the kernels can be loaded."""
        return self.folder / f"roadgym-kernels-{self.key}.ready"

    @property
    def lock(self) -> Path:
        """Held (``flock``) by the one process compiling."""
        return self.folder / f"roadgym-kernels-{self.key}.lock"

    @property
    def signatures(self) -> Path:
        """The kernels and argument types the warm-up compiled (a pickle), to preload."""
        return self.folder / f"roadgym-kernels-{self.key}.signatures"

    @property
    def failed(self) -> Path:
        """A compile that raised: its error text; stops automatic retries."""
        return self.folder / f"roadgym-kernels-{self.key}.failed"


def _writable(folder: Path) -> bool:
    """numba's own test of a cache folder: create it, then a temporary file in it."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=folder).close()
    except OSError:
        return False
    return True


def _user_cache_root() -> Path:
    """numba's user-wide cache folder (``appdirs.user_cache_dir('numba')``)."""
    if sys.platform == "win32":
        return Path(os.environ.get("LOCALAPPDATA", Path.home())) / "numba" / "Cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "numba"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "numba"


def cache_folder() -> Path | None:
    """Where numba caches the kernels of ``envs/core`` (None: nowhere writable).

    numba's locators in their order: ``NUMBA_CACHE_DIR``, the source's ``__pycache__``,
    the user-wide cache; the first writable one wins, as in numba.
    """
    source_dir = os.path.dirname(os.path.abspath(__file__))
    subpath = f"{os.path.basename(source_dir)}_{hashlib.sha1(source_dir.encode()).hexdigest()}"
    candidates = [Path(source_dir) / "__pycache__", _user_cache_root() / subpath]
    if os.environ.get("NUMBA_CACHE_DIR"):
        candidates.insert(0, Path(os.environ["NUMBA_CACHE_DIR"]) / subpath)
    return next((folder for folder in candidates if _writable(folder)), None)


def _numba_version() -> str:
    """numba's version file (its text: 1 ms, where importlib.metadata takes 20)."""
    spec = importlib.util.find_spec("numba")
    if spec is None or spec.origin is None:
        return "none"
    try:
        return (Path(spec.origin).parent / "_version.py").read_text(errors="replace")
    except OSError:
        from importlib import metadata

        return metadata.version("numba")


def _cpu() -> str:
    """The CPU's model and features (numba's cache is per CPU name and features)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as info:
            text = info.read().split("\n\n")[0]
        return "\n".join(line for line in text.splitlines() if line.startswith(("model", "flags")))
    except OSError:
        return f"{platform.machine()} {platform.processor()}"


def cache_key() -> str:
    """16 hex digits of everything that invalidates numba's cache of the kernels."""
    digest = hashlib.sha256()
    for pattern in KERNEL_SOURCES:
        for path in sorted(PACKAGE_DIR.glob(pattern)):
            digest.update(path.relative_to(PACKAGE_DIR).as_posix().encode())
            digest.update(path.read_bytes())
    for part in (_numba_version(), sys.version, platform.machine(), _cpu()):
        digest.update(part.encode())
    for name in NUMBA_SETTINGS:
        digest.update(f"{name}={os.environ.get(name, '')}".encode())
    return digest.hexdigest()[:16]


def cache_paths() -> CachePaths | None:
    """The stamp, lock and failure files for this install (None: no writable cache)."""
    folder = cache_folder()
    return None if folder is None else CachePaths(folder, cache_key())


@contextlib.contextmanager
def compile_lock(path: Path, wait: bool) -> Iterator[bool]:
    """Hold the compile lock ``path`` for the block; yields False if another process holds
    it (only when ``wait`` is False). The operating system drops it if this process dies."""
    handle: IO[bytes] = open(path, "a+b")  # noqa: SIM115 (closed below)
    try:
        yield _lock(handle, wait)
    finally:
        handle.close()  # closing releases the lock


def _lock(handle: IO[bytes], wait: bool) -> bool:
    try:
        import fcntl

        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
    except ImportError:  # Windows
        import msvcrt

        mode = msvcrt.LK_LOCK if wait else msvcrt.LK_NBLCK
        try:
            msvcrt.locking(handle.fileno(), mode, 1)
        except OSError:
            return False
    except BlockingIOError:
        return False
    return True


def write_atomically(path: Path, data: str | bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file and a rename: never a partial file."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data.encode() if isinstance(data, str) else data)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def cache_state(paths: CachePaths | None) -> str:
    """``ready``, ``failed``, ``compiling`` (another process holds the lock), ``missing``
    (nobody compiles: this process may start it) or ``unwritable``."""
    if paths is None:
        return "unwritable"
    if paths.stamp.exists():
        return "ready"
    if paths.failed.exists():
        return "failed"
    with compile_lock(paths.lock, wait=False) as free:
        if not free:
            return "compiling"
    # The compiler may have finished between the two looks.
    return "ready" if paths.stamp.exists() else "missing"


def start_background_compile(paths: CachePaths) -> subprocess.Popen:
    """Start ``python -m roadgym.envs.core.kernel_warmup --background`` for ``paths``.

    The child takes the lock itself (so of racing starters one compiles, the others exit at
    once), ignores Ctrl-C and outlives this process if need be: it then finishes the cache
    for the next run (numba and the stamp write atomically). It runs at the same priority:
    a lower one starves it on a busy machine (measured: no switch within 120 s on 2 busy
    cores), and the sooner it is done, the sooner the step is 1.7x faster.
    """
    env = dict(os.environ)
    root = str(PACKAGE_DIR.parent)  # this roadgym, wherever the child's cwd puts others
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
    command = [sys.executable, "-m", "roadgym.envs.core.kernel_warmup", "--background"]
    return subprocess.Popen(
        [*command, "--key", paths.key, "--folder", str(paths.folder)],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        close_fds=True,
    )


def save_signatures(paths: CachePaths, dispatchers: list[Any]) -> None:
    """Record each compiled kernel's module, name and argument types for :func:`preload`."""
    table = {
        (d.py_func.__module__, d.py_func.__qualname__): list(d.signatures)
        for d in dispatchers
        if d.signatures
    }
    write_atomically(paths.signatures, pickle.dumps(table))


def preload(paths: CachePaths) -> int:
    """Import numba and load every kernel the warm-up compiled from numba's cache (numba's
    ``Dispatcher.compile`` looks in the cache first); returns how many were loaded.

    Run on a background thread, it takes numba's import and the cache loads (~0.8 s of
    CPU) out of the first step; a missing or unreadable table only skips the preload.
    """
    import importlib

    import numba  # noqa: F401 (unpickling the types needs it)

    try:
        table = pickle.loads(paths.signatures.read_bytes())
    except (OSError, pickle.UnpicklingError, AttributeError, ImportError, EOFError):
        return 0
    loaded = 0
    for (module, name), signatures in table.items():
        dispatcher = getattr(importlib.import_module(module), name, None)
        for signature in signatures if hasattr(dispatcher, "compile") else ():
            dispatcher.compile(signature)
            loaded += 1
    return loaded


def watch(
    paths: CachePaths, process: subprocess.Popen | None, done: Callable[[str], None]
) -> threading.Thread:
    """A daemon thread that calls ``done(state)`` once the kernels can be used or will
    not be: ``ready`` (after :func:`preload`), ``failed`` or ``interrupted`` (the compiler
    died without a stamp, e.g. killed).

    It waits on ``process`` when this process started it (and so reaps it: no zombie),
    then polls every :data:`POLL_S` seconds while another process holds the lock.
    """

    def wait() -> None:
        if process is not None:
            process.wait()  # it may also have found another compiler at work: then poll
        state = cache_state(paths)
        while state == "compiling":
            threading.Event().wait(POLL_S)
            state = cache_state(paths)
        if state == "ready":
            # The loads call into LLVM without the GIL many times, and each time wait for
            # the stepping main thread to give it back (up to the switch interval, 5 ms):
            # a shorter interval while they run takes full speed ~2x sooner.
            interval_s = sys.getswitchinterval()
            sys.setswitchinterval(min(interval_s, PRELOAD_SWITCH_S))
            try:
                with contextlib.suppress(Exception):  # the first calls then load them
                    preload(paths)
            finally:
                sys.setswitchinterval(interval_s)
        done(state if state in ("ready", "failed") else "interrupted")

    thread = threading.Thread(target=wait, name="roadgym-kernel-compile", daemon=True)
    thread.start()
    return thread
