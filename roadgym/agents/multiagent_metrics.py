"""TensorBoard scalars of multi-agent training: each car's episode and each world's.

``roadgym train`` adds :class:`MultiAgentMetricsCallback` in place of
:class:`roadgym.agents.callbacks.DrivingMetricsCallback` when the env holds several
controlled cars (``env_kwargs.num_agents`` > 1); any SB3 ``learn`` on
:func:`roadgym.envs.multiagent.make_multi_agent_sb3_vec_env` can pass it as
``callback=``. Tags, averaged over what ended since SB3's last dump:

- ``driving/<metric>``: a car's episode, by the same rules as the single-agent
  callback (:class:`roadgym.agents.metrics.EpisodeMetrics`: bools as rates, speed as a
  mean, counters at the end), over real cars only: the padding episodes of finished
  cars (no ``episode`` info) are left out;
- ``multiagent/<metric>``: a world's episode, read from its last step's info:
  ``controlled_collisions`` (pairs), ``agents_driving`` at the end, and in Town
  ``routes_finished``, ``junction_exits`` and ``junction_throughput_per_min`` (see
  :mod:`roadgym.envs.multiagent.world_metrics`); ``route_finished_rate`` is
  ``routes_finished`` over the world's cars, ``controlled_collisions_per_km`` the pairs
  over the kilometres the world's cars drove (where the env reports ``distance_m``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback

from roadgym.agents.metrics import EpisodeMetrics

__all__ = ["WORLD_METRIC_KEYS", "MultiAgentMetricsCallback"]

# The world's keys in each slot's info (repeated per car): logged once per world.
WORLD_METRIC_KEYS = (
    "controlled_collisions",
    "agents_driving",
    "routes_finished",
    "junction_exits",
    "junction_throughput_per_min",
)
_NOT_PER_CAR = {*WORLD_METRIC_KEYS, "agent_active", "npc_collisions", "return", "length"}


class MultiAgentMetricsCallback(BaseCallback):
    """Per-car and per-world metrics of a flat B x N multi-agent VecEnv (see module doc).

    :param num_agents: cars per world; by default read from the training env
        (``get_attr("num_agents")``).
    """

    def __init__(self, num_agents: int | None = None, verbose: int = 0) -> None:
        super().__init__(verbose)
        if num_agents is not None and (isinstance(num_agents, bool) or num_agents < 1):
            raise ValueError(f"num_agents = {num_agents!r}; allowed: an int >= 1 or None")
        self.num_agents = num_agents
        self.tracker: EpisodeMetrics | None = None
        self.cars_ended = 0
        self.worlds_ended = 0

    def _on_training_start(self) -> None:
        env = self.training_env
        if self.num_agents is None:
            self.num_agents = int(env.get_attr("num_agents", [0])[0])
        if env.num_envs % self.num_agents:
            raise ValueError(
                f"the training env has {env.num_envs} slots, not a multiple of num_agents = "
                f"{self.num_agents}; allowed: a multi-agent VecEnv of B worlds x N cars"
            )
        self.tracker = EpisodeMetrics(env.num_envs)

    def _on_step(self) -> bool:
        if self.tracker is None:
            self._on_training_start()
        infos, dones = self.locals["infos"], np.asarray(self.locals["dones"], dtype=bool)
        for slot, metrics in self.tracker.update(self.locals["rewards"], dones, infos):
            if "episode" not in infos[slot]:  # a finished car's padding, not a car
                continue
            self.cars_ended += 1
            for key, value in metrics.items():
                if key not in _NOT_PER_CAR:
                    self.logger.record_mean(f"driving/{key}", value)
        # A world ends on the step where all its slots are done (driving cars truncated
        # or terminated, padding slots terminated); no slot is done alone on that step.
        n = self.num_agents
        for world in np.flatnonzero(dones.reshape(-1, n).all(axis=1)):
            self._record_world(infos[world * n : (world + 1) * n])
        return True

    def _record_world(self, infos: list[dict[str, Any]]) -> None:
        """Log one world's episode from its slots' last infos."""
        self.worlds_ended += 1
        first = infos[0]
        for key in WORLD_METRIC_KEYS:
            if key in first:
                self.logger.record_mean(f"multiagent/{key}", float(first[key]))
        if "routes_finished" in first:
            rate = float(first["routes_finished"]) / len(infos)
            self.logger.record_mean("multiagent/route_finished_rate", rate)
        if "controlled_collisions" in first and all("distance_m" in i for i in infos):
            km = sum(max(float(i["distance_m"]), 0.0) for i in infos) / 1000.0
            if km > 0:
                pairs = float(first["controlled_collisions"])
                self.logger.record_mean("multiagent/controlled_collisions_per_km", pairs / km)
