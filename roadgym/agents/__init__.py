"""Agents: SB3 PPO/DQN on the shared encoder, and a privileged expert driver.

Modules (imported on demand, so ``import roadgym.agents`` stays cheap):

- :mod:`~roadgym.agents.hyperparams`: the shipped YAML hyperparameters, validated.
- :mod:`~roadgym.agents.training`: :func:`~roadgym.agents.training.train`, behind
  ``roadgym train``.
- :mod:`~roadgym.agents.evaluation`: one evaluator on held-out seeds for models and the
  expert, behind ``roadgym evaluate``.
- :mod:`~roadgym.agents.watch`: a pygame window or an mp4, behind ``roadgym watch``.
- :mod:`~roadgym.agents.callbacks`, :mod:`~roadgym.agents.metrics`: TensorBoard driving
  metrics, held-out evaluation, checkpoints and evaluation videos during training.
- :mod:`~roadgym.agents.rl_zoo`: the same hyperparameters for RL Baselines3 Zoo.
- :mod:`~roadgym.agents.imitation`: pixel students taught by the expert (BC, DAgger),
  behind ``roadgym imitate``; ``roadgym train --init-from`` fine-tunes them with PPO.
- :mod:`~roadgym.agents.pretrained`: models shipped in the package,
  :func:`load_pretrained` (``load_pretrained("town-student")``).
- :mod:`~roadgym.drivers.expert`: the privileged expert driver.
"""

from typing import Any


def load_pretrained(name: str, device: str = "cpu") -> Any:
    """A model shipped with roadgym; see :func:`roadgym.agents.pretrained.load_pretrained`."""
    from roadgym.agents.pretrained import load_pretrained as load

    return load(name, device=device)


__all__ = ["load_pretrained"]
