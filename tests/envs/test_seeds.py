"""The seed ranges are defined once (roadgym.envs.seeds) and every user keeps to them."""

from __future__ import annotations

import ast
import pathlib

import pytest

from roadgym.envs.seeds import (
    SELECTION_SEED_START,
    TEST_SEED_START,
    TRAIN_SEED_LIMIT,
    held_out_seeds,
    seed_purpose,
)

PACKAGE = pathlib.Path(__file__).resolve().parents[2] / "roadgym"


def test_ranges_are_disjoint_and_each_seed_has_one_purpose():
    assert TRAIN_SEED_LIMIT <= SELECTION_SEED_START < TEST_SEED_START
    assert seed_purpose(0) == seed_purpose(TRAIN_SEED_LIMIT - 1) == "train"
    assert seed_purpose(SELECTION_SEED_START) == seed_purpose(TEST_SEED_START - 1) == "selection"
    assert seed_purpose(TEST_SEED_START) == "test"
    assert held_out_seeds(3) == [TEST_SEED_START, TEST_SEED_START + 1, TEST_SEED_START + 2]
    with pytest.raises(ValueError, match="seed = -1"):
        seed_purpose(-1)


def test_no_module_but_seeds_hard_codes_a_range_start():
    starts = {TRAIN_SEED_LIMIT, SELECTION_SEED_START, TEST_SEED_START}
    found = []
    for path in PACKAGE.rglob("*.py"):
        if path.name == "seeds.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and type(node.value) is int and node.value in starts:
                found.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert not found, "seed range starts written out instead of roadgym.envs.seeds:\n" + "\n".join(
        found
    )


def test_every_user_of_held_out_seeds_keeps_to_its_range():
    from roadgym.agents import cli
    from roadgym.agents.imitation.config import ImitationConfig
    from roadgym.perception.labelled import LabelledDatasetConfig

    labelled = LabelledDatasetConfig()
    assert {seed_purpose(s) for s in range(*labelled.train_seeds)[::997]} == {"train"}
    assert {seed_purpose(labelled.val_seeds[0]), seed_purpose(labelled.val_seeds[1] - 1)} == {
        "selection"
    }
    assert seed_purpose(labelled.test_seeds[0]) == "test"
    assert seed_purpose(cli.evaluate_parser().parse_args(["--expert"]).seed) == "test"
    with pytest.raises(ValueError, match=r"ImitationConfig.seed = 990000 .* below 1000000"):
        ImitationConfig(seed=990_000, rounds=1)
