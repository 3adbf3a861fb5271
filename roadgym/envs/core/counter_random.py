"""Counter-based random numbers: draws that are a pure function of a key and a counter.

A world's step draws its randomness (NPC choices, recycling spots) from its own key and
its step count, not from a generator object, so each world draws the same numbers
whatever batch it is stepped in, and a vector env needs no generator per world.
"""

from __future__ import annotations

import numpy as np


def hash_uniform_int(key: np.ndarray, counter: np.ndarray, modulus: np.ndarray) -> np.ndarray:
    """Counter-based random integers in [0, modulus): a pure function of key and counter.

    ``key`` and ``counter`` are uint64 arrays (broadcast together); the splitmix64
    finaliser mixes them, so every world and actor draws its own stream whatever the
    batch it is stepped in, and the step needs no generator object per world.
    """
    x = key * np.uint64(0x9E3779B97F4A7C15) + counter * np.uint64(0xD1B54A32D192ED03)
    x ^= x >> np.uint64(30)
    x *= np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(27)
    x *= np.uint64(0x94D049BB133111EB)
    x ^= x >> np.uint64(31)
    return (x % np.maximum(modulus, 1).astype(np.uint64)).astype(np.int64)
