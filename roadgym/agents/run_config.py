"""A run is its config: the typed, validated description of one training run.

:class:`RunConfig` holds everything that decides a run's weights: the algorithm, the env
id and its config, the seed, the hyperparameters and the encoder
(:class:`~roadgym.agents.hyperparams.TrainSettings`), the policy the run starts from
(``init_from``), the run directory, and a list of training extensions
(:mod:`roadgym.agents.extensions`). ``roadgym train`` builds one from a file and
``--set`` overrides, and every run writes it to ``RUN_DIR/config.yaml`` before anything
else. Training again from that file gives the same weights::

    roadgym train --config runs/ppo-Town-v0-s0/config.yaml --run-dir runs/again

The file (what :meth:`RunConfig.to_document` writes)::

    algo: ppo                      # ppo or dqn
    env_id: roadgym/Town-v0        # the gymnasium id
    seed: 0                        # training seeds seed .. seed + n_envs - 1
    run_dir: runs/ppo-Town-v0-s0
    init_from: runs/imitate-Town-v0-s0/student.zip   # or null
    extensions:                    # each validates its own fields
      - {name: critic_warmup, steps: 40000}
      - {name: student_pull, coef: 2.0, decay_steps: null, steps_per_rollout: 8, batch_size: 256}
    roadgym_version: 0.1.0         # facts about the run; ignored when read
    vec_env: make_sb3_vec_env
    roadgym/Town-v0:               # the hyperparameters, as in RL Zoo's files
      n_timesteps: 300000
      n_envs: 16
      env_kwargs: {observation: rgb+nav, frame_stack: 10}
      learning_rate: 5.0e-05
      ...

A file of hyperparameters keyed by env id (``roadgym/agents/hyperparams/ppo.yml``, RL
Zoo's format) is a run config too: its entry for the env (or ``default``) gives the
hyperparameters, the rest comes from overrides. Overrides (``--set key=value``, dotted
keys) reach every field: ``seed=3``, ``n_steps=64``, ``env_kwargs.frame_stack=2``,
``init_from=PATH``, ``extensions.student_pull.coef=2.0``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from roadgym.agents.extensions import TrainingExtension, extensions_from_data
from roadgym.agents.hyperparams import (
    ALGOS,
    TrainSettings,
    read_config_file,
    resolve_settings,
    settings_entry,
)
from roadgym.agents.typed_config import ConfigError, check_value

__all__ = ["DEFAULT_ENV_ID", "RUN_KEYS", "RunConfig", "load_run_config"]

DEFAULT_ENV_ID = "roadgym/Track-v0"
RUN_KEYS = ("algo", "env_id", "seed", "run_dir", "init_from", "extensions")
"""Top-level keys of a run config; every other override key is a hyperparameter."""
FACT_KEYS = ("roadgym_version", "vec_env", "backend", "source")
"""Facts a run writes about itself; read back, they are ignored."""


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """One training run: what ``roadgym train`` consumes and what each run writes."""

    settings: TrainSettings
    """The algorithm, env, seed, hyperparameters and encoder (validated)."""
    extensions: tuple[TrainingExtension, ...] = ()
    """Training extensions, in the order their callbacks run."""
    init_from: str | None = None
    """A pixel student (``student.zip`` from ``roadgym imitate``) PPO starts from: its
    weights, architecture and env settings. None: a fresh policy."""
    run_dir: str | None = None
    """Where the run's files go; None: ``runs/{algo}-{env}-s{seed}``."""

    def __post_init__(self) -> None:
        if self.init_from is not None and self.settings.algo != "ppo":
            raise ConfigError(
                f"init_from = {self.init_from!r} with algo {self.settings.algo!r}; allowed: "
                "init_from only with algo 'ppo' (a student is a PPO policy)"
            )
        if self.settings.freeze and self.settings.pretrained is None and self.init_from is None:
            raise ConfigError(
                "freeze = True with pretrained = None; allowed: freeze with a pretrained "
                "checkpoint or init_from (there is nothing to freeze otherwise)"
            )

    @property
    def algo(self) -> str:
        """'ppo' or 'dqn'."""
        return self.settings.algo

    @property
    def env_id(self) -> str:
        """The env's gymnasium id."""
        return self.settings.env_id

    @property
    def seed(self) -> int:
        """The run's seed."""
        return self.settings.seed

    def to_document(self, facts: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Plain data for ``config.yaml`` (``facts`` go after the run keys, ignored on read)."""
        return {
            "algo": self.algo,
            "env_id": self.env_id,
            "seed": self.seed,
            "run_dir": self.run_dir,
            "init_from": self.init_from,
            "extensions": [extension.to_dict() for extension in self.extensions],
            **dict(facts or {}),
            self.env_id: settings_entry(self.settings),
        }

    def to_yaml(self, facts: Mapping[str, Any] | None = None) -> str:
        """The text of ``config.yaml``."""
        return (
            "# A roadgym run. Train it again (same weights) with:\n"
            "#   roadgym train --config THIS_FILE --run-dir NEW_DIR\n"
            + yaml.safe_dump(self.to_document(facts), sort_keys=False)
        )


def _is_run_document(document: Mapping[str, Any]) -> bool:
    env_id = document.get("env_id")
    return (
        "algo" in document and isinstance(env_id, str) and isinstance(document.get(env_id), Mapping)
    )


def load_run_config(
    config_path: str | Path | None = None, overrides: Mapping[str, Any] | None = None
) -> RunConfig:
    """The run config of ``config_path`` (a run's ``config.yaml`` or a hyperparameter file
    keyed by env id; None: the shipped ``{algo}.yml``) with ``overrides`` on top.

    ``overrides`` is nested plain data (:func:`roadgym.agents.typed_config.set_overrides`
    of ``--set`` items): the keys of :data:`RUN_KEYS` set the run, ``extensions.NAME``
    an extension, every other key a hyperparameter. Raises :class:`ConfigError` naming
    the key, the value and what is allowed.
    """
    overrides = dict(overrides or {})
    document: Mapping[str, Any] = {}
    if config_path is not None:
        document = read_config_file(config_path)
    run = dict(document) if _is_run_document(document) else {}
    extension_overrides = overrides.pop("extensions", None)
    if isinstance(extension_overrides, (list, tuple)):  # a whole list replaces the file's
        run["extensions"], extension_overrides = extension_overrides, None
    for key in RUN_KEYS:
        if key in overrides:
            run[key] = overrides.pop(key)
    algo = run.get("algo")
    if algo is None:
        raise ConfigError(
            f"algo is not set; allowed: {', '.join(ALGOS)} (set it in the config file or "
            "pass it as an override)"
        )
    if algo not in ALGOS:
        raise ConfigError(f"algo = {algo!r}; allowed: {', '.join(ALGOS)}")
    env_id = check_value("env_id", run.get("env_id", DEFAULT_ENV_ID), str)
    seed = check_value("seed", run.get("seed", 0), int)
    run_dir = run.get("run_dir")
    init_from = run.get("init_from")
    for name, value in (("run_dir", run_dir), ("init_from", init_from)):
        if value is not None and not isinstance(value, str):
            raise ConfigError(f"{name} = {value!r}; allowed: a path (text) or null")
    if "pretrained" in overrides and "encoder" not in overrides:
        # The checkpoint names its architecture; the file's encoder would not match it.
        overrides.update(encoder=None, encoder_options=None)
    settings = resolve_settings(
        algo, env_id, seed=seed, config_path=config_path, overrides=overrides
    )
    extensions = extensions_from_data(run.get("extensions"), extension_overrides)
    return RunConfig(settings=settings, extensions=extensions, init_from=init_from, run_dir=run_dir)
