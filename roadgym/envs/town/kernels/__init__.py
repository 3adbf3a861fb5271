"""numba kernels of the Town step: NPC leaders, corridor, stop lines, left-turn yields,
lane poses and IDM speed update, the ego cars' stop lines, pedestrians' crossing
decisions, the labels' first-hit search and the labels themselves.

Imported only when :func:`roadgym.envs.core.kernels.use_numba` says so (its decorator
imports numba). Each kernel is a loop over worlds and cars that computes what its numpy
twin in :mod:`roadgym.envs.town.traffic` computes, with the same comparisons and the
same IEEE operations in the same order (no fastmath, so no fused multiply-add): the
results are identical, not merely close. The numpy code stays the reference.
"""

from roadgym.envs.town.kernels.crossings import (
    first_hit,
    left_turn_yield,
    movements,
    pedestrians_waiting,
)
from roadgym.envs.town.kernels.ego_lines import ego_stop_lines
from roadgym.envs.town.kernels.idm import idm_advance, idm_step
from roadgym.envs.town.kernels.labels import labels
from roadgym.envs.town.kernels.npc import corridor_gap, lane_poses, leaders, npc_constraints
from roadgym.envs.town.kernels.outcome import reward_and_end

__all__ = [
    "corridor_gap",
    "ego_stop_lines",
    "first_hit",
    "idm_advance",
    "idm_step",
    "labels",
    "lane_poses",
    "leaders",
    "movements",
    "left_turn_yield",
    "npc_constraints",
    "pedestrians_waiting",
    "reward_and_end",
]
