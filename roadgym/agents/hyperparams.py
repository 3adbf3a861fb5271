"""Hyperparameters of the RL agents: YAML files shipped in the package, validated.

One file per algorithm (``hyperparams/ppo.yml``, ``hyperparams/dqn.yml``), keyed by env
id as in RL Baselines3 Zoo, holding plain data only (no code strings). An entry mixes
three kinds of keys:

- the RL Zoo keys, with the Zoo's meaning: ``n_timesteps``, ``n_envs``, ``policy``,
  ``frame_stack``, ``normalize`` (bool or ``{norm_obs, norm_reward}``), ``env_kwargs``,
  ``policy_kwargs`` (a mapping);
- the algorithm's own constructor arguments (``learning_rate``, ``n_steps``, ...);
  ``lin_<x>`` for ``learning_rate``/``clip_range`` is a linear schedule from x to 0,
  as in the Zoo;
- roadgym keys (:data:`ROADGYM_KEYS`): the encoder in front of the policy and the
  evaluation, checkpoint and video cadence.

An unknown key raises :class:`HyperparamError` naming it and listing the allowed keys; a
value of the wrong type (checked against the algorithm's signature), a non-finite number
or one out of range raises it naming the key, the value and what is allowed.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from roadgym.agents.algo_checks import (
    ALGOS,
    algo_class,
    check_algo_ranges,
    check_algo_types,
    check_policy_kwargs,
)
from roadgym.agents.typed_config import ConfigError, check_value, close_matches, set_overrides

__all__ = [
    "ALGOS",
    "HyperparamError",
    "ROADGYM_KEYS",
    "TrainSettings",
    "algo_class",
    "load_hyperparams",
    "parse_overrides",
    "read_config_file",
    "resolve_settings",
    "settings_entry",
]

ZOO_KEYS = (
    "n_timesteps",
    "n_envs",
    "policy",
    "frame_stack",
    "normalize",
    "env_kwargs",
    "policy_kwargs",
)
ROADGYM_KEYS = (
    "encoder",
    "encoder_options",
    "pretrained",
    "freeze",
    "action_std",
    "eval_freq",
    "eval_episodes",
    "checkpoint_freq",
    "video_freq",
)
# Constructor arguments the trainer sets itself; a YAML entry may not.
_RESERVED_ALGO_ARGS = {
    "self",
    "policy",
    "env",
    "tensorboard_log",
    "verbose",
    "seed",
    "device",
    "_init_setup_model",
}
_SCHEDULE_KEYS = ("learning_rate", "clip_range")

HyperparamError = ConfigError
"""A hyperparameter key is unknown, or its value has the wrong type or range (the one
config error class of the agents: :class:`roadgym.agents.typed_config.ConfigError`)."""


def _algo_arg_names(algo: str) -> set[str]:
    parameters = inspect.signature(algo_class(algo).__init__).parameters
    return set(parameters) - _RESERVED_ALGO_ARGS


def allowed_keys(algo: str) -> list[str]:
    """Every key an entry of ``{algo}.yml`` may hold."""
    return sorted(set(ZOO_KEYS) | set(ROADGYM_KEYS) | _algo_arg_names(algo))


@dataclasses.dataclass(frozen=True)
class TrainSettings:
    """Resolved, validated settings of one training run (what ``config.yaml`` records)."""

    algo: str
    """'ppo' or 'dqn'."""
    env_id: str
    """Gymnasium id of the env, e.g. 'roadgym/Track-v0'."""
    seed: int
    """Seed of the training envs, the networks and the sampling."""
    n_timesteps: int
    """Total env steps to train for (over all envs)."""
    n_envs: int
    """Worlds stepped together in the training VecEnv."""
    policy: str = "CnnPolicy"
    """SB3 policy alias: 'CnnPolicy' for image observations, 'MultiInputPolicy' for Dicts."""
    frame_stack: int = 1
    """Frames stacked along the channel axis by ``VecFrameStack`` (1: no stacking)."""
    norm_obs: bool = False
    """Normalise observations with ``VecNormalize`` (never useful for uint8 images)."""
    norm_reward: bool = False
    """Scale rewards by a running estimate of the return's std (``VecNormalize``)."""
    env_kwargs: dict[str, Any] = dataclasses.field(default_factory=dict)
    """Config fields passed to ``gymnasium.make`` (e.g. ``action_type: discrete``)."""
    policy_kwargs: dict[str, Any] = dataclasses.field(default_factory=dict)
    """Plain-data ``policy_kwargs`` (net_arch, ...); the encoder is added from ``encoder``."""
    algo_kwargs: dict[str, Any] = dataclasses.field(default_factory=dict)
    """Remaining constructor arguments of the SB3 algorithm."""
    encoder: str | None = None
    """roadgym encoder name ('nature', 'impala', 'resnet'); None keeps SB3's NatureCNN."""
    encoder_options: dict[str, Any] = dataclasses.field(default_factory=dict)
    """Fields of the encoder's config (e.g. ``features_dim``)."""
    pretrained: str | None = None
    """Classifier checkpoint whose encoder weights initialise the policy's encoder."""
    freeze: bool = False
    """Keep the pretrained encoder's weights fixed."""
    action_std: float | None = None
    """PPO with continuous actions: a fixed std of the policy's Gaussian (action units;
    ``log_std`` set to its log and not trained). None: ``log_std`` is learnt."""
    eval_freq: int = 0
    """Evaluate on held-out seeds every this many env steps (0: never)."""
    eval_episodes: int = 10
    """Held-out episodes per evaluation during training."""
    checkpoint_freq: int = 0
    """Save a checkpoint every this many env steps (0: never)."""
    video_freq: int = 0
    """Log a video of one evaluation episode every this many env steps (0: never)."""

    def as_dict(self) -> dict[str, Any]:
        """Plain data for ``config.yaml``."""
        return dataclasses.asdict(self)


def settings_entry(settings: TrainSettings) -> dict[str, Any]:
    """The YAML entry (env id -> keys) that reproduces ``settings`` through ``--config``."""
    entry: dict[str, Any] = {
        "n_timesteps": settings.n_timesteps,
        "n_envs": settings.n_envs,
        "policy": settings.policy,
        "frame_stack": settings.frame_stack,
        "normalize": {"norm_obs": settings.norm_obs, "norm_reward": settings.norm_reward},
        "env_kwargs": dict(settings.env_kwargs),
        "policy_kwargs": dict(settings.policy_kwargs),
    }
    for key in ("encoder", "pretrained"):
        if getattr(settings, key) is not None:
            entry[key] = getattr(settings, key)
    if settings.encoder_options:
        entry["encoder_options"] = dict(settings.encoder_options)
    entry["freeze"] = settings.freeze
    if settings.action_std is not None:
        entry["action_std"] = settings.action_std
    for key in ("eval_freq", "eval_episodes", "checkpoint_freq", "video_freq"):
        entry[key] = getattr(settings, key)
    entry.update(settings.algo_kwargs)
    return entry


def _hyperparams_path(algo: str) -> Path:
    return Path(str(resources.files("roadgym.agents").joinpath(f"hyperparams/{algo}.yml")))


def load_hyperparams(
    algo: str, env_id: str, config_path: str | Path | None = None
) -> dict[str, Any]:
    """The raw entry for ``env_id`` in ``config_path`` (default: the shipped ``{algo}.yml``).

    Falls back to the file's ``default`` entry when the env id is absent, as RL Zoo does.
    """
    algo_class(algo)  # validates the name
    path = Path(config_path) if config_path is not None else _hyperparams_path(algo)
    data = read_config_file(path)
    entry = data.get(env_id, data.get("default"))
    if entry is None:
        raise HyperparamError(
            f"{path}: no entry for env {env_id!r} and no 'default'; "
            f"entries: {', '.join(map(str, data))}"
        )
    if not isinstance(entry, Mapping):
        raise HyperparamError(f"{path}[{env_id!r}] must be a mapping; got {entry!r}")
    return dict(entry)


def read_config_file(path: str | Path) -> dict[str, Any]:
    """The YAML mapping in ``path``; a missing, unreadable, binary or malformed file, or
    one that is not a mapping, raises :class:`HyperparamError` in one line."""
    path = Path(path)
    if not path.is_file():
        raise HyperparamError(f"config file {str(path)!r} does not exist (or is not a file)")
    try:
        text = path.read_text(encoding="utf-8")
        data = yaml.safe_load(text)
    except UnicodeDecodeError:
        raise HyperparamError(
            f"config file {str(path)!r} is not text (not UTF-8); allowed: a YAML file"
        ) from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise HyperparamError(
            f"config file {str(path)!r} is not valid YAML{where}: {problem}"
        ) from None
    except OSError as error:
        raise HyperparamError(f"config file {str(path)!r} cannot be read: {error}") from None
    if not isinstance(data, Mapping):
        raise HyperparamError(
            f"config file {str(path)!r} holds {type(data).__name__}; allowed: a mapping (a "
            "run's config.yaml, or env id -> hyperparameters)"
        )
    return dict(data)


def parse_overrides(items: Sequence[str]) -> dict[str, Any]:
    """``["learning_rate=3e-4", "policy_kwargs={net_arch: [64]}"]`` -> a dict.

    Values are parsed as YAML, so numbers, booleans, lists and mappings work; a dotted key
    (``env_kwargs.action_type=discrete``) sets one field of a nested mapping.
    """
    return set_overrides(items)


def _merge(base: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in overrides.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merge(dict(merged[key]), value)
        else:
            merged[key] = value
    return merged


def _int(name: str, value: Any, low: int, high: int = 10**12) -> int:
    whole = isinstance(value, (int, float)) and not isinstance(value, bool)
    whole = whole and math.isfinite(value) and value == int(value)
    if not whole:
        raise HyperparamError(f"{name} = {value!r} is not an integer; allowed: an int >= {low}")
    if not low <= int(value) <= high:
        raise HyperparamError(
            f"{name} = {value!r} is out of range; allowed: an int >= {low} and <= {high}"
        )
    return int(value)


def _action_std(algo: str, value: Any) -> float | None:
    if value is None:
        return None
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if algo != "ppo" or not number or not 0.0 < value <= 1.0:
        raise HyperparamError(
            f"action_std = {value!r} with algo {algo!r}; allowed: a number > 0 and <= 1, "
            "with algo 'ppo' (DQN's actions are discrete)"
        )
    return float(value)


def _mapping(name: str, value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise HyperparamError(f"{name} = {value!r} is not allowed; allowed: a mapping")
    return dict(value)


def _normalize_flags(value: Any) -> tuple[bool, bool]:
    if isinstance(value, bool):
        return value, value
    if isinstance(value, Mapping):
        unknown = sorted(set(value) - {"norm_obs", "norm_reward"})
        if unknown:
            raise HyperparamError(
                f"normalize has unknown key(s) {unknown}; allowed: norm_obs, norm_reward"
            )
        return bool(value.get("norm_obs", True)), bool(value.get("norm_reward", True))
    raise HyperparamError(
        f"normalize = {value!r} is not allowed; allowed: a bool or {{norm_obs, norm_reward}}"
    )


def resolve_settings(
    algo: str,
    env_id: str,
    *,
    seed: int = 0,
    config_path: str | Path | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> TrainSettings:
    """Load the YAML entry, apply ``overrides`` (CLI flags and ``--set``) and validate.

    Nested mappings (``env_kwargs``, ``policy_kwargs``) are merged key by key, so
    ``--set env_kwargs.frame_stack=2`` keeps the file's other env kwargs.
    """
    entry = _merge(load_hyperparams(algo, env_id, config_path), overrides or {})
    source = str(config_path if config_path is not None else _hyperparams_path(algo).name)
    allowed = allowed_keys(algo)
    unknown = sorted(set(entry) - set(allowed))
    if unknown:
        raise HyperparamError(
            f"{source}[{env_id!r}]: unknown key(s) {', '.join(map(repr, unknown))}"
            f"{close_matches(unknown, allowed)}; allowed keys: {', '.join(allowed)} (and "
            "the run's: algo, env_id, seed, run_dir, init_from, extensions)"
        )
    env_kwargs = _mapping("env_kwargs", entry.pop("env_kwargs", None))
    if algo == "dqn":
        action_type = env_kwargs.setdefault("action_type", "discrete")
        if action_type not in ("discrete", "meta"):
            raise HyperparamError(
                f"env_kwargs.action_type = {action_type!r} is not allowed for dqn; "
                "allowed: 'discrete' or 'meta' (DQN needs a discrete action set)"
            )
    policy = str(entry.pop("policy", "CnnPolicy"))
    policy_kwargs = _mapping("policy_kwargs", entry.pop("policy_kwargs", None))
    check_policy_kwargs(algo, policy, policy_kwargs)
    norm_obs, norm_reward = _normalize_flags(entry.pop("normalize", False))
    if "n_timesteps" not in entry:
        raise HyperparamError(f"{source}[{env_id!r}]: n_timesteps is required")
    # With a checkpoint and no encoder name, the checkpoint names its own architecture.
    encoder = entry.pop("encoder", None)
    pretrained = entry.pop("pretrained", None)
    for key in _SCHEDULE_KEYS:
        value = entry.get(key)
        if isinstance(value, str) and _parse_schedule(key, value) is None:
            raise HyperparamError(f"{key} = {value!r}; allowed: a number or 'lin_<number>'")
    freeze = check_value("freeze", entry.pop("freeze", False), bool)
    for key in ("encoder", "pretrained"):
        check_value(key, encoder if key == "encoder" else pretrained, str | None)
    check_algo_types(algo, entry)
    check_algo_ranges(f"{source}[{env_id!r}]", entry)
    return TrainSettings(
        algo=algo,
        env_id=env_id,
        seed=_int("seed", seed, 0),
        n_timesteps=_int("n_timesteps", entry.pop("n_timesteps"), 1),
        n_envs=_int("n_envs", entry.pop("n_envs", 1), 1, 100_000),
        policy=policy,
        frame_stack=_int("frame_stack", entry.pop("frame_stack", 1), 1),
        norm_obs=norm_obs,
        norm_reward=norm_reward,
        env_kwargs=env_kwargs,
        policy_kwargs=policy_kwargs,
        encoder=None if encoder is None else str(encoder),
        encoder_options=_mapping("encoder_options", entry.pop("encoder_options", None)),
        pretrained=None if pretrained is None else str(pretrained),
        freeze=freeze,
        action_std=_action_std(algo, entry.pop("action_std", None)),
        eval_freq=_int("eval_freq", entry.pop("eval_freq", 0), 0),
        eval_episodes=_int("eval_episodes", entry.pop("eval_episodes", 10), 1),
        checkpoint_freq=_int("checkpoint_freq", entry.pop("checkpoint_freq", 0), 0),
        video_freq=_int("video_freq", entry.pop("video_freq", 0), 0),
        algo_kwargs=entry,
    )


def _parse_schedule(key: str, value: str) -> float | None:
    if not value.startswith("lin_"):
        return None
    try:
        initial = float(value[len("lin_") :])
    except ValueError:
        return None
    return initial if math.isfinite(initial) and initial >= 0 else None


def linear_schedule(initial: float):
    """``progress_remaining`` (1 -> 0) times ``initial``: RL Zoo's ``lin_<x>``.

    Clipped at 0: SB3's ``progress_remaining`` goes below 0 when a run collects more steps
    than it was asked for, and a negative learning rate or clip range trains backwards.
    """

    def schedule(progress_remaining: float) -> float:
        return max(progress_remaining, 0.0) * initial

    return schedule


def algo_arguments(settings: TrainSettings) -> dict[str, Any]:
    """``settings.algo_kwargs`` with ``lin_<x>`` strings turned into schedules."""
    arguments = dict(settings.algo_kwargs)
    for key in _SCHEDULE_KEYS:
        value = arguments.get(key)
        if isinstance(value, str):
            arguments[key] = linear_schedule(_parse_schedule(key, value))
    if isinstance(arguments.get("train_freq"), list):
        arguments["train_freq"] = tuple(arguments["train_freq"])
    return arguments
