"""Same seed, same pixels: seeded rollouts match digests recorded when the worlds last
changed on purpose. A change that moves one pixel or one reward must update them here,
and say why in its commit."""

from __future__ import annotations

import pytest

from tests.envs.rollout_hash import CASES, EXPERT_CASES, expert_digest, rollout_digest

GOLDEN = {
    (
        "roadgym/Track-v0",
        3,
        120,
        1,
    ): "701c2dbae117b4a0ed689dec4ceccb0685882f3ef2e60627e9cf5aefbdd3a440",
    (
        "roadgym/Track-v0",
        11,
        60,
        4,
    ): "90a916a8e73fdb2383e950d0502f457bdac32243e1ad04d6cc4acd1f039aada5",
    (
        "roadgym/Town-v0",
        5,
        120,
        1,
    ): "263fc338ef2fe18f9160127988d26499a9b0800efcf4531f0840248ce8ff00a6",
    (
        "roadgym/Town-v0",
        13,
        60,
        4,
    ): "37c9a1edb6b0a5ad5d86e2133f2656c49b559f09de3e663a9bd8f8beff8d01e2",
}
GOLDEN_EXPERT = {
    (
        "roadgym/Track-v0",
        21,
        300,
        4,
    ): "c0e85f8225e92ca84b6e1e4050cf0b2a0aea1832aea4e2804941f7b00953c3f7",
    (
        "roadgym/Town-v0",
        23,
        400,
        4,
    ): "235fbe8815a1bc0dc34c71ca8cf0094eb37d3dbc88603d8568242220a0c03558",
}


@pytest.mark.parametrize("case", CASES, ids=lambda case: f"{case[0]}-s{case[1]}-B{case[3]}")
def test_random_rollouts_match_recorded_digests(case):
    assert rollout_digest(*case) == GOLDEN[case]


@pytest.mark.parametrize("case", EXPERT_CASES, ids=lambda case: f"{case[0]}-s{case[1]}")
def test_expert_rollouts_match_recorded_digests(case):
    assert expert_digest(*case) == GOLDEN_EXPERT[case]
