"""roadgym's shipped PPO hyperparameters for RL Zoo's ``--conf-file roadgym.agents.rl_zoo.ppo``."""

from roadgym.agents.rl_zoo import zoo_hyperparams

hyperparams = zoo_hyperparams("ppo")
