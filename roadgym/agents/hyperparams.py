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

An unknown key raises :class:`HyperparamError` naming it and listing the allowed keys.
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

__all__ = [
    "ALGOS",
    "HyperparamError",
    "ROADGYM_KEYS",
    "TrainSettings",
    "algo_class",
    "load_hyperparams",
    "parse_overrides",
    "resolve_settings",
]

ALGOS = ("ppo", "dqn")

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

# Allowed ranges of the SB3 arguments that have one, checked before SB3 sees them (SB3
# checks some with ``assert``, which gives no field name and vanishes under python -O).
# name -> (low, high, low inclusive, whole number)
_ALGO_RANGES: dict[str, tuple[float, float, bool, bool]] = {
    "n_steps": (1, math.inf, True, True),
    "batch_size": (1, math.inf, True, True),
    "n_epochs": (1, math.inf, True, True),
    "buffer_size": (1, math.inf, True, True),
    "learning_starts": (0, math.inf, True, True),
    "target_update_interval": (1, math.inf, True, True),
    "gamma": (0.0, 1.0, False, False),
    "gae_lambda": (0.0, 1.0, True, False),
    "learning_rate": (0.0, math.inf, True, False),  # 0: weights stay put (tests)
    "clip_range": (0.0, math.inf, False, False),
    "ent_coef": (0.0, math.inf, True, False),
    "vf_coef": (0.0, math.inf, True, False),
    "max_grad_norm": (0.0, math.inf, False, False),
    "tau": (0.0, 1.0, False, False),
    "exploration_fraction": (0.0, 1.0, True, False),
    "exploration_initial_eps": (0.0, 1.0, True, False),
    "exploration_final_eps": (0.0, 1.0, True, False),
}


def _check_algo_ranges(source: str, entry: Mapping[str, Any]) -> None:
    for name, (low, high, low_inclusive, whole) in _ALGO_RANGES.items():
        value = entry.get(name)
        if value is None or isinstance(value, str):  # absent, or a lin_ schedule
            continue
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        bad = not number or (whole and value != int(value))
        if not bad:
            bad = value < low or (value == low and not low_inclusive) or value > high
        if bad:
            kind = "an int" if whole else "a number"
            bounds = f"{'>=' if low_inclusive else '>'} {low}" + (
                f" and <= {high}" if math.isfinite(high) else ""
            )
            raise HyperparamError(f"{source}: {name} = {value!r}; allowed: {kind} {bounds}")


class HyperparamError(ValueError):
    """A hyperparameter key is unknown, or its value has the wrong type or range."""


def algo_class(algo: str) -> type:
    """The stable-baselines3 class of ``algo`` ('ppo' or 'dqn')."""
    from stable_baselines3 import DQN, PPO

    classes = {"ppo": PPO, "dqn": DQN}
    if algo not in classes:
        raise HyperparamError(f"algo = {algo!r} is not supported; allowed: {', '.join(ALGOS)}")
    return classes[algo]


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
    if not path.is_file():
        raise HyperparamError(f"config file {str(path)!r} does not exist")
    with path.open(encoding="utf-8") as file:
        data = yaml.safe_load(file)
    if not isinstance(data, Mapping):
        raise HyperparamError(f"{path}: expected a mapping of env id -> hyperparameters")
    entry = data.get(env_id, data.get("default"))
    if entry is None:
        raise HyperparamError(
            f"{path}: no entry for env {env_id!r} and no 'default'; "
            f"entries: {', '.join(map(str, data))}"
        )
    if not isinstance(entry, Mapping):
        raise HyperparamError(f"{path}[{env_id!r}] must be a mapping; got {entry!r}")
    return dict(entry)


def parse_overrides(items: Sequence[str]) -> dict[str, Any]:
    """``["learning_rate=3e-4", "policy_kwargs={net_arch: [64]}"]`` -> a dict.

    Values are parsed as YAML, so numbers, booleans, lists and mappings work; a dotted key
    (``env_kwargs.action_type=discrete``) sets one field of a nested mapping.
    """
    overrides: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise HyperparamError(f"override {item!r} must look like key=value")
        value = yaml.safe_load(text)
        # YAML 1.1 reads 3e-4 as a string (it wants 3.0e-4); users mean a number.
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                pass
        target = overrides
        *parents, leaf = key.split(".")
        for parent in parents:
            target = target.setdefault(parent, {})
            if not isinstance(target, dict):
                raise HyperparamError(f"override {item!r}: {parent!r} is not a mapping")
        target[leaf] = value
    return overrides


def _merge(base: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in overrides.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merge(dict(merged[key]), value)
        else:
            merged[key] = value
    return merged


def _int(name: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value):
        raise HyperparamError(f"{name} = {value!r} is not an integer; allowed: an int >= {low}")
    if int(value) < low:
        raise HyperparamError(f"{name} = {value!r} is out of range; allowed: an int >= {low}")
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


def _check_policy_kwargs(algo: str, policy: str, policy_kwargs: Mapping[str, Any]) -> None:
    aliases = algo_class(algo).policy_aliases
    if policy not in aliases:
        raise HyperparamError(
            f"policy = {policy!r} is not allowed for {algo}; allowed: {', '.join(aliases)}"
        )
    accepted = set(inspect.signature(aliases[policy].__init__).parameters) - {
        "self",
        "observation_space",
        "action_space",
        "lr_schedule",
    }
    unknown = sorted(set(policy_kwargs) - accepted)
    if unknown:
        raise HyperparamError(
            f"policy_kwargs has unknown key(s) {', '.join(map(repr, unknown))} for {policy}; "
            f"allowed: {', '.join(sorted(accepted))}"
        )


def resolve_settings(
    algo: str,
    env_id: str,
    *,
    seed: int = 0,
    config_path: str | Path | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> TrainSettings:
    """Load the YAML entry, apply ``overrides`` (CLI flags and ``--hp``) and validate.

    Nested mappings (``env_kwargs``, ``policy_kwargs``) are merged key by key, so
    ``--hp env_kwargs.frame_stack=2`` keeps the file's other env kwargs.
    """
    entry = _merge(load_hyperparams(algo, env_id, config_path), overrides or {})
    source = str(config_path if config_path is not None else _hyperparams_path(algo).name)
    allowed = allowed_keys(algo)
    unknown = sorted(set(entry) - set(allowed))
    if unknown:
        raise HyperparamError(
            f"{source}[{env_id!r}]: unknown key(s) {', '.join(map(repr, unknown))}; "
            f"allowed keys: {', '.join(allowed)}"
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
    _check_policy_kwargs(algo, policy, policy_kwargs)
    norm_obs, norm_reward = _normalize_flags(entry.pop("normalize", False))
    if "n_timesteps" not in entry:
        raise HyperparamError(f"{source}[{env_id!r}]: n_timesteps is required")
    # With a checkpoint and no encoder name, the checkpoint names its own architecture.
    encoder = entry.pop("encoder", None)
    pretrained = entry.pop("pretrained", None)
    for key in _SCHEDULE_KEYS:
        value = entry.get(key)
        if isinstance(value, str) and not _parse_schedule(key, value):
            raise HyperparamError(f"{key} = {value!r}; allowed: a number or 'lin_<number>'")
    _check_algo_ranges(f"{source}[{env_id!r}]", entry)
    return TrainSettings(
        algo=algo,
        env_id=env_id,
        seed=_int("seed", seed, 0),
        n_timesteps=_int("n_timesteps", entry.pop("n_timesteps"), 1),
        n_envs=_int("n_envs", entry.pop("n_envs", 1), 1),
        policy=policy,
        frame_stack=_int("frame_stack", entry.pop("frame_stack", 1), 1),
        norm_obs=norm_obs,
        norm_reward=norm_reward,
        env_kwargs=env_kwargs,
        policy_kwargs=policy_kwargs,
        encoder=None if encoder is None else str(encoder),
        encoder_options=_mapping("encoder_options", entry.pop("encoder_options", None)),
        pretrained=None if pretrained is None else str(pretrained),
        freeze=bool(entry.pop("freeze", False)),
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
        return float(value[len("lin_") :])
    except ValueError:
        return None


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
