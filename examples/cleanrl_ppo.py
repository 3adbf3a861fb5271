"""PPO in one file, CleanRL style, on roadgym's native vector env (torch, discrete actions).

    python examples/cleanrl_ppo.py [--total-timesteps 50000] [--num-envs 16]

The whole algorithm is below: rollout storage shaped ``(num_steps, num_envs, ...)``,
generalised advantage estimation, the clipped surrogate objective, a value loss and an
entropy bonus, minibatch epochs over each rollout. The envs are one batched simulator,
``gym.make_vec(..., vectorization_mode="vector_entry_point")``, with
``autoreset_mode="SameStep"`` so that the observation after a finished episode is
already the next episode's first, as this loop assumes. Needs ``pip install -e ".[train]"``.
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import gymnasium as gym
import numpy as np
import torch
from torch import nn
from torch.distributions import Categorical

import roadgym  # noqa: F401  (registers roadgym/Track-v0)
from roadgym.perception import build_encoder


@dataclasses.dataclass
class Args:
    env_id: str = "roadgym/Track-v0"
    """the roadgym id (its vector entry point is used)"""
    total_timesteps: int = 50_000
    """env steps over all worlds"""
    num_envs: int = 16
    """worlds stepped together"""
    num_steps: int = 128
    """steps per world per rollout"""
    learning_rate: float = 2.5e-4
    """Adam step size, annealed linearly to 0"""
    gamma: float = 0.99
    """discount"""
    gae_lambda: float = 0.95
    """GAE lambda"""
    num_minibatches: int = 4
    """minibatches per epoch"""
    update_epochs: int = 4
    """epochs over each rollout"""
    clip_coef: float = 0.2
    """surrogate clipping"""
    ent_coef: float = 0.01
    """entropy bonus"""
    vf_coef: float = 0.5
    """value loss weight"""
    max_grad_norm: float = 0.5
    """gradient clipping"""
    seed: int = 0
    """seed of the worlds (world i gets seed + i) and of torch"""


def parse_args(argv: list[str] | None) -> Args:
    """Flags from the fields of :class:`Args` (``--total-timesteps``, ...)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for field in dataclasses.fields(Args):
        flag = "--" + field.name.replace("_", "-")
        parser.add_argument(flag, type=type(field.default), default=field.default)
    return Args(**vars(parser.parse_args(argv)))


class Agent(nn.Module):
    """roadgym's NatureCNN encoder with a policy head and a value head."""

    def __init__(self, frame_shape: tuple[int, int, int], num_actions: int) -> None:
        super().__init__()
        self.encoder = build_encoder("nature", frame_shape, channels=(16, 32, 32), features_dim=256)
        self.actor = nn.Linear(self.encoder.features_dim, num_actions)
        self.critic = nn.Linear(self.encoder.features_dim, 1)

    def value(self, frames: torch.Tensor) -> torch.Tensor:
        return self.critic(self.encoder(frames)).squeeze(-1)  # (B,)

    def act(
        self, frames: torch.Tensor, action: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Sample (or score) actions: action, log-prob, entropy, value, each (B,)."""
        features = self.encoder(frames)  # (B, 256) from uint8 (B, H, W, 3)
        distribution = Categorical(logits=self.actor(features))
        if action is None:
            action = distribution.sample()
        value = self.critic(features).squeeze(-1)
        return action, distribution.log_prob(action), distribution.entropy(), value


def main(argv: list[str] | None = None) -> list[float]:
    """Train; print the mean return of the episodes each rollout finished. Returns them."""
    args = parse_args(argv)
    torch.manual_seed(args.seed)
    torch.set_num_threads(1)
    envs = gym.make_vec(
        args.env_id,
        num_envs=args.num_envs,
        vectorization_mode="vector_entry_point",
        action_type="discrete",
        autoreset_mode="SameStep",
    )
    frame_shape = envs.single_observation_space.shape  # (64, 64, 3)
    agent = Agent(frame_shape, int(envs.single_action_space.n))
    optimizer = torch.optim.Adam(agent.parameters(), lr=args.learning_rate, eps=1e-5)

    shape = (args.num_steps, args.num_envs)
    obs = torch.zeros(shape + frame_shape, dtype=torch.uint8)  # (T, N, H, W, 3)
    actions = torch.zeros(shape, dtype=torch.long)  # (T, N)
    logprobs, rewards, dones, values = (torch.zeros(shape) for _ in range(4))  # (T, N) each
    batch_size = args.num_envs * args.num_steps
    minibatch_size = batch_size // args.num_minibatches
    num_iterations = max(args.total_timesteps // batch_size, 1)

    next_obs = torch.as_tensor(envs.reset(seed=args.seed)[0])  # (N, H, W, 3)
    next_done = torch.zeros(args.num_envs)
    episode_return = np.zeros(args.num_envs)
    mean_returns: list[float] = []
    start = time.perf_counter()
    for iteration in range(num_iterations):
        optimizer.param_groups[0]["lr"] = args.learning_rate * (1 - iteration / num_iterations)
        finished: list[float] = []
        for step in range(args.num_steps):
            obs[step], dones[step] = next_obs, next_done
            with torch.no_grad():
                action, logprob, _, value = agent.act(next_obs)
            actions[step], logprobs[step], values[step] = action, logprob, value
            frames, reward, terminated, truncated, _ = envs.step(action.numpy())
            done = np.logical_or(terminated, truncated)
            episode_return += reward
            finished += episode_return[done].tolist()
            episode_return[done] = 0.0
            rewards[step] = torch.as_tensor(reward, dtype=torch.float32)
            next_obs = torch.as_tensor(frames)
            next_done = torch.as_tensor(done, dtype=torch.float32)

        with torch.no_grad():  # GAE, bootstrapping from the value of the next observation
            next_value = agent.value(next_obs)  # (N,)
            advantages = torch.zeros(shape)  # (T, N)
            last_gae = torch.zeros(args.num_envs)
            for t in reversed(range(args.num_steps)):
                not_done = 1.0 - (next_done if t == args.num_steps - 1 else dones[t + 1])
                following = next_value if t == args.num_steps - 1 else values[t + 1]
                delta = rewards[t] + args.gamma * following * not_done - values[t]
                last_gae = delta + args.gamma * args.gae_lambda * not_done * last_gae
                advantages[t] = last_gae
            returns = advantages + values

        b_obs = obs.reshape((-1,) + frame_shape)  # (T N, H, W, 3)
        b_actions, b_logprobs = actions.reshape(-1), logprobs.reshape(-1)
        b_advantages, b_returns = advantages.reshape(-1), returns.reshape(-1)
        for _ in range(args.update_epochs):
            for chunk in torch.randperm(batch_size).split(minibatch_size):
                _, new_logprob, entropy, new_value = agent.act(b_obs[chunk], b_actions[chunk])
                ratio = (new_logprob - b_logprobs[chunk]).exp()
                advantage = b_advantages[chunk]
                advantage = (advantage - advantage.mean()) / (advantage.std() + 1e-8)
                policy_loss = torch.max(
                    -advantage * ratio,
                    -advantage * ratio.clamp(1 - args.clip_coef, 1 + args.clip_coef),
                ).mean()
                value_loss = 0.5 * ((new_value - b_returns[chunk]) ** 2).mean()
                loss = policy_loss - args.ent_coef * entropy.mean() + args.vf_coef * value_loss
                optimizer.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(agent.parameters(), args.max_grad_norm)
                optimizer.step()

        mean_return = float(np.mean(finished)) if finished else float("nan")
        mean_returns.append(mean_return)
        steps = (iteration + 1) * batch_size
        print(
            f"iteration {iteration + 1}/{num_iterations}: {steps} steps, "
            f"{len(finished)} episodes, mean return {mean_return:+.2f}, "
            f"{steps / (time.perf_counter() - start):.0f} steps/s"
        )
    envs.close()
    return mean_returns


if __name__ == "__main__":
    main()
