"""Which seeds are for what: the train, selection and test ranges, defined once.

Every roadgym world is drawn from its reset seed, so a seed names one map (track, town
or highway) with its traffic. Three disjoint ranges keep an episode from serving two
purposes:

- **train**: seeds ``0 <= seed < TRAIN_SEED_LIMIT`` (1,000,000). Training worlds are
  seeded ``seed, seed + 1, ...`` on their first reset and then draw new maps from their
  own generators, never from a seed; every trainer (``roadgym train``, ``roadgym
  imitate``, RLlib) refuses a seed layout that reaches ``TRAIN_SEED_LIMIT``. The frames
  of labelled perception datasets' train split come from here too.
- **selection**: seeds from ``SELECTION_SEED_START`` (1,000,000) up to
  ``TEST_SEED_START``. Everything that *chooses* with held-out episodes plays these: the
  evaluations during training that pick ``best_model.zip``, the DAgger rounds' student
  selection, the validation split of labelled datasets, and development of the expert.
- **test**: seeds from ``TEST_SEED_START`` (2,000,000). Reported results: ``roadgym
  evaluate`` and ``roadgym watch`` start here by default, and so does the test split of
  labelled datasets; nothing is tuned or selected on them.
"""

from __future__ import annotations

from typing import Literal

__all__ = [
    "SELECTION_SEED_START",
    "TEST_SEED_START",
    "TRAIN_SEED_LIMIT",
    "held_out_seeds",
    "seed_purpose",
]

TRAIN_SEED_LIMIT = 1_000_000
"""Training worlds use seeds below this."""
SELECTION_SEED_START = 1_000_000
"""First seed of the model-selection (validation, development) range."""
TEST_SEED_START = 2_000_000
"""First seed of the test range: reported results, never selected on."""


def held_out_seeds(n_episodes: int, start: int = TEST_SEED_START) -> list[int]:
    """The seeds of ``n_episodes`` held-out episodes: ``start, start + 1, ...``.

    ``start`` defaults to the test range; pass ``SELECTION_SEED_START`` to select.
    """
    if n_episodes < 1:
        raise ValueError(f"n_episodes = {n_episodes!r}; allowed: an int >= 1")
    return list(range(start, start + n_episodes))


def seed_purpose(seed: int) -> Literal["train", "selection", "test"]:
    """The range ``seed`` belongs to: ``'train'``, ``'selection'`` or ``'test'``."""
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed = {seed!r}; allowed: an int >= 0")
    if seed < TRAIN_SEED_LIMIT:
        return "train"
    return "selection" if seed < TEST_SEED_START else "test"
