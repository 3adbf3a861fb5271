"""A digest of seeded rollouts: the pixels, rewards and ends of a few episodes per env.

The golden test compares it with values recorded when the world last changed on
purpose, so a refactor that changes one pixel or one reward fails loudly.
"""

from __future__ import annotations

import hashlib
from typing import Any

import gymnasium as gym
import numpy as np

import roadgym  # noqa: F401  (registers the env ids)


def _update(digest: Any, observation: object) -> None:
    if isinstance(observation, dict):
        for key in sorted(observation):
            _update(digest, observation[key])
    else:
        digest.update(np.ascontiguousarray(observation).tobytes())


def rollout_digest(env_id: str, seed: int, steps: int, num_envs: int = 1) -> str:
    """SHA-256 over observations, rewards and done flags of ``steps`` seeded random steps.

    ``num_envs=1`` drives ``gym.make``; more drives the native vector env. Actions come
    from ``np.random.default_rng(seed)``, biased forward so the car moves.
    """
    kwargs = {"observation": "rgb+semantic+state"}
    if num_envs == 1:
        env = gym.make(env_id, **kwargs)
    else:
        env = gym.make_vec(
            env_id, num_envs=num_envs, vectorization_mode="vector_entry_point", **kwargs
        )
    rng = np.random.default_rng(seed)
    digest = hashlib.sha256()
    observation, _ = env.reset(seed=seed)
    _update(digest, observation)
    for _ in range(steps):
        shape = (2,) if num_envs == 1 else (num_envs, 2)
        action = rng.uniform(-1.0, 1.0, shape).astype(np.float32)
        action[..., 1] = 0.5 * action[..., 1] + 0.5
        observation, reward, terminated, truncated, _ = env.step(action)
        _update(digest, observation)
        digest.update(np.asarray(reward, np.float64).tobytes())
        digest.update(np.asarray([terminated, truncated], np.bool_).tobytes())
        if num_envs == 1 and (terminated or truncated):
            observation, _ = env.reset(seed=seed + 1000)
            _update(digest, observation)
    env.close()
    return digest.hexdigest()


def expert_digest(env_id: str, seed: int, steps: int, num_envs: int) -> str:
    """SHA-256 over the rgb frames, rewards and dones of the expert driving ``num_envs`` worlds."""
    from roadgym.drivers.expert import ExpertDriver

    env = gym.make_vec(env_id, num_envs=num_envs, vectorization_mode="vector_entry_point")
    expert = ExpertDriver(env)
    digest = hashlib.sha256()
    observation, _ = env.reset(seed=seed)
    for _ in range(steps):
        action, _ = expert.predict(observation)
        observation, reward, terminated, truncated, _ = env.step(action)
        _update(digest, observation)
        digest.update(np.asarray(reward, np.float64).tobytes())
        digest.update(np.asarray([terminated, truncated], np.bool_).tobytes())
    env.close()
    return digest.hexdigest()


CASES = (
    ("roadgym/Track-v0", 3, 120, 1),
    ("roadgym/Track-v0", 11, 60, 4),
    ("roadgym/Town-v0", 5, 120, 1),
    ("roadgym/Town-v0", 13, 60, 4),
)

EXPERT_CASES = (
    ("roadgym/Track-v0", 21, 300, 4),
    ("roadgym/Town-v0", 23, 400, 4),
)

if __name__ == "__main__":
    for case in CASES:
        print(f"    {case!r}: {rollout_digest(*case)!r},")
    for case in EXPERT_CASES:
        print(f"    {case!r}: {expert_digest(*case)!r},")
