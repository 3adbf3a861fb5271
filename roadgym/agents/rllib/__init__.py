"""Ray RLlib trains roadgym: every env runner steps one batched roadgym world.

``pip install "roadgym[rllib]"``. The pieces, each usable on its own:

- :mod:`~roadgym.agents.rllib.envs`: every roadgym id in RLlib's env registry; the
  creator returns roadgym's native vector env when RLlib asks for ``num_envs``
  (``gym_env_vectorize_mode="vector_entry_point"``), so an env runner with M worlds
  steps them as one numpy batch instead of M Python envs.
- :mod:`~roadgym.agents.rllib.module`: a torch RLModule whose encoder is roadgym's
  ``build_encoder`` (optionally a perception checkpoint, frozen or not); it takes the
  env's uint8 HWC frames and normalises inside, so no float32 copy travels.
- :mod:`~roadgym.agents.rllib.config`: a ``PPOConfig`` built from roadgym's PPO YAML.
- :mod:`~roadgym.agents.rllib.callbacks`: driving metrics (laps, route completion,
  collisions ...) in RLlib's results and TensorBoard.
- :mod:`~roadgym.agents.rllib.training`, :mod:`~roadgym.agents.rllib.policy`: the
  ``roadgym train --backend rllib`` loop with checkpoints, and the loader that lets
  ``evaluate`` / ``watch`` drive an RLlib checkpoint.
"""

from __future__ import annotations

INSTALL_HINT = 'Ray RLlib is not installed; install it with: pip install "roadgym[rllib]"'


def require_ray() -> None:
    """Raise ImportError with the install command when ``ray.rllib`` cannot be imported."""
    try:
        import ray.rllib  # noqa: F401
    except ImportError as error:
        raise ImportError(f"{INSTALL_HINT} ({error})") from error


require_ray()

from roadgym.agents.rllib.envs import make_rllib_env, register_rllib_envs  # noqa: E402

__all__ = ["INSTALL_HINT", "make_rllib_env", "register_rllib_envs", "require_ray"]
