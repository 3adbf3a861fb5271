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
- :mod:`~roadgym.drivers.expert`: the privileged expert driver.
"""
