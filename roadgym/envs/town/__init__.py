"""roadgym/Town-v0: procedural towns with lights, stop signs, traffic and pedestrians."""

from roadgym.envs.town.config import TownConfig
from roadgym.envs.town.env import TownEnv
from roadgym.envs.town.generator import TownMap, generate_town
from roadgym.envs.town.routing import Route, plan_route, sample_route
from roadgym.envs.town.vector_env import TownVectorEnv
from roadgym.envs.town.world import TownWorld

__all__ = [
    "Route",
    "TownConfig",
    "TownEnv",
    "TownMap",
    "TownVectorEnv",
    "TownWorld",
    "generate_town",
    "plan_route",
    "sample_route",
]
