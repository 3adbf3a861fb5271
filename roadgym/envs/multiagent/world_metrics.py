"""What a multi-agent world reports about itself, beside each car's own metrics.

Every slot's ``info`` carries its car's metrics (those of the single-agent env, plus
``agent_collisions``) and its world's, repeated for each car of the world:

- ``controlled_collisions``: pairs of controlled cars that collided since the reset
  (the world counts them; Town, Highway, Merge);
- ``agents_driving``: controlled cars of the world still driving;
- ``routes_finished`` (Town): controlled cars of the world that reached the end of
  their route;
- ``junction_exits`` (Town): cars, controlled and NPC, that cleared a junction since
  the reset: an NPC when it leaves a junction's connector lane for the street after
  it, a controlled car when its rear bumper passes the end of a junction crossing on
  its route;
- ``junction_throughput_per_min`` (Town): ``junction_exits`` per simulated minute
  since the reset (0 before the first step), how much traffic the world's junctions
  let through.

All are arrays over slots built with array operations (no loop over cars or worlds).
"""

from __future__ import annotations

from typing import Any

import numpy as np

SECONDS_PER_MINUTE = 60.0


class WorldMetrics:
    """The world metrics of a multi-agent vector env's B worlds (see the module doc).

    ``before_step`` and ``after_step`` bracket each ``world.step``; ``reset(worlds)``
    starts the counts of new episodes; ``infos`` adds the metrics to the car infos.
    """

    def __init__(self, world: Any, num_worlds: int, num_agents: int) -> None:
        self.world = world
        self.num_worlds, self.num_agents = num_worlds, num_agents
        self.npc_junction_exits = np.zeros(num_worlds, dtype=np.int64)  # (B,)
        self._npc_lane: np.ndarray | None = None  # (B, V) lanes before the step

    @property
    def has_junctions(self) -> bool:
        """Whether the world has junctions (Town: connector lanes, crossings on routes;
        its town-sized arrays exist from the first reset on)."""
        return hasattr(self.world, "lane_is_connector") and hasattr(
            self.world, "route_connector_end_s"
        )

    def reset(self, worlds: np.ndarray) -> None:
        """New episodes in ``worlds``: their counts start at 0."""
        self.npc_junction_exits[worlds] = 0

    def before_step(self) -> None:
        """Remember what ``after_step`` compares with (the step changes lanes in place)."""
        if self.has_junctions:
            self._npc_lane = self.world.veh_lane[..., 0].copy()  # (B, V)

    def after_step(self) -> None:
        """Count the NPCs that left a junction's connector lane on this step."""
        if not self.has_junctions or self._npc_lane is None:
            return
        world, before = self.world, self._npc_lane
        rows = np.arange(self.num_worlds)[:, None]  # (B, 1)
        left = world.lane_is_connector[rows, before] & (world.veh_lane[..., 0] != before)
        self.npc_junction_exits += left.sum(axis=1)  # (B,)
        self._npc_lane = None

    def controlled_junction_exits(self) -> np.ndarray:
        """Junction crossings each controlled car's rear bumper has passed (C,)."""
        world = self.world
        rear_s = world.s_m - 0.5 * world.config.car_length_m  # (C,)
        return (world.route_connector_end_s <= rear_s[:, None]).sum(axis=1)  # (C,)

    def infos(self, car_infos: dict[str, np.ndarray], driving: np.ndarray) -> dict[str, Any]:
        """The world metrics (B * N,) of each slot's world; ``car_infos``: the world's
        per-car infos (B * N,), ``driving`` (B * N,): which cars are still driving."""
        shape = (self.num_worlds, self.num_agents)
        per_world: dict[str, np.ndarray] = {
            "agents_driving": driving.reshape(shape).sum(axis=1),
        }
        if "controlled_collisions" in car_infos:  # the world's count, repeated per car
            per_world["controlled_collisions"] = car_infos["controlled_collisions"].reshape(shape)[
                :, 0
            ]
        if "success" in car_infos:
            per_world["routes_finished"] = car_infos["success"].reshape(shape).sum(axis=1)
        if self.has_junctions:
            controlled = self.controlled_junction_exits().reshape(shape).sum(axis=1)
            exits = self.npc_junction_exits + controlled  # (B,)
            minutes = self.world.step_count * self.world.config.dt_s / SECONDS_PER_MINUTE
            per_world["junction_exits"] = exits
            per_world["junction_throughput_per_min"] = np.where(
                minutes > 0, exits / np.maximum(minutes, 1e-9), 0.0
            )
        return {key: np.repeat(value, self.num_agents) for key, value in per_world.items()}


def agent_status(car_infos: dict[str, np.ndarray], driving: np.ndarray) -> list[str]:
    """One word per slot for the HUD: ``driving``, or why the car ended (``arrived``,
    ``crashed``, ``off road``, ``off route``, ``stalled``; ``ended`` otherwise)."""

    def flag(key: str) -> np.ndarray:
        value = car_infos.get(key)
        return np.zeros(len(driving), dtype=bool) if value is None else np.asarray(value) > 0

    crashed = flag("crashed") | flag("agent_collisions")
    crashed |= flag("collisions_vehicle") | flag("collisions_pedestrian")
    reasons = (
        ("arrived", flag("success")),
        ("crashed", crashed),
        ("off road", flag("off_road")),
        ("off route", flag("off_route")),
        ("stalled", flag("stalled")),
    )
    status = []
    for k in range(len(driving)):
        if driving[k]:
            status.append("driving")
            continue
        status.append(next((word for word, hit in reasons if hit[k]), "ended"))
    return status
