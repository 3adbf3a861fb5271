"""A stable-baselines3 ``VecEnv`` over one batched simulator (imports SB3; needs ``[train]``).

``roadgym.envs.make_sb3_vec_env("roadgym/Track-v0", n_envs=64, seed=0)`` gives SB3 the
same N-world batch as the native Gymnasium vector env, with SB3's conventions: a
finished world is reset in the same step, its last observation is in
``infos[i]["terminal_observation"]``, ``infos[i]["TimeLimit.truncated"]`` says whether
time ran out, and the new episode's reset info is in ``reset_infos[i]``. A finished
episode's info also carries ``info["episode"] = {"r": return, "l": length, "t": seconds}``
as SB3's ``Monitor`` writes it, so ``model.learn`` logs ``rollout/ep_rew_mean`` and
``rollout/ep_len_mean`` without a wrapper; ``env_is_wrapped(Monitor)`` says so. These are
roadgym's one source of episode statistics: do not add a ``VecMonitor`` on top (it would
write the same keys a second time).
It behaves exactly like ``DummyVecEnv([lambda: Monitor(gymnasium.make(env_id, **config))]
* n_envs)`` seeded the same way, without a Python object per world.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.vec_env.base_vec_env import (
    VecEnv,
    VecEnvIndices,
    VecEnvObs,
    VecEnvStepReturn,
)

from roadgym.envs.core.vector_env import WorldVectorEnv

# env_method names that make sense per world, and what they return.
PER_WORLD_METHODS = ("render", "get_labels")


def make_sb3_vec_env(
    env_id: str = "roadgym/Track-v0",
    n_envs: int = 8,
    seed: int | Sequence[int] | None = None,
    render_mode: str | None = None,
    **config: Any,
) -> WorldSB3VecEnv:
    """A stable-baselines3 ``VecEnv`` of ``n_envs`` worlds of ``env_id`` in one batch.

    ``seed`` seeds world ``i`` with ``seed + i`` at the first ``reset()`` (as SB3's
    ``make_vec_env`` does), or with ``seed[i]`` when it is a sequence; ``config`` holds
    the env's config fields, as for ``gymnasium.make``. ``env_id`` must have a native
    vector entry point (roadgym's do).
    """
    vector_env = gym.make_vec(
        env_id,
        num_envs=n_envs,
        vectorization_mode="vector_entry_point",
        render_mode=render_mode,
        autoreset_mode=AutoresetMode.SAME_STEP,
        **config,
    )
    venv = WorldSB3VecEnv(vector_env)
    if seed is not None:
        venv.seed(seed)
    return venv


class WorldSB3VecEnv(VecEnv):
    """SB3's ``VecEnv`` interface over a :class:`WorldVectorEnv` in same-step autoreset.

    ``get_attr`` returns the (shared) attribute once per world, with
    ``observation_space``/``action_space`` meaning the single-world spaces as in
    ``DummyVecEnv``; ``set_attr`` sets a shared attribute, so it must address every
    world; ``env_method`` supports ``render`` and ``get_labels``; ``render()`` tiles
    one bird's-eye frame per world (``render_mode="rgb_array"``).
    """

    def __init__(self, vector_env: WorldVectorEnv) -> None:
        if not isinstance(vector_env, WorldVectorEnv):
            raise TypeError(
                f"vector_env = {vector_env!r} is not allowed; allowed: a roadgym WorldVectorEnv "
                "(use roadgym.envs.make_sb3_vec_env)"
            )
        if vector_env.autoreset_mode != AutoresetMode.SAME_STEP:
            raise ValueError(
                f"vector_env.autoreset_mode = {vector_env.autoreset_mode}; allowed: "
                "AutoresetMode.SAME_STEP (SB3 resets finished envs in the same step)"
            )
        self.vector_env = vector_env
        self._actions: np.ndarray | None = None
        # Monitor-style episode statistics (reward before any VecNormalize scaling).
        self._episode_return = np.zeros(vector_env.num_envs)
        self._episode_length = np.zeros(vector_env.num_envs, dtype=np.int64)
        self._start_time_s = time.time()
        super().__init__(
            vector_env.num_envs,
            vector_env.single_observation_space,
            vector_env.single_action_space,
        )

    # ------------------------------------------------------------------ core API

    def seed(self, seed: int | Sequence[int] | None = None) -> Sequence[int | None]:
        """Seeds of the next ``reset()``: world ``i`` gets ``seed + i`` (SB3's rule), or
        ``seed[i]`` when ``seed`` is a sequence of one seed per world."""
        if seed is None or isinstance(seed, (int, np.integer)):
            return super().seed(None if seed is None else int(seed))
        seeds = [int(s) for s in seed]
        if len(seeds) != self.num_envs:
            raise ValueError(
                f"seed = {seed!r} has {len(seeds)} seeds; allowed: an int, None, or one "
                f"seed per world ({self.num_envs})"
            )
        self._seeds = seeds
        return seeds

    def reset(self) -> VecEnvObs:
        """Reset every world, with the seeds and options set by ``seed``/``set_options``."""
        seeds = None if all(s is None for s in self._seeds) else list(self._seeds)
        options = self._options[0] if self._options and self._options[0] else None
        if any(o != self._options[0] for o in self._options):
            raise ValueError(
                "set_options() with different options per env is not supported: the "
                "worlds share one simulator; pass one dict for all envs"
            )
        observation, info = self.vector_env.reset(seed=seeds, options=options)
        self._episode_return[:] = 0.0
        self._episode_length[:] = 0
        self.reset_infos = _unbatch(info, self.num_envs)
        self._reset_seeds()
        self._reset_options()
        return observation

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = actions

    def step_wait(self) -> VecEnvStepReturn:
        if self._actions is None:
            raise RuntimeError("step_wait() called without step_async(actions) first")
        observation, reward, terminated, truncated, info = self.vector_env.step(self._actions)
        self._actions = None
        dones = terminated | truncated  # (N,)
        self._episode_return += reward
        self._episode_length += 1
        infos = _unbatch(info, self.num_envs)
        time_limit = (truncated & ~terminated).tolist()  # every step, as DummyVecEnv
        if dones.any():
            # The step's info is the finished episode's; the new episode's goes to
            # reset_infos, as DummyVecEnv does.
            final_infos = _unbatch(info["final_info"], self.num_envs)
            for i in np.flatnonzero(dones):
                self.reset_infos[i] = infos[i]
                infos[i] = final_infos[i]
                infos[i]["terminal_observation"] = info["final_obs"][i]
                if infos[i].get("agent_active", True):  # not a finished car's padding
                    infos[i]["episode"] = {
                        "r": round(float(self._episode_return[i]), 6),
                        "l": int(self._episode_length[i]),
                        "t": round(time.time() - self._start_time_s, 6),
                    }
            self._episode_return[dones] = 0.0
            self._episode_length[dones] = 0
        for i, info_i in enumerate(infos):
            info_i["TimeLimit.truncated"] = time_limit[i]
        return observation, reward.astype(np.float32), dones, infos

    def close(self) -> None:
        self.vector_env.close()

    # ------------------------------------------------------------------ attributes

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        """The attribute of each addressed world (shared by all worlds of the batch)."""
        names = {
            "observation_space": "single_observation_space",
            "action_space": "single_action_space",
        }
        value = getattr(self.vector_env, names.get(attr_name, attr_name))
        return [value] * len(self._indices(indices))

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        """Set a shared attribute; the worlds share one simulator, so address them all."""
        if len(set(self._indices(indices))) != self.num_envs:
            raise ValueError(
                f"set_attr({attr_name!r}, indices={indices!r}) is not supported: the "
                "worlds share one simulator; allowed: indices=None (all envs)"
            )
        setattr(self.vector_env, attr_name, value)

    def env_method(
        self,
        method_name: str,
        *method_args: Any,
        indices: VecEnvIndices = None,
        **method_kwargs: Any,
    ) -> list[Any]:
        """Per-world ``render`` (bird's-eye frames) or ``get_labels`` (label dicts)."""
        worlds = self._indices(indices)
        if method_name == "render":
            return [self.vector_env.render_world(i) for i in worlds]
        if method_name == "get_labels":
            labels = self.vector_env.get_labels()
            return [{k: int(v[i]) for k, v in labels.items()} for i in worlds]
        raise AttributeError(
            f"env_method({method_name!r}) is not supported; allowed: {', '.join(PER_WORLD_METHODS)}"
        )

    def env_is_wrapped(
        self, wrapper_class: type[gym.Wrapper], indices: VecEnvIndices = None
    ) -> list[bool]:
        """Whether each world is wrapped in ``wrapper_class``: only ``Monitor`` (and its
        bases) count, because the adapter writes ``Monitor``'s episode statistics itself,
        so SB3's ``evaluate_policy`` and the like read them instead of warning."""
        return [issubclass(Monitor, wrapper_class)] * len(self._indices(indices))

    def get_images(self) -> Sequence[np.ndarray | None]:
        """One bird's-eye frame per world (needs ``render_mode="rgb_array"``)."""
        if self.render_mode != "rgb_array":
            raise RuntimeError(
                f"get_images() needs render_mode='rgb_array', not {self.render_mode!r}; "
                "pass render_mode='rgb_array' to make_sb3_vec_env"
            )
        return [self.vector_env.render_world(i) for i in range(self.num_envs)]

    def _indices(self, indices: VecEnvIndices) -> list[int]:
        if indices is None:
            return list(range(self.num_envs))
        if isinstance(indices, (int, np.integer)):
            return [int(indices)]
        return [int(i) for i in indices]


def _unbatch(info: dict[str, Any], num_envs: int) -> list[dict[str, Any]]:
    """Gymnasium's batched info (arrays + ``_key`` masks) to SB3's list of dicts."""
    out: list[dict[str, Any]] = [{} for _ in range(num_envs)]
    for key, value in info.items():
        if key.startswith("_") or key in ("final_obs", "final_info"):
            continue
        mask = info.get("_" + key)
        worlds: Iterable[int] = range(num_envs) if mask is None else np.flatnonzero(mask)
        if isinstance(value, dict):
            nested = _unbatch(value, num_envs)
            for i in worlds:
                out[i][key] = nested[i]
        else:
            items = value.tolist() if isinstance(value, np.ndarray) else value
            for i in worlds:
                out[i][key] = items[i]
    return out
