"""The VecEnvs agents train and are evaluated on, wrapped as the hyperparameters say.

Training uses roadgym's batched SB3 adapter (``roadgym.envs.make_sb3_vec_env``) for
roadgym ids, else SB3's ``DummyVecEnv`` over single envs; both get the same wrappers
(``VecFrameStack``, ``VecNormalize``). Episode statistics (``info["episode"]``, SB3's
``rollout/ep_rew_mean``) are added once, where SB3's own ``make_vec_env`` adds them: per
world, by the adapter itself or by a ``Monitor`` around each single env; no
``VecMonitor`` goes on top. Evaluation plays a fixed list of held-out seeds, one seed
per episode (:mod:`roadgym.agents.episodes`), so a score is reproducible and comparable
between models and the expert.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import gymnasium as gym
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.vec_env import (
    DummyVecEnv,
    VecEnv,
    VecFrameStack,
    VecNormalize,
)

import roadgym  # noqa: F401  (registers the env ids)
from roadgym.envs.seeds import (
    SELECTION_SEED_START,
    TEST_SEED_START,
    TRAIN_SEED_LIMIT,
    held_out_seeds,
)

__all__ = [
    "EVAL_SEED_START",
    "SELECTION_SEED_START",
    "TEST_SEED_START",
    "TRAIN_SEED_LIMIT",
    "SeededEpisodes",
    "held_out_seeds",
    "make_eval_vec_env",
    "num_agents_of",
    "make_training_vec_env",
    "split_seeds",
]

# The seed ranges (train / selection / test) are defined in roadgym.envs.seeds; these
# names stay importable from here.
EVAL_SEED_START = TEST_SEED_START  # the default of evaluate and watch (older name)


class SeededEpisodes(gym.Wrapper):
    """Resets to the next seed of a fixed list, whatever seed the caller passes.

    SB3 VecEnvs reset their envs without a seed after each episode; this wrapper makes
    episode k of the env use ``seeds[k]``. After the list is used up, resets draw from
    the env's own generator (those episodes are not counted by the evaluator).
    """

    def __init__(self, env: gym.Env, seeds: Sequence[int]) -> None:
        super().__init__(env)
        self.seeds = list(seeds)
        self.episode_index = 0

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        chosen = self.seeds[self.episode_index] if self.episode_index < len(self.seeds) else None
        self.episode_index += 1
        return self.env.reset(seed=chosen, options=options)


def split_seeds(seeds: Sequence[int], n_envs: int) -> list[list[int]]:
    """Deal ``seeds`` round-robin over ``min(n_envs, len(seeds))`` envs."""
    n_envs = max(1, min(n_envs, len(seeds)))
    return [list(seeds[i::n_envs]) for i in range(n_envs)]


def _env_factory(
    env_id: str, env_kwargs: Mapping[str, Any], seeds: Sequence[int] | None, render_mode: str | None
) -> Callable[[], gym.Env]:
    def make() -> gym.Env:
        env = gym.make(env_id, render_mode=render_mode, **env_kwargs)
        return SeededEpisodes(env, seeds) if seeds is not None else env

    return make


def make_training_vec_env(
    env_id: str,
    n_envs: int,
    seed: int,
    env_kwargs: Mapping[str, Any] | None = None,
    *,
    frame_stack: int = 1,
    norm_obs: bool = False,
    norm_reward: bool = False,
    gamma: float = 0.99,
) -> VecEnv:
    """The training VecEnv: batched adapter (or a DummyVecEnv of ``Monitor``-wrapped envs),
    stacked, normalised. Either writes each finished episode's ``info["episode"]`` once.
    With ``env_kwargs.num_agents`` N > 1, ``n_envs`` worlds of N cars each: a VecEnv of
    ``n_envs * N`` slots (:func:`roadgym.envs.multiagent.make_multi_agent_sb3_vec_env`).

    World i is seeded ``seed + i`` on the first reset. ``frame_stack`` > 1 (SB3's
    ``VecFrameStack``) is deprecated: it warns, and still stacks, so that existing
    recipes train as before; stack in the env instead (``env_kwargs.frame_stack``).
    """
    if frame_stack > 1:
        warnings.warn(
            f"the frame_stack hyperparameter ({frame_stack}, SB3's VecFrameStack) is "
            "deprecated and goes in roadgym 0.3; stack frames in the env instead: "
            f"env_kwargs.frame_stack={frame_stack} (the same layout, but a new episode's "
            "stack holds its first frame rather than zeros; RLlib already does this)",
            DeprecationWarning,
            stacklevel=2,
        )
    env_kwargs = dict(env_kwargs or {})
    import roadgym.envs as roadgym_envs

    make_sb3_vec_env = getattr(roadgym_envs, "make_sb3_vec_env", None)
    num_agents = num_agents_of(env_kwargs)
    if num_agents > 1:
        # Several cars a world: n_envs worlds x num_agents cars, one slot per car, one
        # policy with shared parameters drives them all (finished cars masked).
        from roadgym.envs.multiagent import make_multi_agent_sb3_vec_env

        fields = {k: v for k, v in env_kwargs.items() if k != "num_agents"}
        venv = make_multi_agent_sb3_vec_env(env_id, n_envs, num_agents, seed=seed, **fields)
    elif make_sb3_vec_env is not None and has_vector_entry_point(env_id):
        venv: VecEnv = make_sb3_vec_env(env_id, n_envs, seed=seed, **env_kwargs)
    else:
        factory = _env_factory(env_id, env_kwargs, None, None)
        venv = DummyVecEnv([lambda: Monitor(factory()) for _ in range(n_envs)])
        venv.seed(seed)
    return wrap_vec_env(
        venv, frame_stack=frame_stack, norm_obs=norm_obs, norm_reward=norm_reward, gamma=gamma
    )


def num_agents_of(env_kwargs: Mapping[str, Any] | None) -> int:
    """Controlled cars per world that ``env_kwargs`` asks for (``num_agents``, default 1);
    more than one makes training a B worlds x N cars multi-agent batch."""
    value = (env_kwargs or {}).get("num_agents", 1)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"env_kwargs.num_agents = {value!r}; allowed: an int >= 1")
    return value


def has_vector_entry_point(env_id: str) -> bool:
    """Whether ``env_id`` registers a roadgym batched vector env (a ``WorldVectorEnv``, what
    the SB3 adapter needs); Gymnasium's own vector envs (CartPole's) do not count."""
    from roadgym.envs.core.vector_env import WorldVectorEnv

    entry_point = gym.spec(env_id).vector_entry_point
    if entry_point is None:
        return False
    if isinstance(entry_point, str):
        entry_point = gym.envs.registration.load_env_creator(entry_point)
    return isinstance(entry_point, type) and issubclass(entry_point, WorldVectorEnv)


def wrap_vec_env(
    venv: VecEnv,
    *,
    frame_stack: int = 1,
    norm_obs: bool = False,
    norm_reward: bool = False,
    gamma: float = 0.99,
    training: bool = True,
) -> VecEnv:
    """Apply ``VecFrameStack`` then ``VecNormalize`` as the hyperparameters say."""
    if frame_stack > 1:
        venv = VecFrameStack(venv, n_stack=frame_stack)
    if norm_obs or norm_reward:
        venv = VecNormalize(
            venv,
            training=training,
            norm_obs=norm_obs,
            norm_reward=norm_reward and training,
            gamma=gamma,
        )
    return venv


def make_eval_vec_env(
    env_id: str,
    seeds: Sequence[int],
    env_kwargs: Mapping[str, Any] | None = None,
    *,
    n_envs: int = 8,
    frame_stack: int = 1,
    render_mode: str | None = None,
) -> tuple[VecEnv, list[list[int]]]:
    """A DummyVecEnv whose env i plays the seeds ``split_seeds(seeds, n_envs)[i]`` in order.

    ``render_mode`` applies to every env (DummyVecEnv wants one mode for all);
    ``rgb_array`` costs nothing until ``render`` is called, so recording env 0 is cheap.
    Returns the VecEnv and the per-env seed lists.
    """
    env_kwargs = dict(env_kwargs or {})
    per_env = split_seeds(seeds, n_envs)
    factories = [_env_factory(env_id, env_kwargs, env_seeds, render_mode) for env_seeds in per_env]
    venv: VecEnv = DummyVecEnv(factories)
    if frame_stack > 1:
        venv = VecFrameStack(venv, n_stack=frame_stack)
    return venv, per_env
