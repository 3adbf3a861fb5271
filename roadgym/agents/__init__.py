"""Agents: SB3 PPO/DQN on the shared encoder, and a privileged expert driver."""
