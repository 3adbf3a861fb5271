"""A roadgym world as a native Gymnasium vector env: N worlds in one batched simulator.

Every world's vector env (``TrackVectorEnv``, ``TownVectorEnv``, ...) is a
:class:`WorldVectorEnv` that names its config, world and observation space. A step
advances all N worlds with array operations; the only Python loop is over the worlds
that are being reset (a new map each).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode
from gymnasium.vector.utils import batch_space

from roadgym.envs.core.config import WorldConfig, require_single_agent
from roadgym.envs.core.spaces import action_space, actions_to_controls

# "Not given": the subclass's registered episode length, not "never truncate" (None).
_REGISTERED = object()


class WorldVectorEnv(gym.vector.VectorEnv):
    """N independent worlds of one kind stepped together.

    World ``i`` behaves exactly like a single ``gymnasium.make(env_id)`` reset with seed
    ``s + i`` when this env is reset with seed ``s``: same maps, same observations,
    rewards, terminations, truncations and infos under the same actions, across episode
    ends (each world keeps its own ``np.random.Generator``). Subclasses set
    ``config_class``, ``world_class`` and ``make_observation_space`` and implement
    :meth:`render_world`.

    ## Arguments
    ``num_envs``: number of worlds. ``max_episode_steps``: truncation length (None: never
    truncate); by default the world's ``default_max_episode_steps``, the length its id is
    registered with. ``autoreset_mode``: an
    :class:`gymnasium.vector.AutoresetMode` (or its value), ``NEXT_STEP`` by default as in
    ``SyncVectorEnv``; ``SAME_STEP`` puts ``final_obs`` and ``final_info`` in the info;
    ``DISABLED`` leaves resets to ``reset(options={"reset_mask": mask})``. ``render_mode``:
    None or ``"rgb_array"`` (``render()`` returns a tuple with one bird's-eye frame per
    world). ``config`` and ``**fields``: as for the single env.

    ## Info
    Gymnasium's vector layout: ``info[key]`` is an array over worlds and ``info["_" + key]``
    says which worlds have it: the world's own metrics and ``labels`` (a dict of arrays).
    """

    metadata = {"render_modes": ["rgb_array"], "autoreset_mode": AutoresetMode.NEXT_STEP}
    # What each world's subclass names (see TrackVectorEnv, TownVectorEnv).
    config_class: ClassVar[type[WorldConfig]]
    world_class: ClassVar[type]
    make_observation_space: ClassVar[Callable[[Any], gym.spaces.Space]]
    default_max_episode_steps: ClassVar[int | None] = None  # as registered for the single env
    multi_agent: ClassVar[bool] = False  # True: a slot per controlled car (num_agents > 1)

    def __init__(
        self,
        num_envs: int,
        render_mode: str | None = None,
        config: WorldConfig | Mapping[str, Any] | None = None,
        max_episode_steps: Any = _REGISTERED,
        autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
        **fields: Any,
    ) -> None:
        if (
            isinstance(num_envs, bool)
            or not isinstance(num_envs, (int, np.integer))
            or num_envs < 1
        ):
            raise ValueError(f"num_envs = {num_envs!r}; allowed: an int >= 1")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(
                f"render_mode = {render_mode!r} is not allowed; allowed: None, 'rgb_array'"
            )
        if max_episode_steps is _REGISTERED:
            max_episode_steps = type(self).default_max_episode_steps
        if max_episode_steps is not None and (
            isinstance(max_episode_steps, bool)
            or not isinstance(max_episode_steps, (int, np.integer))
            or max_episode_steps < 1
        ):
            raise ValueError(
                f"max_episode_steps = {max_episode_steps!r}; allowed: an int >= 1 or None"
            )
        try:
            autoreset_mode = AutoresetMode(autoreset_mode)
        except ValueError:
            allowed = ", ".join(repr(m.value) for m in AutoresetMode)
            raise ValueError(
                f"autoreset_mode = {autoreset_mode!r} is not allowed; allowed: {allowed}"
            ) from None
        self.config = self.config_class.build(config, **fields)
        if not self.multi_agent:
            require_single_agent(self.config, type(self).__name__)
        self.num_envs = int(num_envs)
        # Worlds, each with its own generator and seed; a multi-agent vector env has
        # several slots (num_envs) per world.
        self.num_worlds = self.num_envs
        self.render_mode = render_mode
        self.max_episode_steps = None if max_episode_steps is None else int(max_episode_steps)
        self.autoreset_mode = autoreset_mode
        self.metadata = {
            **self.metadata,
            "autoreset_mode": autoreset_mode,
            "render_fps": max(
                1, round(1.0 / (self.config.dt_s * getattr(self.config, "action_repeat", 1)))
            ),
        }
        self.single_observation_space = self.make_observation_space(self.config)
        self.single_action_space = action_space(self.config)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self.world = self.world_class(self.config, batch_size=self.num_worlds)
        self.label_names = dict(self.world_class.LABEL_NAMES)
        self._dict_observation = isinstance(self.single_observation_space, gym.spaces.Dict)

        n = self.num_worlds
        self._world_rngs: list[np.random.Generator | None] = [None] * n
        self._needs_reset = np.ones(n, dtype=bool)  # never reset: step() refuses
        self._autoreset = np.zeros(n, dtype=bool)  # ended last step (NEXT_STEP / DISABLED)
        self._elapsed_steps = np.zeros(n, dtype=np.int64)
        self._last_reward = np.zeros(n)
        self._episode_return = np.zeros(n)
        self._last_rgb: np.ndarray | None = None  # (N, H, W, 3) newest camera frames

    # ------------------------------------------------------------------ reset

    def reset(
        self,
        *,
        seed: int | Sequence[int | None] | None = None,
        options: dict[str, Any] | None = None,
    ) -> tuple[Any, dict[str, Any]]:
        """Reset all worlds, or those in ``options["reset_mask"]`` (a (N,) bool array).

        ``seed``: an int ``s`` seeds world ``i`` with ``s + i``; a list gives one seed
        (or None) per world; None continues each world's generator (or draws fresh
        entropy for a world that never had one), like a single env's ``reset()``.
        """
        seeds = self._seeds_per_world(seed)
        if isinstance(seed, (int, np.integer)):
            super().reset(seed=int(seed))
        mask = self._reset_mask(options)
        worlds = np.flatnonzero(mask)
        self._reset_worlds(worlds, [seeds[i] for i in worlds])
        self._needs_reset[worlds] = False
        self._autoreset[worlds] = False
        observations = self.world.observe()
        self._remember(observations)
        infos = self._infos()
        if not mask.all():
            infos = _masked(infos, mask)
        return self._format(observations), infos

    def _seeds_per_world(self, seed: Any) -> list[int | None]:
        """One seed (or None) per world (``num_worlds``) from ``reset``'s ``seed``."""
        worlds = self.num_worlds
        if seed is None:
            return [None] * worlds
        if _is_seed(seed):
            return [int(seed) + i for i in range(worlds)]
        if (
            isinstance(seed, (Sequence, np.ndarray))
            and not isinstance(seed, (str, bytes))
            and len(seed) == worlds
            and all(s is None or _is_seed(s) for s in seed)
        ):
            return [None if s is None else int(s) for s in seed]
        # Floats and strings are refused rather than rounded: seed=[1.99, 2] would
        # silently give worlds 1 and 2 the seeds 1 and 2.
        raise ValueError(
            f"seed = {seed!r} is not allowed; allowed: None, an int >= 0 (world i gets "
            f"seed + i) or a list of {worlds} ints >= 0 or Nones"
        )

    def _reset_mask(self, options: dict[str, Any] | None) -> np.ndarray:
        if not options or "reset_mask" not in options:
            return np.ones(self.num_envs, dtype=bool)
        mask = options["reset_mask"]
        if (
            not isinstance(mask, np.ndarray)
            or mask.dtype != np.bool_
            or mask.shape != (self.num_envs,)
            or not mask.any()
        ):
            raise ValueError(
                f"options['reset_mask'] = {mask!r} is not allowed; allowed: a numpy bool "
                f"array of shape ({self.num_envs},) with at least one True"
            )
        return mask

    def _reset_world_states(
        self, indices: np.ndarray, seeds: Sequence[int | None] | None = None
    ) -> None:
        """Draw new episodes of worlds ``indices`` (non-empty) from their generators.

        A world class with ``reset_worlds(indices, rngs)`` resets them in one call (each
        from its own generator, as alone); others one by one with ``reset_world``. The
        episode bookkeeping (steps, returns) is the caller's: it is per world here, per
        car slot in the multi-agent vector env.
        """
        seeds = [None] * len(indices) if seeds is None else seeds
        for index, seed in zip(indices.tolist(), seeds, strict=True):
            # Mirrors gymnasium.Env.reset(seed=...): a seed makes a new generator, no seed
            # keeps drawing from the current one (made from fresh entropy the first time).
            if seed is not None or self._world_rngs[index] is None:
                self._world_rngs[index], _ = seeding.np_random(seed)
        rngs = [self._world_rngs[index] for index in indices.tolist()]
        reset_many = getattr(self.world, "reset_worlds", None)
        if reset_many is not None:
            reset_many(indices, rngs)
        else:
            for index, rng in zip(indices.tolist(), rngs, strict=True):
                self.world.reset_world(index, rng)

    def _reset_worlds(self, indices: np.ndarray, seeds: Sequence[int | None] | None = None) -> None:
        """Start new episodes in worlds ``indices``; ``seeds``: one per world (None: none)."""
        if len(indices) == 0:
            return
        self._reset_world_states(indices, seeds)
        self._elapsed_steps[indices] = 0
        self._last_reward[indices] = 0.0
        self._episode_return[indices] = 0.0

    # ------------------------------------------------------------------ step

    def step(self, actions: Any) -> tuple[Any, np.ndarray, np.ndarray, np.ndarray, dict]:
        """Advance every world by one step; ``actions`` has the batched action space's shape."""
        if self._needs_reset.any():
            raise RuntimeError(
                f"{type(self).__name__}.step() called before reset() for world(s) "
                f"{np.flatnonzero(self._needs_reset).tolist()}; call envs.reset() first"
            )
        if self.autoreset_mode == AutoresetMode.DISABLED and self._autoreset.any():
            raise RuntimeError(
                f"{type(self).__name__}.step() with autoreset_mode DISABLED on ended world(s) "
                f"{np.flatnonzero(self._autoreset).tolist()}; reset them first with "
                "envs.reset(options={'reset_mask': mask})"
            )
        controls = actions_to_controls(actions, self.config, batch_size=self.num_envs)
        reward, terminated = self.world.step(controls)  # (N,), (N,)
        self._elapsed_steps += 1
        truncated = self._truncated()

        if self.autoreset_mode == AutoresetMode.NEXT_STEP:
            # Worlds that ended on the previous step start their next episode now; the
            # step just taken on them is discarded, as SyncVectorEnv does.
            restarting = np.flatnonzero(self._autoreset)
            self._reset_worlds(restarting)
            reward[restarting] = 0.0
            terminated[restarting] = False
            truncated[restarting] = False
        self._track_returns(reward)
        observations = self.world.observe()
        infos = self._infos()
        ended = terminated | truncated

        if self.autoreset_mode == AutoresetMode.SAME_STEP and ended.any():
            finished = np.flatnonzero(ended)
            final_obs = np.full(self.num_envs, None, dtype=object)
            for i in finished:  # per world, as SyncVectorEnv gives them
                final_obs[i] = self._format({k: v[i].copy() for k, v in observations.items()})
            final_info = _masked(infos, ended)
            self._reset_worlds(finished)
            fresh = self.world.observe(finished)
            for mode, array in fresh.items():
                observations[mode][finished] = array
            infos = self._infos()
            infos.update(
                final_obs=final_obs,
                _final_obs=ended.copy(),
                final_info=final_info,
                _final_info=ended.copy(),
            )
        self._autoreset = ended
        self._remember(observations)
        return self._format(observations), reward, terminated, truncated, infos

    def _truncated(self) -> np.ndarray:
        if self.max_episode_steps is None:
            return np.zeros(len(self._elapsed_steps), dtype=bool)  # one per world
        return self._elapsed_steps >= self.max_episode_steps  # as TimeLimit: even if terminated

    def _track_returns(self, reward: np.ndarray) -> None:
        self._last_reward[:] = reward
        self._episode_return += reward

    # ------------------------------------------------------------------ outputs

    def _format(self, observations: dict[str, np.ndarray]) -> Any:
        if self._dict_observation:
            return dict(observations)
        return next(iter(observations.values()))

    def _remember(self, observations: dict[str, np.ndarray]) -> None:
        if self.render_mode is not None:
            rgb = observations.get("rgb")
            self._last_rgb = None if rgb is None else rgb[..., -3:]

    def _infos(self) -> dict[str, Any]:
        """The batched info of every world, with all-True ``_key`` masks."""
        ones = np.ones(self.num_envs, dtype=bool)
        infos: dict[str, Any] = {}
        for key, value in self.world.infos().items():
            infos[key], infos["_" + key] = value, ones.copy()
        labels: dict[str, Any] = {}
        for key, value in self.world.labels().items():
            if self.config.flat_labels:
                infos[f"label_{key}"], infos[f"_label_{key}"] = value, ones.copy()
            else:
                labels[key], labels["_" + key] = value, ones.copy()
        if not self.config.flat_labels:
            infos["labels"], infos["_labels"] = labels, ones.copy()
        return infos

    def get_labels(self) -> dict[str, np.ndarray]:
        """Perception labels (N,) of the current frames, without stepping."""
        if self._needs_reset.any():
            raise RuntimeError(
                f"{type(self).__name__}.get_labels() called before reset(); call envs.reset() first"
            )
        return self.world.labels()

    def render(self) -> tuple[np.ndarray, ...] | None:
        """One bird's-eye frame (size, size, 3) per world, as ``SyncVectorEnv`` returns."""
        if self.render_mode is None:
            gym.logger.warn(
                f"{type(self).__name__}.render() called without a render_mode; nothing to draw"
            )
            return None
        if self._needs_reset.any():
            raise RuntimeError(
                f"{type(self).__name__}.render() called before reset(); call envs.reset() first"
            )
        return tuple(self.render_world(i) for i in range(self.num_envs))

    def render_world(self, index: int) -> np.ndarray:
        """The bird's-eye frame (size, size, 3) of world ``index``, with its HUD."""
        raise NotImplementedError

    def close_extras(self, **kwargs: Any) -> None:
        """Nothing to release: no window, no subprocess."""


def _is_seed(value: Any) -> bool:
    """Whether ``value`` is a seed Gymnasium accepts: a (numpy) int >= 0, not a bool."""
    return (
        isinstance(value, (int, np.integer))
        and not isinstance(value, (bool, np.bool_))
        and int(value) >= 0
    )


def _masked(infos: dict[str, Any], mask: np.ndarray) -> dict[str, Any]:
    """A copy of batched ``infos`` whose ``_key`` masks are ``mask`` (nested dicts too)."""
    out: dict[str, Any] = {}
    for key, value in infos.items():
        if key.startswith("_"):
            out[key] = mask.copy()
        elif isinstance(value, dict):
            out[key] = _masked(value, mask)
        else:
            out[key] = value.copy()
    return out
