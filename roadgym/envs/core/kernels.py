"""Which implementation the step's hot loops use: numpy (the reference) or numba kernels.

numba is an optional extra (``pip install roadgym[fast]``). When it is installed, the
stages that numpy can only express as many small array calls (the NPC leader table, the
corridor check) run as compiled loops that give the same results: the same comparisons
and the same IEEE operations (+, -, *, /, sqrt) in the same order, no fused multiply-add,
so every discrete outcome and every float matches the numpy path.

``ROADGYM_KERNELS`` picks: ``auto`` (the default: numba when importable), ``numba``
(an error if it is missing) or ``numpy`` (the reference path, numba never imported).
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

_forced: str | None = None  # set by use_backend(), for tests and comparisons
_resolved: dict[str, bool] = {}


def _choice() -> str:
    choice = _forced if _forced is not None else os.environ.get(ENV_VAR, "auto")
    choice = choice.strip().lower() or "auto"
    if choice not in BACKENDS:
        raise ValueError(f"{ENV_VAR} = {choice!r}; allowed: one of {', '.join(BACKENDS)}")
    return choice


def numba_available() -> bool:
    """Whether numba can be imported (without importing it)."""
    return importlib.util.find_spec("numba") is not None


def use_numba() -> bool:
    """Whether the step's kernels run compiled (numba) rather than as numpy calls."""
    choice = _choice()
    if choice not in _resolved:
        if choice == "numpy":
            _resolved[choice] = False
        elif numba_available():
            _resolved[choice] = True
        elif choice == "numba":
            raise ImportError(
                f"{ENV_VAR} = 'numba' but numba is not installed; "
                "install it with `pip install roadgym[fast]` or set it to 'auto' or 'numpy'"
            )
        else:
            _resolved[choice] = False
    return _resolved[choice]


@contextlib.contextmanager
def use_backend(name: str) -> Iterator[None]:
    """Run the block with the kernels of ``name`` (``auto``, ``numba`` or ``numpy``)."""
    global _forced
    if name not in BACKENDS:
        raise ValueError(f"backend = {name!r}; allowed: one of {', '.join(BACKENDS)}")
    previous, _forced = _forced, name
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
