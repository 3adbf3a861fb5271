"""Every random generator an imitation round draws from, saved as JSON and restored.

A DAgger round draws from the run's numpy ``Generator`` (expert noise, who drives,
minibatch order) and may draw from torch's, numpy's and Python's global generators
(SB3 seeds all three). Saving their states with each finished round lets a run stopped
after it (kill -9, Ctrl-C) resume exactly where an uninterrupted run would be. Plain
JSON: nothing is unpickled on resume.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from roadgym.perception.atomic import atomic_write_json

__all__ = ["restore_random_state", "save_random_state"]

_FORMAT = "roadgym-random-state"


def save_random_state(path: str | Path, rng: np.random.Generator) -> Path:
    """Write ``rng``'s state and the global numpy, Python and torch states to ``path``."""
    legacy = np.random.get_state()  # noqa: NPY002 (the global state SB3 seeds)
    python = random.getstate()
    state: dict[str, Any] = {
        "format": _FORMAT,
        "generator": rng.bit_generator.state,
        "numpy_global": [legacy[0], legacy[1].tolist(), *legacy[2:]],
        "python": [python[0], list(python[1]), python[2]],
        "torch": torch.get_rng_state().tolist(),
        "torch_cuda": [s.tolist() for s in torch.cuda.get_rng_state_all()]
        if torch.cuda.is_available()
        else [],
    }
    return atomic_write_json(path, state)


def restore_random_state(path: str | Path) -> np.random.Generator:
    """Restore the global states saved at ``path``; return the run's generator."""
    path = Path(path)
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ValueError(f"{path} is not a readable random-state file: {error}") from error
    if not isinstance(state, dict) or state.get("format") != _FORMAT:
        raise ValueError(f"{path} is not a roadgym random-state file (format {_FORMAT!r})")
    rng = np.random.default_rng()
    rng.bit_generator.state = state["generator"]
    kind, keys, *rest = state["numpy_global"]
    np.random.set_state((kind, np.asarray(keys, dtype=np.uint32), *rest))  # noqa: NPY002
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    torch.set_rng_state(torch.tensor(state["torch"], dtype=torch.uint8))
    if state["torch_cuda"] and torch.cuda.is_available():
        cuda = [torch.tensor(s, dtype=torch.uint8) for s in state["torch_cuda"]]
        torch.cuda.set_rng_state_all(cuda)
    return rng
