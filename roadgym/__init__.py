"""roadgym: batched top-down driving worlds, perception and agents, from pixels.

``import roadgym`` registers the environments (``roadgym/Track-v0``) with Gymnasium.
"""

from roadgym.envs import ENV_IDS, register_envs

__version__ = "0.2.0"

__all__ = ["ENV_IDS", "register_envs", "__version__"]
