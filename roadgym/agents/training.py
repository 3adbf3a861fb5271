"""Train SB3 PPO or DQN on a roadgym env: the library behind ``roadgym train``.

A run directory (default ``runs/{algo}-{env}-s{seed}``) ends up holding:

- ``config.yaml``: the run config (:mod:`roadgym.agents.run_config`), written first;
  ``roadgym train --config RUN/config.yaml --run-dir NEW`` trains the same weights again;
- ``model.zip``: the final model; ``best_model.zip``: the best on held-out seeds;
- ``checkpoints/``: periodic checkpoints (``--resume`` takes any of them);
- ``tb/``: TensorBoard logs (SB3 scalars, ``driving/``, ``eval/``, evaluation videos);
- ``vecnormalize.json``: reward/observation normalisation statistics, when used (JSON,
  not SB3's pickle; see :mod:`roadgym.agents.normalizer`).

A run directory holds one run: training into one that already has a run's files raises
unless ``resume`` (continue it) or ``overwrite`` (delete its files first); a lock keeps
a second process out while one trains. Ctrl-C or SIGTERM stops training cleanly: the
model and its statistics are saved and ``TrainResult.interrupted`` names the signal.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from pathlib import Path
from typing import Any

import torch
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback, CallbackList
from stable_baselines3.common.logger import configure

from roadgym.agents.callbacks import (
    AtomicCheckpointCallback,
    DrivingMetricsCallback,
    HeldOutEvalCallback,
    ProgressLinesCallback,
    StopAtTimestepsCallback,
    save_model_atomic,
)
from roadgym.agents.environments import (
    SELECTION_SEED_START,
    held_out_seeds,
    make_training_vec_env,
    num_agents_of,
)
from roadgym.agents.evaluation import EvaluationReport
from roadgym.agents.extensions import ExtensionContext
from roadgym.agents.hyperparams import TrainSettings, algo_arguments
from roadgym.agents.interrupts import signals_ignored, stop_on_signals
from roadgym.agents.model_setup import (
    build_model,
    build_policy_kwargs,
    restore_pretrained_encoders,
)
from roadgym.agents.multiagent_metrics import MultiAgentMetricsCallback
from roadgym.agents.preflight import (
    check_resume,
    check_run,
    start_from,
    with_extension_arguments,
)
from roadgym.agents.run_config import RunConfig

# The run folder's rules live in run_dir; these names stay importable from here.
from roadgym.agents.run_dir import (
    RunDirExistsError,
    SaveFailedError,
    check_train_seed,
    default_run_dir,
    env_short_name,
    newest_complete_model,
    prepare_run_dir,
    remove_if_empty,
    remove_run_files,
    settings_entry,
    vec_env_kind,
    write_config,
)
from roadgym.agents.typed_config import ConfigError
from roadgym.perception.atomic import DirectoryLock

__all__ = [
    "RunConfig",
    "RunDirExistsError",
    "SaveFailedError",
    "TrainResult",
    "build_policy_kwargs",
    "check_train_seed",
    "default_run_dir",
    "env_short_name",
    "restore_pretrained_encoders",
    "settings_entry",
    "train",
]


@dataclasses.dataclass
class TrainResult:
    """What a training run produced."""

    run_dir: Path
    """The run directory."""
    model_path: Path
    """The final model (``model.zip``)."""
    best_model_path: Path | None
    """The best model on held-out seeds, when evaluation ran."""
    num_timesteps: int
    """Env steps the model has trained for in total (including resumed ones)."""
    wall_s: float
    """Wall-clock seconds of this call."""
    evaluations: list[tuple[int, EvaluationReport]]
    """(env steps, report) of each evaluation during training."""
    interrupted: str | None = None
    """``"SIGINT"`` or ``"SIGTERM"`` when a signal stopped training early (model saved)."""


def train(
    config: RunConfig | TrainSettings,
    *,
    run_dir: str | Path | None = None,
    resume: str | Path | None = None,
    progress_bar: bool = True,
    device: str = "auto",
    torch_threads: int | None = None,
    verbose: int = 1,
    overwrite: bool = False,
    stop_at: int | None = None,
) -> TrainResult:
    """Train the run ``config`` describes and write its run directory.

    :param config: the run (:class:`~roadgym.agents.run_config.RunConfig`: settings,
        ``init_from``, extensions, run dir); bare :class:`TrainSettings` are a run without
        extensions. It is written to ``RUN_DIR/config.yaml`` before any other file, and
        training again from that file gives the same weights.
    :param run_dir: overrides ``config.run_dir``; default :func:`default_run_dir` under
        ``./runs``.
    :param resume: a model zip (``model.zip`` or a checkpoint) to continue from; training
        goes on until ``n_timesteps`` in total, logging to the same ``tb/``. DQN's replay
        buffer is not checkpointed (50k frames are 1.2 GB), so a resumed DQN refills it
        from the current policy.
    :param device: torch device for SB3 ('auto' picks cuda when present).
    :param torch_threads: ``torch.set_num_threads``; None takes
        :func:`roadgym.perception.device.default_torch_threads` (1 on small CPUs).
    :param overwrite: delete the files of a run already in ``run_dir`` first (without it,
        and without ``resume``, such a run dir raises :class:`RunDirExistsError`).
    :param stop_at: stop and save at this many env steps (None: ``n_timesteps``);
        schedules still run to ``n_timesteps``, so a run trained in chunks (``stop_at``,
        then ``resume``) follows the same learning-rate schedule as one.

    Everything the config says is checked before a file is written (the env is built
    once to check its id and config, and each extension checks the run); a bad value
    raises :class:`~roadgym.agents.typed_config.ConfigError` naming the field. Ctrl-C or
    SIGTERM stops training: the model (and its normaliser statistics) is saved as
    ``model.zip`` and the result's ``interrupted`` names the signal.
    """
    start = time.perf_counter()
    if isinstance(config, TrainSettings):
        config = RunConfig(config)
    run_dir = Path(
        run_dir or config.run_dir or default_run_dir(config.algo, config.env_id, config.seed)
    )
    config = _with_absolute_paths(dataclasses.replace(config, run_dir=str(run_dir)))
    settings = config.settings
    check_train_seed(settings.seed, settings.n_envs)
    if stop_at is not None and not 0 < stop_at <= settings.n_timesteps:
        raise ConfigError(
            f"stop_at = {stop_at!r}; allowed: 0 < stop_at <= n_timesteps ({settings.n_timesteps})"
        )
    initial_model = None
    if config.init_from is not None:
        initial_model, settings = start_from(config.init_from, settings)
        config = dataclasses.replace(config, settings=settings)
    config = with_extension_arguments(config)
    context = check_run(config, initial_model)
    if resume is not None:
        resume = Path(resume)
        check_resume(resume, settings.algo)
    fresh = not run_dir.exists()
    run_dir.mkdir(parents=True, exist_ok=True)
    try:
        with DirectoryLock(run_dir):  # one process per run dir
            prepare_run_dir(run_dir, resume=resume, overwrite=overwrite)
            return _train_in(
                config,
                context,
                run_dir,
                resume,
                start=start,
                progress_bar=progress_bar,
                device=device,
                torch_threads=torch_threads,
                verbose=verbose,
                stop_at=stop_at,
            )
    finally:
        if fresh:  # a run refused before it wrote anything leaves no folder behind
            remove_if_empty(run_dir)


def _with_absolute_paths(config: RunConfig) -> RunConfig:
    """``init_from`` and ``pretrained`` as absolute paths, so the written config trains
    the same run from any working directory."""
    settings = config.settings
    if settings.pretrained is not None:
        absolute = str(Path(settings.pretrained).resolve())
        settings = dataclasses.replace(settings, pretrained=absolute)
    init_from = config.init_from
    if init_from is not None:
        init_from = str(Path(init_from).resolve())
    return dataclasses.replace(config, settings=settings, init_from=init_from)


def _train_in(
    config: RunConfig,
    context: ExtensionContext,
    run_dir: Path,
    resume: Path | None,
    *,
    start: float,
    progress_bar: bool,
    device: str,
    torch_threads: int | None,
    verbose: int,
    stop_at: int | None = None,
) -> TrainResult:
    settings = config.settings
    # The run's config first: whatever happens next, the folder says what it was.
    write_config(config, run_dir, vec_env_kind(settings.env_id))
    try:
        model, venv, callbacks = _build(
            config, context, run_dir, resume, device, torch_threads, verbose
        )
    except BaseException:
        if resume is None:  # a new run that could not start leaves no files
            remove_run_files(run_dir)
        raise
    stop_at = settings.n_timesteps if stop_at is None else stop_at
    remaining = stop_at - model.num_timesteps
    interrupted = None
    write_error: OSError | None = None
    if remaining > 0:
        with stop_on_signals() as caught:
            try:
                # Stop at n_timesteps (SB3 would finish the rollout); print progress
                # lines where a bar cannot show (no terminal: logs, nohup, CI).
                callbacks.append(StopAtTimestepsCallback(stop_at))
                bar = progress_bar and sys.stderr.isatty()
                if progress_bar and not bar:
                    callbacks.append(ProgressLinesCallback(settings.n_timesteps))
                model.learn(
                    # The whole budget, so the learning-rate schedule ends at n_timesteps
                    # even when stop_at ends this call earlier.
                    total_timesteps=settings.n_timesteps - model.num_timesteps,
                    callback=CallbackList(callbacks),
                    progress_bar=bar,
                    reset_num_timesteps=resume is None,
                )
            except KeyboardInterrupt:
                # Ctrl-C (SIGINT) or SIGTERM: keep what was learnt; saved below.
                interrupted = caught["signal"] or "SIGINT"
            except OSError as error:
                # A checkpoint, best model or video could not be written (a full disk):
                # stop, and try to keep what was learnt below.
                write_error = error
    with signals_ignored():  # a second Ctrl-C must not cut the save short
        try:
            model.logger.dump(model.num_timesteps)  # what DQN recorded since its last dump
            model.logger.close()
        except OSError as error:
            write_error = write_error or error
        try:
            # Zip and statistics as a pair; a failure leaves the previous pair whole.
            model_path = save_model_atomic(model, run_dir / "model.zip")
        except OSError as error:
            write_error = write_error or error
    venv.close()
    if write_error is not None:
        raise _save_failed(run_dir, model.num_timesteps, write_error)
    evaluator = next((c for c in callbacks if isinstance(c, HeldOutEvalCallback)), None)
    best = run_dir / "best_model.zip"
    return TrainResult(
        run_dir=run_dir,
        model_path=model_path,
        best_model_path=best if best.is_file() else None,
        num_timesteps=model.num_timesteps,
        wall_s=time.perf_counter() - start,
        evaluations=evaluator.history if evaluator is not None else [],
        interrupted=interrupted,
    )


def _save_failed(run_dir: Path, steps: int, error: OSError) -> SaveFailedError:
    """One line: what could not be written, and the newest model that is whole."""
    reason = error.strerror or str(error)
    newest = newest_complete_model(run_dir)
    kept = (
        "no complete model was saved"
        if newest is None
        else f"the newest complete model is {newest[0]} ({newest[1]} steps); free space and "
        f"continue with --resume {newest[0]}"
    )
    return SaveFailedError(
        f"training stopped at {steps} steps: writing to {run_dir} failed ({reason}); {kept}"
    )


def _build(
    config: RunConfig,
    context: ExtensionContext,
    run_dir: Path,
    resume: Path | None,
    device: str,
    torch_threads: int | None,
    verbose: int,
) -> tuple[BaseAlgorithm, Any, list[BaseCallback]]:
    """The training envs, the model (new, resumed or from ``init_from``) and the callbacks."""
    settings = config.settings
    if torch_threads is None:
        from roadgym.perception.device import default_torch_threads

        torch_threads = default_torch_threads()
    torch.set_num_threads(torch_threads)
    arguments = algo_arguments(settings)
    venv = make_training_vec_env(
        settings.env_id,
        settings.n_envs,
        settings.seed,
        settings.env_kwargs,
        frame_stack=settings.frame_stack,
        norm_obs=settings.norm_obs,
        norm_reward=settings.norm_reward,
        gamma=float(arguments.get("gamma", 0.99)),
    )
    try:
        model = build_model(config, context, venv, resume, device, arguments)
    except BaseException:
        venv.close()
        raise
    model.set_logger(configure(str(run_dir / "tb"), ["tensorboard"]))
    callbacks = _callbacks(settings, run_dir, verbose)
    for extension in config.extensions:  # in the config's order
        callbacks.extend(extension.callbacks(context))
    return model, model.get_env(), callbacks


def _callbacks(settings: TrainSettings, run_dir: Path, verbose: int) -> list:
    if num_agents_of(settings.env_kwargs) > 1:  # eval_freq 0: checked by check_run
        callbacks: list = [MultiAgentMetricsCallback()]
    else:
        callbacks = [DrivingMetricsCallback()]
    if settings.eval_freq > 0:
        callbacks.append(
            HeldOutEvalCallback(
                settings.env_id,
                held_out_seeds(settings.eval_episodes, SELECTION_SEED_START),
                settings.eval_freq,
                run_dir / "best_model.zip",
                env_kwargs=settings.env_kwargs,
                frame_stack=settings.frame_stack,
                video_freq=settings.video_freq,
                verbose=verbose,
            )
        )
    if settings.checkpoint_freq > 0:
        callbacks.append(
            AtomicCheckpointCallback(
                settings.checkpoint_freq, run_dir / "checkpoints", settings.algo, verbose=verbose
            )
        )
    return callbacks
