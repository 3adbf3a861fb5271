"""roadgym's shipped DQN hyperparameters for RL Zoo's ``--conf-file roadgym.agents.rl_zoo.dqn``."""

from roadgym.agents.rl_zoo import zoo_hyperparams

hyperparams = zoo_hyperparams("dqn")
