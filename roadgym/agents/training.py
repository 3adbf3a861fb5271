"""Train SB3 PPO or DQN on a roadgym env: the library behind ``roadgym train``.

A run directory (default ``runs/{algo}-{env}-s{seed}``) ends up holding:

- ``config.yaml``: the resolved hyperparameters (re-usable as ``--config``);
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
from stable_baselines3.common.vec_env import unwrap_vec_normalize

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
)
from roadgym.agents.evaluation import EvaluationReport
from roadgym.agents.hyperparams import TrainSettings, algo_arguments, algo_class
from roadgym.agents.interrupts import signals_ignored, stop_on_signals
from roadgym.agents.normalizer import (
    apply_normalizer_state,
    find_normalizer,
    load_normalizer_state,
    normalizer_path,
)

# The run folder's rules live in run_dir; these names stay importable from here.
from roadgym.agents.run_dir import (
    RunDirExistsError,
    check_train_seed,
    default_run_dir,
    env_short_name,
    prepare_run_dir,
    settings_entry,
    vec_env_kind,
    write_config,
)
from roadgym.perception.atomic import DirectoryLock

__all__ = [
    "RunDirExistsError",
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


def build_policy_kwargs(settings: TrainSettings) -> dict[str, Any]:
    """``policy_kwargs`` for SB3: the plain-data ones plus the roadgym encoder, if any."""
    kwargs = dict(settings.policy_kwargs)
    if settings.encoder is not None or settings.pretrained is not None:
        from roadgym.perception.extractor import RoadgymEncoderExtractor

        kwargs["features_extractor_class"] = RoadgymEncoderExtractor
        kwargs["features_extractor_kwargs"] = {
            **kwargs.get("features_extractor_kwargs", {}),
            "encoder": settings.encoder,
            "encoder_options": settings.encoder_options or None,
            "checkpoint": settings.pretrained,
            "freeze": settings.freeze,
        }
    return kwargs


def restore_pretrained_encoders(model: BaseAlgorithm, checkpoint: str | Path) -> int:
    """Load the checkpoint's weights into every roadgym encoder of ``model``'s policy.

    SB3's PPO re-initialises its features extractor (orthogonal init, ``ortho_init=True``)
    after building it, which silently overwrites the weights the extractor loaded; this
    puts them back. Returns the number of encoders restored.
    """
    from roadgym.perception.checkpoint import load_encoder_weights
    from roadgym.perception.extractor import RoadgymEncoderExtractor

    restored = 0
    for module in model.policy.modules():
        if isinstance(module, RoadgymEncoderExtractor):
            load_encoder_weights(module.encoder, checkpoint)
            restored += 1
    return restored


def _apply_pretrained_to_student(model: BaseAlgorithm, settings: TrainSettings) -> None:
    """With ``--init-from``: ``--pretrained`` replaces the student's camera encoder by a
    classifier checkpoint's, and ``--freeze`` keeps that encoder fixed during PPO.

    The features extractor is shared by actor and critic, so one encoder is changed; a
    parameter without gradient is skipped by Adam, so freezing needs no new optimiser.
    """
    if settings.pretrained is None and not settings.freeze:
        return
    from roadgym.perception.checkpoint import load_encoder_weights

    encoder = model.policy.features_extractor.encoder
    if settings.pretrained is not None:
        load_encoder_weights(encoder, settings.pretrained)
    if settings.freeze:
        encoder.requires_grad_(False)


def _check_resume_algo(resume: Path, algo: str) -> None:
    from roadgym.agents.loading import detect_algo

    found = detect_algo(resume)
    if found != algo:
        raise ValueError(
            f"--resume {str(resume)!r} is a {found.upper()} model, but --algo is {algo!r}; "
            f"allowed: --algo {found} to continue it, or no --resume to start a new {algo} run"
        )


def _restore_normalizer(venv: Any, resume: Path) -> Any:
    """Put the statistics saved with ``resume`` into the training env; fail when missing."""
    normalizer = unwrap_vec_normalize(venv)
    if normalizer is None:
        return venv
    stats = find_normalizer(resume)
    if stats is None:
        raise FileNotFoundError(
            f"--resume {str(resume)!r}: this run normalises observations or rewards, but "
            f"{normalizer_path(resume)} (the statistics saved with that model) is missing; "
            "resuming without it would silently reset the reward and observation scaling"
        )
    apply_normalizer_state(normalizer, load_normalizer_state(stats))
    normalizer.training = True
    return venv


def train(
    settings: TrainSettings,
    *,
    run_dir: str | Path | None = None,
    resume: str | Path | None = None,
    progress_bar: bool = True,
    device: str = "auto",
    torch_threads: int | None = None,
    verbose: int = 1,
    init_from: str | Path | None = None,
    init_kl_coef: float = 0.0,
    init_kl_timesteps: int = 100_000,
    overwrite: bool = False,
    stop_at: int | None = None,
    critic_warmup_timesteps: int = 0,
    expert_coef: float = 0.0,
    expert_stop_zone_m: float = 0.0,
    expert_slow_mps: float = 0.0,
    expert_student_weights: bool = False,
) -> TrainResult:
    """Train ``settings.algo`` on ``settings.env_id`` and write the run directory.

    :param run_dir: default :func:`default_run_dir` under ``./runs``.
    :param resume: a model zip (``model.zip`` or a checkpoint) to continue from; training
        goes on until ``settings.n_timesteps`` in total, logging to the same ``tb/``.
        DQN's replay buffer is not checkpointed (50k frames are 1.2 GB), so a resumed
        DQN refills it from the current policy.
    :param device: torch device for SB3 ('auto' picks cuda when present).
    :param torch_threads: ``torch.set_num_threads``; None takes
        :func:`roadgym.perception.device.default_torch_threads` (1 on small CPUs).
    :param init_from: a pixel student (``student.zip`` from ``roadgym imitate``): PPO takes
        its architecture, weights and env settings (``observation='rgb+nav'``).
    :param init_kl_coef: weight of the term that keeps PPO's action means near the
        student's, decaying linearly to 0 over ``init_kl_timesteps`` (0: no term).
        With ``init_from``, ``settings.policy_kwargs`` go over the student's (e.g.
        ``share_features_extractor=False`` gives the critic its own copy of the encoder).
    :param overwrite: delete the files of a run already in ``run_dir`` first (without it,
        and without ``resume``, such a run dir raises :class:`RunDirExistsError`).
    :param stop_at: stop and save at this many env steps (None: ``settings.n_timesteps``);
        schedules still run to ``settings.n_timesteps``, so a run trained in chunks
        (``stop_at``, then ``resume``) follows the same learning-rate schedule as one.
    :param critic_warmup_timesteps: PPO only: the first this many env steps train the
        critic alone (:class:`~roadgym.agents.imitation.finetune.CriticWarmup`), so a
        policy started from a student or a checkpoint is not moved by a value function
        that has not learnt yet. 0: off.
    :param expert_coef: PPO with continuous actions on a world the expert drives (Track,
        Town): the weight of an online DAgger term
        (:class:`~roadgym.agents.imitation.expert_term.ExpertRegulariser`) that pulls the
        policy's action means towards the privileged expert's actions on the frames of
        each rollout. 0: off.
    :param expert_stop_zone_m: with ``expert_coef``, Town only: frames this close before
        a stop sign's line the car has not stopped at are left to the expert term (PPO's
        advantages there are zero). 0: off.
    :param expert_slow_mps: with ``expert_coef``: frames where the car is slower than this
        (m/s) are left to the expert term the same way. 0: off.
    :param expert_student_weights: with ``expert_coef``: weigh the term's errors as the
        student's imitation loss does (steer x 2, hard-braking and pull-away throttle x 5).

    Ctrl-C or SIGTERM stops training: the model (and its normaliser statistics) is saved
    as ``model.zip`` and the result's ``interrupted`` names the signal.
    """
    start = time.perf_counter()
    run_dir = (
        Path(run_dir)
        if run_dir is not None
        else default_run_dir(settings.algo, settings.env_id, settings.seed)
    )
    check_train_seed(settings.seed, settings.n_envs)
    if stop_at is not None and not 0 < stop_at <= settings.n_timesteps:
        raise ValueError(
            f"stop_at = {stop_at!r}; allowed: 0 < stop_at <= n_timesteps ({settings.n_timesteps})"
        )
    if not isinstance(critic_warmup_timesteps, int) or critic_warmup_timesteps < 0:
        raise ValueError(f"--critic-warmup-steps {critic_warmup_timesteps!r}; allowed: an int >= 0")
    if critic_warmup_timesteps and settings.algo != "ppo":
        raise ValueError(
            f"--critic-warmup-steps {critic_warmup_timesteps} needs --algo ppo; got "
            f"{settings.algo!r} (DQN has no separate critic)"
        )
    if not expert_coef >= 0 or (expert_coef and settings.algo != "ppo"):
        raise ValueError(
            f"--expert-coef {expert_coef!r} with --algo {settings.algo}; allowed: a number "
            ">= 0, and > 0 only with --algo ppo"
        )
    if expert_stop_zone_m and not (expert_coef > 0 and expert_stop_zone_m > 0):
        raise ValueError(
            f"--expert-stop-zone-m {expert_stop_zone_m!r} with --expert-coef {expert_coef!r}; "
            "allowed: a number > 0 with --expert-coef > 0 (the zone is left to that term)"
        )
    if expert_slow_mps and not (expert_coef > 0 and expert_slow_mps > 0):
        raise ValueError(
            f"--expert-slow-mps {expert_slow_mps!r} with --expert-coef {expert_coef!r}; "
            "allowed: a number > 0 with --expert-coef > 0 (those frames are left to that term)"
        )
    if expert_student_weights and not expert_coef > 0:
        raise ValueError(
            f"--expert-student-weights with --expert-coef {expert_coef!r}; allowed: only "
            "with --expert-coef > 0 (they weigh that term)"
        )
    expert_term = None
    if expert_coef > 0:
        from roadgym.agents.imitation.expert_term import ExpertRegulariser

        expert_term = ExpertRegulariser(
            expert_coef,
            stop_zone_m=expert_stop_zone_m,
            slow_mps=expert_slow_mps,
            student_weights=expert_student_weights,
        )
    continuous = ["--expert-coef"] * bool(expert_coef)
    if settings.action_std is not None:
        continuous.append(f"action_std = {settings.action_std}")
    _check_env_for(settings, continuous, town=bool(expert_stop_zone_m))
    if resume is not None:
        resume = Path(resume)
        if not resume.is_file():
            raise FileNotFoundError(f"--resume {str(resume)!r}: no such model file")
        _check_resume_algo(resume, settings.algo)
    run_dir.mkdir(parents=True, exist_ok=True)
    with DirectoryLock(run_dir):  # one process per run dir
        prepare_run_dir(run_dir, resume=resume, overwrite=overwrite)
        return _train_in(
            settings,
            run_dir,
            resume,
            start=start,
            progress_bar=progress_bar,
            device=device,
            torch_threads=torch_threads,
            verbose=verbose,
            init_from=init_from,
            init_kl_coef=init_kl_coef,
            init_kl_timesteps=init_kl_timesteps,
            stop_at=stop_at,
            critic_warmup_timesteps=critic_warmup_timesteps,
            expert_term=expert_term,
        )


def _check_env_for(settings: TrainSettings, continuous: list[str], town: bool) -> None:
    """Refuse, before any file of the run is written, the options in ``continuous``
    (``--expert-coef``, ``action_std``) on an env without continuous actions, and the
    stop-sign handover (``town``) on a world without stop signs. One env is built."""
    if not continuous and not town:
        return
    import gymnasium as gym

    from roadgym.agents.imitation.expert_term import require_continuous_actions, require_town

    env = gym.make(settings.env_id, **settings.env_kwargs)
    space, world = env.action_space, getattr(env.unwrapped, "world", None)
    env.close()
    where = f"{settings.env_id} with env_kwargs {settings.env_kwargs!r}"
    for what in continuous:
        require_continuous_actions(space, where, what)
    if town:
        require_town(world)


def _train_in(
    settings: TrainSettings,
    run_dir: Path,
    resume: Path | None,
    *,
    start: float,
    progress_bar: bool,
    device: str,
    torch_threads: int | None,
    verbose: int,
    init_from: str | Path | None,
    init_kl_coef: float,
    init_kl_timesteps: int,
    stop_at: int | None = None,
    critic_warmup_timesteps: int = 0,
    expert_term: BaseCallback | None = None,
) -> TrainResult:
    if torch_threads is None:
        from roadgym.perception.device import default_torch_threads

        torch_threads = default_torch_threads()
    torch.set_num_threads(torch_threads)
    student = None
    if init_from is not None:
        from roadgym.agents.imitation.finetune import load_student, student_env_kwargs

        if settings.algo != "ppo" or resume is not None:
            raise ValueError(
                f"--init-from needs --algo ppo and no --resume; got algo {settings.algo!r}, "
                f"resume {resume!r}"
            )
        student = load_student(init_from, device="cpu")
        settings = dataclasses.replace(
            settings,
            policy="MultiInputPolicy",
            env_kwargs={**settings.env_kwargs, **student_env_kwargs(init_from)},
        )
    write_config(settings, run_dir, vec_env_kind(settings.env_id))
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
    cls = algo_class(settings.algo)
    if resume is not None:
        venv = _restore_normalizer(venv, resume)
        model: BaseAlgorithm = cls.load(resume, env=venv, device=device)
        if settings.freeze and hasattr(model.policy.features_extractor, "encoder"):
            # requires_grad is not saved in the zip: a frozen encoder must stay frozen.
            model.policy.features_extractor.encoder.requires_grad_(False)
    else:
        model = cls(
            settings.policy,
            venv,
            seed=settings.seed,
            device=device,
            verbose=0,
            policy_kwargs=build_policy_kwargs(settings)
            if student is None
            else {**student.policy_kwargs, **settings.policy_kwargs},
            **arguments,
        )
        if settings.pretrained is not None:
            restore_pretrained_encoders(model, settings.pretrained)
        if student is not None:
            model.policy.load_state_dict(student.policy.state_dict())
            _apply_pretrained_to_student(model, settings)
    if settings.action_std is not None:  # after every load: requires_grad is not saved
        from roadgym.agents.imitation.finetune import fix_action_std

        fix_action_std(model.policy, settings.action_std)
    model.set_logger(configure(str(run_dir / "tb"), ["tensorboard"]))
    callbacks = _callbacks(settings, run_dir, verbose)
    if student is not None and init_kl_coef > 0:
        from roadgym.agents.imitation.finetune import StudentRegulariser

        callbacks.append(StudentRegulariser(student, init_kl_coef, init_kl_timesteps))
    if critic_warmup_timesteps > 0:
        from roadgym.agents.imitation.finetune import CriticWarmup

        callbacks.append(CriticWarmup(critic_warmup_timesteps))
    if expert_term is not None:
        callbacks.append(expert_term)
    stop_at = settings.n_timesteps if stop_at is None else stop_at
    remaining = stop_at - model.num_timesteps
    interrupted = None
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
    with signals_ignored():  # a second Ctrl-C must not cut the save short
        model.logger.dump(model.num_timesteps)  # what DQN recorded since its last dump
        model.logger.close()
        # The statistics go first, through every wrapper (VecTransposeImage included).
        model_path = save_model_atomic(model, run_dir / "model.zip")
    venv.close()
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


def _callbacks(settings: TrainSettings, run_dir: Path, verbose: int) -> list:
    callbacks: list = [DrivingMetricsCallback()]
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
