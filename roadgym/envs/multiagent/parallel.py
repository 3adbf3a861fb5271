"""One multi-agent world as a PettingZoo ``ParallelEnv`` (needs the ``multiagent`` extra).

``MultiAgentParallelEnv("roadgym/Merge-v0", num_agents=4)`` is the batch of one world
of :mod:`roadgym.envs.multiagent.vector`: the same simulator, so world ``i`` of a
multi-agent vector env reset with seed ``s`` is this env reset with seed ``s + i``.
"""

from __future__ import annotations

import copy
from typing import Any

import gymnasium as gym
import numpy as np
from pettingzoo import AECEnv, ParallelEnv
from pettingzoo.utils.conversions import parallel_to_aec

from roadgym.envs.multiagent.vector import make_multi_agent_vector_env

_REGISTERED = object()  # max_cycles not given: the env id's registered episode length


class MultiAgentParallelEnv(ParallelEnv):
    """Several controlled cars sharing one roadgym world, PettingZoo's parallel API.

    ## Agents
    ``possible_agents`` = ``["car_0", ..., "car_{N-1}"]``; ``agents`` holds those still
    driving and shrinks as cars end (collision, off road: ``terminated``) or all at once
    at the time limit (``truncated``). A car that ended is removed from the world or
    parked (``finished_agent_mode``).

    ## Spaces
    ``observation_space(agent)`` and ``action_space(agent)`` are the single-agent env's
    (its ``observation`` and ``action_type``), each car with its own camera frame,
    state and kinematics, seen from itself.

    ## Arguments
    ``env_id`` (a roadgym id whose config has ``num_agents``), ``num_agents``,
    ``render_mode`` (None or ``"rgb_array"``: the bird's-eye frame of ``render_agent``'s
    car, every controlled car drawn), ``max_cycles`` (steps before truncation; default
    the id's registered episode length, for Highway and Merge their ``duration_s``) and
    config fields as for ``gymnasium.make``.

    ## Info
    Per agent: the single env's metrics and ``labels``, ``agent_collisions`` (with other
    controlled cars), and the world's ``npc_collisions`` and ``controlled_collisions``.
    """

    metadata = {"render_modes": ["rgb_array"], "name": "roadgym_multiagent_v0"}

    def __init__(
        self,
        env_id: str = "roadgym/Highway-v0",
        num_agents: int = 2,
        render_mode: str | None = None,
        max_cycles: Any = _REGISTERED,
        **config: Any,
    ) -> None:
        options: dict[str, Any] = {}
        if max_cycles is not _REGISTERED:
            options["max_episode_steps"] = max_cycles
        self._env = make_multi_agent_vector_env(
            env_id, 1, num_agents=num_agents, render_mode=render_mode, **options, **config
        )
        self.env_id = env_id
        self.render_mode = render_mode
        self.render_agent = 0
        self.config = self._env.config
        self.possible_agents = [f"car_{i}" for i in range(num_agents)]
        self.agents: list[str] = []
        self._index = {agent: i for i, agent in enumerate(self.possible_agents)}
        # One space object per agent, so that seeding one does not seed the others.
        self.observation_spaces = {
            a: copy.deepcopy(self._env.single_observation_space) for a in self.possible_agents
        }
        self.action_spaces = {
            a: copy.deepcopy(self._env.single_action_space) for a in self.possible_agents
        }
        self._noop = np.zeros_like(self._env.single_action_space.sample())

    @property
    def max_cycles(self) -> int | None:
        """Steps before every car is truncated (None: only the world's own time limit)."""
        return self._env.max_episode_steps

    @max_cycles.setter
    def max_cycles(self, value: int | None) -> None:
        if value is not None and (isinstance(value, bool) or int(value) != value or value < 1):
            raise ValueError(f"max_cycles = {value!r}; allowed: an int >= 1 or None")
        self._env.max_episode_steps = None if value is None else int(value)

    def observation_space(self, agent: str) -> gym.Space:
        return self.observation_spaces[self._check_agent(agent)]

    def action_space(self, agent: str) -> gym.Space:
        return self.action_spaces[self._check_agent(agent)]

    def _check_agent(self, agent: str) -> str:
        if agent not in self._index:
            raise KeyError(f"agent = {agent!r} is unknown; allowed: {self.possible_agents}")
        return agent

    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
        observation, info = self._env.reset(seed=seed)
        self.agents = list(self.possible_agents)
        return self._per_agent(observation), _unbatch(info, self.agents, self._index)

    def step(self, actions: dict[str, Any]) -> tuple[dict, dict, dict, dict, dict]:
        if not self.agents:
            raise RuntimeError(
                f"{type(self).__name__}.step() called with no agent left (the episode is "
                "over, or reset() was never called); call reset() first"
            )
        unknown = sorted(set(actions) - set(self.agents))
        missing = [agent for agent in self.agents if agent not in actions]
        if unknown or missing:
            raise ValueError(
                f"actions for {sorted(actions)} do not match the live agents {self.agents}: "
                f"missing {missing}, not live {unknown}"
            )
        shape = self._noop.shape
        for agent, action in actions.items():  # the dict is per agent already
            if np.shape(action) != shape:
                raise ValueError(
                    f"actions[{agent!r}] = {action!r} has shape {np.shape(action)}; expected "
                    f"{shape}, an action of action_space({agent!r}) = {self.action_space(agent)}"
                )
        batch = np.stack(
            [np.asarray(actions.get(agent, self._noop)) for agent in self.possible_agents]
        )
        observation, reward, terminated, truncated, info = self._env.step(batch)
        live = self.agents
        out = (
            self._per_agent(observation, live),
            {a: float(reward[self._index[a]]) for a in live},
            {a: bool(terminated[self._index[a]]) for a in live},
            {a: bool(truncated[self._index[a]]) for a in live},
            _unbatch(info, live, self._index),
        )
        self.agents = [a for a in live if not (out[2][a] or out[3][a])]
        return out

    def _per_agent(self, observation: Any, agents: list[str] | None = None) -> dict[str, Any]:
        agents = self.possible_agents if agents is None else agents
        if isinstance(observation, dict):
            return {a: {k: v[self._index[a]] for k, v in observation.items()} for a in agents}
        return {a: observation[self._index[a]] for a in agents}

    def render(self) -> np.ndarray | None:
        """The bird's-eye frame (size, size, 3) around car ``render_agent``."""
        if self.render_mode is None:
            gym.logger.warn("render() called without a render_mode; nothing to draw")
            return None
        return self._env.render_world(self.render_agent)

    def close(self) -> None:
        self._env.close()


def _unbatch(info: dict[str, Any], agents: list[str], index: dict[str, int]) -> dict:
    """Gymnasium's batched info over slots -> one plain dict per agent."""
    out: dict[str, dict[str, Any]] = {a: {} for a in agents}
    for key, value in info.items():
        if key.startswith("_"):
            continue
        if isinstance(value, dict):
            for agent, nested in _unbatch(value, agents, index).items():
                out[agent][key] = nested
        else:
            for agent in agents:
                out[agent][key] = value[index[agent]].item()
    return out


def parallel_env(env_id: str = "roadgym/Highway-v0", **kwargs: Any) -> MultiAgentParallelEnv:
    """A :class:`MultiAgentParallelEnv` (PettingZoo's ``parallel_env`` convention)."""
    return MultiAgentParallelEnv(env_id, **kwargs)


def aec_env(env_id: str = "roadgym/Highway-v0", **kwargs: Any) -> AECEnv:
    """The AEC form of :func:`parallel_env`, through PettingZoo's ``parallel_to_aec``."""
    return parallel_to_aec(MultiAgentParallelEnv(env_id, **kwargs))
