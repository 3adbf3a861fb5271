"""Several controlled cars per world: ``num_agents`` as a wider batch.

- :class:`MultiAgentParallelEnv` (``parallel_env``, ``aec_env``): one world as a
  PettingZoo env (needs ``pip install roadgym[multiagent]``; imported on first use).
- :func:`make_multi_agent_vector_env`: B worlds x N cars as one Gymnasium vector env of
  B * N single-agent slots (finished cars masked), and :func:`make_multi_agent_sb3_vec_env`
  the same batch as a stable-baselines3 ``VecEnv`` for parameter-shared training.
"""

from __future__ import annotations

from typing import Any

from roadgym.envs.multiagent.vector import (
    MultiAgentVectorMixin,
    make_multi_agent_vector_env,
    multi_agent_vector_class,
)

_PETTINGZOO_NAMES = ("MultiAgentParallelEnv", "parallel_env", "aec_env")


def make_multi_agent_sb3_vec_env(
    env_id: str, num_worlds: int, num_agents: int = 2, seed: int | None = None, **kwargs: Any
) -> Any:
    """B worlds x N cars as an SB3 ``VecEnv`` of B * N slots (needs ``[train]``).

    Same-step autoreset, ``terminal_observation`` and Monitor-style ``episode`` infos as
    :func:`roadgym.envs.make_sb3_vec_env`; padding episodes of finished cars carry no
    ``episode`` info, so ``rollout/ep_rew_mean`` is over real cars only.
    """
    from gymnasium.vector import AutoresetMode

    from roadgym.envs.core.sb3_vec_env import WorldSB3VecEnv

    vector_env = make_multi_agent_vector_env(
        env_id, num_worlds, num_agents, autoreset_mode=AutoresetMode.SAME_STEP, **kwargs
    )
    venv = WorldSB3VecEnv(vector_env)
    if seed is not None:
        venv.seed(seed)
    return venv


def __getattr__(name: str) -> Any:
    if name in _PETTINGZOO_NAMES:  # imported on use: pettingzoo is an optional extra
        from roadgym.envs.multiagent import parallel

        return getattr(parallel, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "MultiAgentVectorMixin",
    "make_multi_agent_sb3_vec_env",
    "make_multi_agent_vector_env",
    "multi_agent_vector_class",
    *_PETTINGZOO_NAMES,
]
