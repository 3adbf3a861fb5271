"""B worlds x N controlled cars as one flat batch of B * N single-agent slots.

A :class:`MultiAgentVectorEnv` is a world's native vector env (``HighwayVectorEnv``,
``TownVectorEnv``, ...) whose world holds ``num_agents`` controlled cars: slot ``k`` is
car ``k % N`` of world ``k // N``, so a policy with shared parameters drives every car
of every world in one batched call, as SuperSuit's ``pettingzoo_env_to_vec_env`` and
PufferLib do, without a Python loop over cars or worlds in the step.

Finished cars are masked ("black death", as SuperSuit's ``black_death``): a car that
ends (collision, off road) reports ``terminated`` once, with its real last observation;
its slot then returns zero observations and reward 0, ``info["agent_active"]`` False,
until its world ends, which ends the padding episode (``terminated`` True). A world
ends when all its cars have ended or at its time limit (``truncated`` for the cars still
driving); it then starts a new episode in all its slots, by Gymnasium's autoreset rule
(``NEXT_STEP`` by default, ``SAME_STEP`` for SB3).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode
from gymnasium.vector.utils import batch_space

from roadgym.envs.core.rendering import agent_colour, draw_roster
from roadgym.envs.core.spaces import actions_to_controls
from roadgym.envs.core.vector_env import WorldVectorEnv, _masked
from roadgym.envs.multiagent.world_metrics import WorldMetrics, agent_status


class MultiAgentVectorMixin:
    """The multi-agent side of a :class:`WorldVectorEnv` subclass: see the module doc.

    ``num_envs`` is B * N (slots); ``num_worlds`` is B. Seeds are per world: ``seed=s``
    seeds world ``i`` with ``s + i``, so world ``i`` is the PettingZoo env
    (:class:`roadgym.envs.multiagent.MultiAgentParallelEnv`) reset with seed ``s + i``.
    """

    multi_agent = True

    def __init__(self, num_worlds: int, *args: Any, **kwargs: Any) -> None:
        super().__init__(num_worlds, *args, **kwargs)
        if self.autoreset_mode == AutoresetMode.DISABLED:
            raise ValueError(
                f"autoreset_mode = {self.autoreset_mode} is not allowed for "
                f"{type(self).__name__}; allowed: NEXT_STEP, SAME_STEP"
            )
        self.num_agents = agents = self.world.num_agents
        self.num_envs = slots = num_worlds * agents
        self.observation_space = batch_space(self.single_observation_space, slots)
        self.action_space = batch_space(self.single_action_space, slots)
        self.slot_world = np.repeat(np.arange(num_worlds), agents)  # (B * N,)
        self._last_reward = np.zeros(slots)
        self._episode_return = np.zeros(slots)
        self._dead = np.zeros(slots, dtype=bool)  # ended on an earlier step: padding
        self.world_metrics = WorldMetrics(self.world, num_worlds, agents)

    # ------------------------------------------------------------------ reset

    def reset(
        self,
        *,
        seed: int | Sequence[int | None] | None = None,
        options: dict[str, Any] | None = None,
    ) -> tuple[Any, dict[str, Any]]:
        """Reset every world; ``seed``: an int (world ``i`` gets ``seed + i``), a list of
        one seed (or None) per world, a list of one per slot (SB3's ``seed()``: world
        ``i`` takes its first slot's), or None."""
        if options and "reset_mask" in options:
            raise ValueError(
                f"options['reset_mask'] is not supported by {type(self).__name__}: worlds "
                "reset whole, by autoreset; allowed: options without 'reset_mask'"
            )
        seeds = self._seeds_per_world(seed)
        if isinstance(seed, (int, np.integer)):
            gym.vector.VectorEnv.reset(self, seed=int(seed))
        worlds = np.arange(self.num_worlds)
        self._reset_worlds(worlds, seeds)
        self._needs_reset[:] = False
        self._autoreset[:] = False
        observations = self.world.observe()
        self._remember(observations)
        return self._format(observations), self._infos()

    def _seeds_per_world(self, seed: Any) -> list[int | None]:
        if (
            isinstance(seed, (Sequence, np.ndarray))
            and not isinstance(seed, (str, bytes))
            and len(seed) == self.num_envs != self.num_worlds
        ):
            seed = list(seed)[:: self.num_agents]  # one per slot (SB3's seed()): the first
        return super()._seeds_per_world(seed)  # one per world: num_worlds

    def _reset_worlds(self, indices: np.ndarray, seeds: Sequence[int | None] | None = None):
        """Start new episodes in worlds ``indices`` (as :class:`WorldVectorEnv`)."""
        if len(indices) == 0:
            return
        self._reset_world_states(indices, seeds)
        self._elapsed_steps[indices] = 0
        slots = self.world.world_cars(indices)
        self._last_reward[slots] = 0.0
        self._episode_return[slots] = 0.0
        self._dead[slots] = False
        self.world_metrics.reset(indices)
        forget = getattr(self, "forget_renders", None)  # a world's cached maps, if any
        if forget is not None:
            forget(indices)

    # ------------------------------------------------------------------ step

    def step(self, actions: Any) -> tuple[Any, np.ndarray, np.ndarray, np.ndarray, dict]:
        """Advance every world by one step; ``actions`` (B * N, ...), one per slot (those
        of padding slots are ignored)."""
        if self._needs_reset.any():
            raise RuntimeError(
                f"{type(self).__name__}.step() called before reset(); call envs.reset() first"
            )
        controls = actions_to_controls(actions, self.config, batch_size=self.num_envs)
        active = ~self._dead  # (B * N,) driving at the start of this step
        self.world_metrics.before_step()
        reward, ended_car = self.world.step(controls)  # (B * N,) each
        self.world_metrics.after_step()
        self._elapsed_steps += 1
        world_truncated = self._truncated()  # (B,)
        world_over = world_truncated | self.world.ended  # (B,)
        over = world_over[self.slot_world]
        terminated = (ended_car & active) | (over & ~active)
        truncated = world_truncated[self.slot_world] & active & ~ended_car
        reward = np.where(active, reward, 0.0)
        self._dead |= ended_car

        if self.autoreset_mode == AutoresetMode.NEXT_STEP:
            restarting = np.flatnonzero(self._autoreset)  # worlds that ended last step
            self._reset_worlds(restarting)
            slots = self.world.world_cars(restarting)
            reward[slots] = 0.0
            terminated[slots] = False
            truncated[slots] = False
            active[slots] = True
        self._track_returns(reward)
        observations = self.world.observe()
        infos = self._infos(active)
        # Padding slots see zeros; a car's last real frame is the one it ended on.
        padding = ~active
        if self.autoreset_mode == AutoresetMode.SAME_STEP:
            done = terminated | truncated
            if done.any():
                final_obs = np.full(self.num_envs, None, dtype=object)
                for i in np.flatnonzero(done):  # per slot, as SyncVectorEnv gives them
                    final_obs[i] = self._format({k: v[i].copy() for k, v in observations.items()})
                final_info = _masked(infos, done)
                finished = np.flatnonzero(world_over)
                self._reset_worlds(finished)
                fresh = self.world.observe()
                fresh_slots = self.world.world_cars(finished)
                for mode, array in fresh.items():
                    observations[mode][fresh_slots] = array[fresh_slots]
                padding = self._dead.copy()
                infos = self._infos(~self._dead)
                infos.update(
                    final_obs=final_obs,
                    _final_obs=done.copy(),
                    final_info=final_info,
                    _final_info=done.copy(),
                )
        for array in observations.values():
            array[padding] = 0
        self._autoreset = world_over
        self._remember(observations)
        return self._format(observations), reward, terminated, truncated, infos

    def _track_returns(self, reward: np.ndarray) -> None:
        self._last_reward[:] = reward
        self._episode_return += reward

    def _infos(self, active: np.ndarray | None = None) -> dict[str, Any]:
        infos = super()._infos()
        active = ~self._dead if active is None else active
        infos["agent_active"], infos["_agent_active"] = active.copy(), np.ones_like(active)
        ones = np.ones(self.num_envs, dtype=bool)
        world = self.world_metrics.infos(infos, ~self._dead)
        for key, value in world.items():
            infos[key], infos["_" + key] = value, ones.copy()
        return infos

    def render_world(self, index: int) -> np.ndarray:
        """The bird's-eye frame of slot ``index``: its world around its car, that car's
        HUD (top left), and with several cars a roster at the bottom left: each car's
        colour, speed, progress (route % in Town, metres driven on a highway), episode
        return and status (``driving``, ``crashed``, ``arrived``...)."""
        world, agent = divmod(index, self.num_agents)
        image = super().render_world(world, agent=agent)
        if self.num_agents > 1:
            draw_roster(image, self._roster_rows(world), agent)
        return image

    def _roster_rows(self, world: int) -> list[tuple[tuple[int, int, int], str]]:
        """One HUD row per car of ``world``: its colour and a line of its numbers."""
        slots = slice(world * self.num_agents, (world + 1) * self.num_agents)
        car_infos = {k: np.asarray(v)[slots] for k, v in self.world.infos().items()}
        status = agent_status(car_infos, ~self._dead[slots])
        speed_kmh = car_infos["speed_mps"] * 3.6
        if "route_completion" in car_infos:
            progress = [f"{100 * c:3.0f}%" for c in car_infos["route_completion"]]
        else:
            progress = [f"{d:4.0f}m" for d in car_infos.get("distance_m", np.zeros(len(status)))]
        returns = self._episode_return[slots]
        return [
            (
                agent_colour(j),
                f"car_{j:<2d} {speed_kmh[j]:3.0f}km/h {progress[j]} {returns[j]:+6.1f} {status[j]}",
            )
            for j in range(self.num_agents)
        ]


@functools.cache
def multi_agent_vector_class(env_id: str) -> type:
    """The multi-agent vector env class of ``env_id``: its native vector env with the
    multi-agent slots of :class:`MultiAgentVectorMixin`."""
    if env_id not in gym.registry:
        raise gym.error.UnregisteredEnv(f"No registered env with id: {env_id!r}")
    entry = gym.registry[env_id].vector_entry_point
    base = gym.envs.registration.load_env_creator(entry) if isinstance(entry, str) else entry
    if not (isinstance(base, type) and issubclass(base, WorldVectorEnv)):
        raise ValueError(f"env_id = {env_id!r} has no roadgym world vector env")
    if not any(f == "num_agents" for f in base.config_class.__dataclass_fields__):
        raise ValueError(
            f"env_id = {env_id!r} has no num_agents field: one controlled car only; "
            "allowed: roadgym/Town-v0, roadgym/Highway-v0, roadgym/Merge-v0"
        )
    name = base.__name__.replace("VectorEnv", "MultiAgentVectorEnv")
    return type(name, (MultiAgentVectorMixin, base), {"__module__": __name__})


def make_multi_agent_vector_env(
    env_id: str, num_worlds: int, num_agents: int = 2, **kwargs: Any
) -> WorldVectorEnv:
    """B = ``num_worlds`` worlds of ``env_id`` with ``num_agents`` cars each, as one
    Gymnasium vector env of B * N slots; ``kwargs``: the vector env's arguments
    (``autoreset_mode``, ``max_episode_steps``, ``render_mode``, ``config``) and config
    fields."""
    cls = multi_agent_vector_class(env_id)
    return cls(num_worlds, num_agents=num_agents, **kwargs)
