"""Golden rollouts: seeded episodes recorded when a world last changed on purpose.

A recording keeps, per step, what a user's code sees: a SHA-256 of the discrete outputs
(uint8 camera pixels and semantic ids, compared exactly), the done flags (exactly), and
the float outputs (rewards and the state vector, compared with a tolerance). Raw floats
are never hashed: numpy computes float64 ``sin``, ``arctan2``, ``power``... with SIMD
kernels chosen by the CPU (AVX-512 or baseline), which can differ in the last bit, and
a hash would turn that bit into a failure (issue 23). The horizons are short enough that
such a bit cannot grow into a flipped pixel or done flag; ``perturbed_math`` nudges those
functions by one ulp to check it (tests/envs/test_golden_rollouts.py).

``python -m tests.envs.golden [substring]`` re-records the goldens (all, or the cases whose
id contains the substring) into tests/envs/goldens/; commit them with the reason.
"""

from __future__ import annotations

import contextlib
import hashlib
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import gymnasium as gym
import numpy as np

import roadgym  # noqa: F401  (registers the env ids)

GOLDEN_DIR = Path(__file__).parent / "goldens"

REWARD_TOLERANCE = {"rtol": 1e-6, "atol": 1e-6}
STATE_TOLERANCE = {"rtol": 1e-5, "atol": 1e-4}

# The float64 ufuncs numpy dispatches by CPU feature (SVML on AVX-512, its own or libm's
# code elsewhere) and that the worlds and drivers call.
CPU_DEPENDENT_UFUNCS = ("sin", "cos", "tan", "arctan", "arctan2", "hypot", "power", "exp", "log")


@dataclass(frozen=True)
class Case:
    """One recorded rollout: ``steps`` steps of ``num_envs`` worlds from ``seed``."""

    env_id: str
    seed: int
    steps: int
    num_envs: int = 1
    driver: str = "random"  # "random" (seeded actions, biased forward) or "expert"

    @property
    def name(self) -> str:
        world = self.env_id.split("/")[-1]
        return f"{world}-{self.driver}-s{self.seed}-B{self.num_envs}-T{self.steps}"


CASES = (
    Case("roadgym/Track-v0", 3, 120),
    Case("roadgym/Track-v0", 11, 60, 4),
    Case("roadgym/Town-v0", 5, 120),
    Case("roadgym/Town-v0", 13, 60, 4),
    Case("roadgym/Track-v0", 21, 300, 4, "expert"),
    Case("roadgym/Town-v0", 23, 400, 4, "expert"),
    Case("roadgym/Highway-v0", 7, 60),
    Case("roadgym/Merge-v0", 9, 40, 4),
    Case("roadgym/Highway-v0", 25, 100, 4, "expert"),
)


def _discrete_digest(observation: object) -> bytes:
    """SHA-256 of the uint8 / integer / bool arrays in an observation (floats left out)."""
    digest = hashlib.sha256()

    def update(value: object) -> None:
        if isinstance(value, dict):
            for key in sorted(value):
                update(value[key])
            return
        array = np.asarray(value)
        if array.dtype.kind in "uib":
            digest.update(np.ascontiguousarray(array).tobytes())

    update(observation)
    return digest.digest()


def _state(observation: object, num_envs: int) -> np.ndarray:
    """The float parts of an observation, flattened per world: ``(num_envs, D)``."""
    parts = []
    items = observation.items() if isinstance(observation, dict) else [("", observation)]
    for _, value in sorted(items, key=lambda item: item[0]):
        array = np.asarray(value)
        if array.dtype.kind == "f":
            parts.append(array.reshape(num_envs, -1).astype(np.float64))
    return np.concatenate(parts, axis=1) if parts else np.zeros((num_envs, 0))


def record(case: Case) -> dict[str, np.ndarray]:
    """Run ``case`` and return its trace: per-step digests, dones, rewards, state."""
    kwargs = {"observation": "rgb+semantic+state"} if case.driver == "random" else {}
    if case.num_envs == 1:
        env = gym.make(case.env_id, **kwargs)
    else:
        env = gym.make_vec(
            case.env_id, num_envs=case.num_envs, vectorization_mode="vector_entry_point", **kwargs
        )
    expert = None
    if case.driver == "expert":
        from roadgym.drivers.expert import ExpertDriver

        expert = ExpertDriver(env)
    rng = np.random.default_rng(case.seed)
    observation, _ = env.reset(seed=case.seed)
    digests, states = [_discrete_digest(observation)], [_state(observation, case.num_envs)]
    rewards, dones = [], []
    for _ in range(case.steps):
        if expert is not None:
            action, _ = expert.predict(observation)
        else:
            shape = (2,) if case.num_envs == 1 else (case.num_envs, 2)
            action = rng.uniform(-1.0, 1.0, shape).astype(np.float32)
            action[..., 1] = 0.5 * action[..., 1] + 0.5
        observation, reward, terminated, truncated, _ = env.step(action)
        rewards.append(np.asarray(reward, np.float64).reshape(case.num_envs))
        done = np.stack([np.asarray(terminated), np.asarray(truncated)], axis=-1)
        dones.append(done.reshape(case.num_envs, 2).astype(bool))
        if case.num_envs == 1 and (terminated or truncated):
            observation, _ = env.reset(seed=case.seed + 1000)
        digests.append(_discrete_digest(observation))
        states.append(_state(observation, case.num_envs))
    env.close()
    return {
        "digest": np.frombuffer(b"".join(digests), np.uint8).reshape(len(digests), 32),
        "done": np.stack(dones),  # (T, B, 2): terminated, truncated
        "reward": np.stack(rewards),  # (T, B)
        "state": np.stack(states),  # (T + 1, B, D)
    }


def golden_path(case: Case) -> Path:
    return GOLDEN_DIR / f"{case.name}.npz"


def load(case: Case) -> dict[str, np.ndarray]:
    with np.load(golden_path(case), allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


def mismatches(case: Case, trace: dict[str, np.ndarray]) -> list[str]:
    """What differs between ``trace`` and the recorded golden, first step first (empty: same)."""
    golden = load(case)
    problems = []
    for key in ("digest", "done"):
        differ = np.flatnonzero((golden[key] != trace[key]).reshape(len(golden[key]), -1).any(1))
        if len(differ):
            problems.append(f"{key} differs first at step {differ[0]} ({len(differ)} steps)")
    for key, tolerance in (("reward", REWARD_TOLERANCE), ("state", STATE_TOLERANCE)):
        close = np.isclose(trace[key], golden[key], **tolerance)
        if not close.all():
            step = int(np.argwhere(~close)[0][0])
            error = float(np.max(np.abs(trace[key] - golden[key])))
            problems.append(f"{key} off tolerance first at step {step} (max error {error:.3g})")
    return problems


@contextlib.contextmanager
def perturbed_math() -> Iterator[None]:
    """Every CPU-dependent numpy float ufunc returns one ulp above its usual result.

    What another CPU's SIMD kernels may do to the simulator; the goldens must not notice.
    """
    originals = {name: getattr(np, name) for name in CPU_DEPENDENT_UFUNCS}

    def nudged(ufunc):  # noqa: ANN001, ANN202
        def call(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
            out = ufunc(*args, **kwargs)
            if isinstance(out, np.ndarray) and out.dtype.kind == "f":
                out[...] = np.nextafter(out, np.inf)
                return out
            if isinstance(out, np.floating):
                return np.nextafter(out, type(out)(np.inf))
            return out

        return call

    try:
        for name, ufunc in originals.items():
            setattr(np, name, nudged(ufunc))
        yield
    finally:
        for name, ufunc in originals.items():
            setattr(np, name, ufunc)


def main(argv: list[str]) -> None:
    GOLDEN_DIR.mkdir(exist_ok=True)
    pattern = argv[0] if argv else ""
    for case in CASES:
        if pattern in case.name:
            path = golden_path(case)
            tmp = path.with_suffix(".tmp.npz")
            np.savez_compressed(tmp, **record(case))
            tmp.replace(path)
            print(f"recorded {path.name}")


if __name__ == "__main__":
    main(sys.argv[1:])
