"""Same seed, same outputs, on any CPU: seeded rollouts of every world match the goldens
recorded in tests/envs/goldens/ when the worlds last changed on purpose.

Pixels, semantic ids and done flags must match exactly; rewards and the state vector to a
tolerance (see tests/envs/golden.py). A change that moves one pixel or one reward beyond
that must re-record them (``python -m tests.envs.golden``) and say why in its commit.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.envs.golden import CASES, Case, load, mismatches, perturbed_math, record

IDS = [case.name for case in CASES]


@pytest.fixture(autouse=True, scope="module")
def _settled_kernel_backend() -> None:
    # Under ROADGYM_KERNELS=auto the first steps of a process run numpy while numba's
    # kernels load (or compile) in the background: settle the default backend first, so
    # that the test on "the other backend" below covers the one the goldens did not.
    from roadgym.envs.core import kernels

    kernels.wait_for_kernels(timeout_s=120)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_rollout_matches_golden(case: Case) -> None:
    assert mismatches(case, record(case)) == []


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_golden_survives_one_ulp_in_every_cpu_dependent_ufunc(case: Case) -> None:
    # What another CPU's float kernels (AVX-512 SVML against numpy's baseline) may do:
    # the last bit of sin, arctan2, power... The recording must not notice.
    with perturbed_math():
        trace = record(case)
    assert mismatches(case, trace) == []


def test_perturbation_reaches_the_simulator() -> None:
    # The check above means something only if the nudged ufuncs are the ones the worlds
    # call: the rewards must move, by a last-bit amount.
    case = Case("roadgym/Track-v0", 3, 20)
    plain = record(case)
    with perturbed_math():
        nudged = record(case)
    assert not np.array_equal(plain["reward"], nudged["reward"])
    assert np.allclose(plain["reward"], nudged["reward"], rtol=0, atol=1e-12)


def test_comparison_catches_a_changed_pixel_flag_or_reward() -> None:
    case = CASES[0]
    golden = load(case)
    changed_pixel = dict(golden, digest=golden["digest"].copy())
    changed_pixel["digest"][7, 0] ^= 1
    assert mismatches(case, changed_pixel) == ["digest differs first at step 7 (1 steps)"]
    changed_done = dict(golden, done=golden["done"].copy())
    changed_done["done"][3, 0, 0] ^= True
    assert mismatches(case, changed_done)[0].startswith("done differs first at step 3")
    changed_reward = dict(golden, reward=golden["reward"].copy())
    changed_reward["reward"][5, 0] += 1e-3
    assert mismatches(case, changed_reward)[0].startswith("reward off tolerance first at step 5")
    changed_state = dict(golden, state=golden["state"].copy())
    changed_state["state"][9, 0, 0] += 1e-2
    assert mismatches(case, changed_state)[0].startswith("state off tolerance first at step 9")


@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_golden_holds_on_the_other_kernel_backend(case: Case, backend: str) -> None:
    # The test above runs the default backend (numba when installed); the other one must
    # match the same recording: the compiled kernels (Town's NPC step, every world's
    # camera) and the numpy reference agree.
    from roadgym.envs.core import kernels

    if backend == "numba" and not kernels.numba_available():
        pytest.skip("numba is not installed (pip install roadgym[fast])")
    if (backend == "numba") == kernels.use_numba():
        pytest.skip(f"{backend} is the default backend here: covered above")
    with kernels.use_backend(backend):
        assert mismatches(case, record(case)) == []
