"""Which implementation the step's hot loops use: numpy (the reference) or numba kernels.

numba is an optional extra (``pip install roadgym[fast]``). When it is installed, the
stages that numpy can only express as many small array calls (the NPC leader table, the
corridor check) run as compiled loops that give the same results: the same comparisons
and the same IEEE operations (+, -, *, /, sqrt) in the same order, no fused multiply-add,
so every discrete outcome and every float matches the numpy path.

``ROADGYM_KERNELS`` picks: ``auto`` (the default: numba when importable), ``numba``
(an error if it is missing) or ``numpy`` (the reference path, numba never imported);
it is read once per process, at the first step.
numba is imported on the first step that uses it, not by ``import roadgym``; compiled
kernels are cached on disk (next to the sources, or in the user's cache directory when
the package's folder is read-only; ``NUMBA_CACHE_DIR`` overrides both).
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import warnings
from collections.abc import Callable, Iterator

ENV_VAR = "ROADGYM_KERNELS"
BACKENDS = ("auto", "numba", "numpy")

_forced: bool | None = None  # set by use_backend(), for tests and comparisons
_from_env: bool | None = None  # ROADGYM_KERNELS, read once, on the first step


def _resolve(choice: str, source: str) -> bool:
    choice = choice.strip().lower() or "auto"
    if choice not in BACKENDS:
        raise ValueError(f"{source} = {choice!r}; allowed: one of {', '.join(BACKENDS)}")
    if choice == "numpy":
        return False
    if numba_available():
        return True
    if choice == "numba":
        raise ImportError(
            f"{source} = 'numba' but numba is not installed; "
            "install it with `pip install roadgym[fast]` or choose 'auto' or 'numpy'"
        )
    return False


def numba_available() -> bool:
    """Whether numba can be imported (without importing it)."""
    return importlib.util.find_spec("numba") is not None


def use_numba() -> bool:
    """Whether the step's kernels run compiled (numba) rather than as numpy calls.

    Called several times a step, so it is a global read after the first call: the
    environment variable is read once per process.
    """
    global _from_env
    if _forced is not None:
        return _forced
    if _from_env is None:
        _from_env = _resolve(os.environ.get(ENV_VAR, "auto"), ENV_VAR)
    return _from_env


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
        return numba.njit(cache=True, nogil=True, error_model="numpy")(function)
    except RuntimeError as error:  # "cannot cache function ...: no locator available"
        warnings.warn(f"numba kernels not cached ({error}); set NUMBA_CACHE_DIR", stacklevel=2)
        return numba.njit(cache=False, nogil=True, error_model="numpy")(function)
