"""Same seed, same pixels on the highway: seeded Highway-v0 and Merge-v0 rollouts match
digests recorded when the world last changed on purpose (as test_golden_rollouts.py
does for Track and Town). ``python -m tests.envs.test_highway_golden`` prints them.

The random-action digests are those of the highway as first merged (547dd7e): the
speed-ups since (batched resets, the step's array work) change no bit. The expert
digest was recorded at its meta-action fix (mandatory lane changes, no change into a
lane a car two lanes over may be entering), which also moves continuous episodes.
"""

from __future__ import annotations

import pytest

from tests.envs.rollout_hash import expert_digest, rollout_digest

GOLDEN = {
    ("roadgym/Highway-v0", 7, 60, 1): (
        "baaf614de3b8790a3fe950a4d508d786a1e8411855391263c8ea4ce185fa847b"
    ),
    ("roadgym/Merge-v0", 9, 40, 4): (
        "cb0bae57079ca2cfc4056e443b5c9ddfe3fcf5d86774a00326386d43363d526b"
    ),
}
GOLDEN_EXPERT = {
    ("roadgym/Highway-v0", 25, 100, 4): (
        "6ade807e2dd1c26973078df2f88d3d7cc283eee23ab142a38d67d92ccdac4779"
    ),
}


@pytest.mark.parametrize("case", list(GOLDEN), ids=lambda case: f"{case[0]}-s{case[1]}-B{case[3]}")
def test_random_highway_rollouts_match_recorded_digests(case):
    assert rollout_digest(*case) == GOLDEN[case]


@pytest.mark.parametrize("case", list(GOLDEN_EXPERT), ids=lambda case: f"{case[0]}-s{case[1]}")
def test_expert_highway_rollouts_match_recorded_digests(case):
    assert expert_digest(*case) == GOLDEN_EXPERT[case]


if __name__ == "__main__":
    for case in GOLDEN:
        print(f"    {case!r}: {rollout_digest(*case)!r},")
    for case in GOLDEN_EXPERT:
        print(f"    {case!r}: {expert_digest(*case)!r},")
