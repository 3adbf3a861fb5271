"""Which implementation the step's hot loops use: numpy (the reference) or numba kernels.

numba is an optional extra (``pip install roadgym[fast]``). When it is installed, the
stages that numpy can only express as many small array calls (the NPC leader table, the
corridor check) run as compiled loops that give the same results: the same comparisons
and the same IEEE operations (+, -, *, /, sqrt) in the same order, no fused multiply-add,
so every discrete outcome and every float matches the numpy path.

``ROADGYM_KERNELS`` picks, read once per process at the first step:

- ``auto`` (the default): numba when importable, without ever making a step wait for
  it. The first steps run on numpy while a thread imports numba and loads the compiled
  kernels from numba's on-disk cache (~0.8 s of CPU). When they are not there (the first
  run after installing, or after the kernels' sources or numba change), a separate
  process compiles them into the cache first
  (:mod:`roadgym.envs.core.kernel_warmup`; one at a time across processes, see
  :mod:`roadgym.envs.core.kernel_cache`); when it is done the running process switches
  to numba at its next step. The results are the same bit for bit, only the speed
  changes. With no writable cache, or after a failed compile, ``auto`` stays numpy
  (one warning says why).
- ``numba``: numba always, compiling in this process where the cache lacks a kernel (an
  error if numba is missing).
- ``numpy``: the reference path; numba is never imported nor compiled.

numba is imported on the first step that uses it, not by ``import roadgym``; compiled
kernels are cached on disk (next to the sources, or in the user's cache directory when
the package's folder is read-only; ``NUMBA_CACHE_DIR`` overrides both);
``roadgym compile-kernels`` fills the cache ahead of time.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import threading
import warnings
from collections.abc import Callable, Iterator
from typing import Any

ENV_VAR = "ROADGYM_KERNELS"
BACKENDS = ("auto", "numba", "numpy")

_forced: bool | None = None  # set by use_backend(), for tests and comparisons
_from_env: bool | None = None  # ROADGYM_KERNELS, read once, on the first step
_switch_ready = False  # set by the background compile's watcher: numba's cache is full
_watching = False  # this process runs numpy until a background compile ends
_watcher: threading.Thread | None = None  # the thread that waits for it
_warned: set[str] = set()
DISPATCHERS: list[Any] = []  # every kernel made by njit (numba dispatchers)


def _resolve(choice: str, source: str, background: bool = False) -> bool:
    choice = choice.strip().lower() or "auto"
    if choice not in BACKENDS:
        raise ValueError(f"{source} = {choice!r}; allowed: one of {', '.join(BACKENDS)}")
    if choice == "numpy":
        return False
    if numba_available():
        return _cached_or_compile_in_background() if choice == "auto" and background else True
    if choice == "numba":
        raise ImportError(
            f"{source} = 'numba' but numba is not installed; "
            "install it with `pip install roadgym[fast]` or choose 'auto' or 'numpy'"
        )
    return False


def _warn_once(message: str) -> None:
    if message not in _warned:
        _warned.add(message)
        warnings.warn(message, RuntimeWarning, stacklevel=4)


def _cached_or_compile_in_background() -> bool:
    """``auto``: numpy for now; numba once a thread has loaded the kernels from numba's
    cache or, when they are not there yet, once another process has compiled them."""
    global _watching, _watcher
    from roadgym.envs.core import kernel_cache

    paths = kernel_cache.cache_paths()
    state = kernel_cache.cache_state(paths)
    if paths is None:
        _warn_once(
            "roadgym: no writable folder for numba's cache (NUMBA_CACHE_DIR, the package's "
            "__pycache__, the user cache); the step runs its numpy kernels (same results, "
            "slower). Set NUMBA_CACHE_DIR to a writable folder, or ROADGYM_KERNELS=numba to "
            f"compile in every process (~20 s of CPU); {ENV_VAR}=numpy silences this."
        )
        return False
    if state == "failed":
        _warn_once(
            f"roadgym: compiling the numba kernels failed earlier ({paths.failed}); the step "
            "runs its numpy kernels (same results, slower). `roadgym compile-kernels` retries "
            f"and shows the error; {ENV_VAR}=numpy silences this."
        )
        return False
    # Compiled: numpy still for the first steps, while a thread imports numba and loads
    # the kernels (~0.8 s of CPU). Else compile them in another process, then load.
    try:
        process = kernel_cache.start_background_compile(paths) if state == "missing" else None
    except OSError as error:
        _warn_once(f"roadgym: cannot start the numba kernels' compile ({error}); numpy kernels")
        return False
    _watching = True
    _watcher = kernel_cache.watch(paths, process, _compile_ended)
    return False


def _compile_ended(state: str) -> None:
    """The watcher thread's report: switch to numba at the next step, or say why not."""
    global _switch_ready, _watching
    if not _watching:  # a fork's leftover or a reset of the choice: not ours any more
        return
    _watching = False
    if state == "ready":
        _switch_ready = True
    else:
        _warn_once(
            f"roadgym: the numba kernels' background compile ended {state}; this process "
            "keeps the numpy kernels (same results, slower); `roadgym compile-kernels` "
            "compiles them and shows any error."
        )


def _after_fork_in_child() -> None:
    """A child forked while its parent waited for a compile decides again for itself."""
    global _from_env, _switch_ready, _watching, _watcher
    if _watching or _switch_ready:
        _from_env, _switch_ready, _watching, _watcher = None, False, False, None


if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(after_in_child=_after_fork_in_child)


def numba_available() -> bool:
    """Whether numba can be imported (without importing it)."""
    return importlib.util.find_spec("numba") is not None


def use_numba() -> bool:
    """Whether the step's kernels run compiled (numba) rather than as numpy calls.

    Called several times a step, so it is a global read after the first call: the
    environment variable is read once per process, and a background compile's end is a
    flag its watcher thread sets.
    """
    global _from_env, _switch_ready
    if _forced is not None:
        return _forced
    if _switch_ready:  # the background compile is done: numba from here on
        _from_env, _switch_ready = True, False
    if _from_env is None:
        _from_env = _resolve(os.environ.get(ENV_VAR, "auto"), ENV_VAR, background=True)
    return _from_env


def wait_for_kernels(timeout_s: float | None = None) -> bool:
    """Make the backend choice now and, under ``auto``, wait (at most ``timeout_s``) for
    the kernels to be loaded or compiled; returns whether the step now runs numba.

    For benchmarks, which must not time the first steps on numpy (or a compile).
    """
    use_numba()
    if _watcher is not None:
        _watcher.join(timeout_s)
    return use_numba()


@contextlib.contextmanager
def use_backend(name: str) -> Iterator[None]:
    """Run the block with the kernels of ``name`` (``auto``, ``numba`` or ``numpy``)."""
    global _forced
    previous, _forced = _forced, _resolve(name, "backend")
    try:
        yield
    finally:
        _forced = previous


def njit(function: Callable) -> Callable:
    """``numba.njit`` for the step's kernels: compiled on first call, cached on disk.

    numba writes its cache next to the source or, where that folder is read-only (a
    system-wide install), in the user's cache directory (``NUMBA_CACHE_DIR`` overrides
    both). With neither writable, the kernel is compiled in every process instead of
    failing. No fastmath: results must match numpy's IEEE arithmetic.
    """
    import numba

    try:
        dispatcher = numba.njit(cache=True, nogil=True, error_model="numpy")(function)
    except RuntimeError as error:  # "cannot cache function ...: no locator available"
        warnings.warn(f"numba kernels not cached ({error}); set NUMBA_CACHE_DIR", stacklevel=2)
        dispatcher = numba.njit(cache=False, nogil=True, error_model="numpy")(function)
    DISPATCHERS.append(dispatcher)
    return dispatcher
