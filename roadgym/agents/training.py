"""Train SB3 PPO or DQN on a roadgym env: the library behind ``roadgym train``.

A run directory (default ``runs/{algo}-{env}-s{seed}``) ends up holding:

- ``config.yaml``: the resolved hyperparameters (re-usable as ``--config``);
- ``model.zip``: the final model; ``best_model.zip``: the best on held-out seeds;
- ``checkpoints/``: periodic checkpoints (``--resume`` takes any of them);
- ``tb/``: TensorBoard logs (SB3 scalars, ``driving/``, ``eval/``, evaluation videos);
- ``vecnormalize.pkl``: reward/observation normalisation statistics, when used.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

import torch
import yaml
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import CallbackList
from stable_baselines3.common.logger import configure
from stable_baselines3.common.vec_env import VecNormalize

import roadgym
from roadgym.agents.callbacks import (
    AtomicCheckpointCallback,
    DrivingMetricsCallback,
    HeldOutEvalCallback,
    save_model_atomic,
    save_vecnormalize_atomic,
)
from roadgym.agents.environments import (
    has_vector_entry_point,
    held_out_seeds,
    make_training_vec_env,
)
from roadgym.agents.evaluation import EvaluationReport
from roadgym.agents.hyperparams import TrainSettings, algo_arguments, algo_class
from roadgym.perception.atomic import atomic_write_text

__all__ = [
    "TrainResult",
    "build_policy_kwargs",
    "default_run_dir",
    "restore_pretrained_encoders",
    "settings_entry",
    "train",
]

CONFIG_NAME = "config.yaml"


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


def env_short_name(env_id: str) -> str:
    """``'roadgym/Track-v0'`` -> ``'Track-v0'``."""
    return env_id.rsplit("/", 1)[-1]


def default_run_dir(algo: str, env_id: str, seed: int, root: str | Path = "runs") -> Path:
    """``runs/{algo}-{env short name}-s{seed}``, e.g. ``runs/ppo-Track-v0-s0``."""
    return Path(root) / f"{algo}-{env_short_name(env_id)}-s{seed}"


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
    for key in ("eval_freq", "eval_episodes", "checkpoint_freq", "video_freq"):
        entry[key] = getattr(settings, key)
    entry.update(settings.algo_kwargs)
    return entry


def write_config(settings: TrainSettings, run_dir: Path, vec_env_kind: str) -> Path:
    """Write ``config.yaml``: run facts at the top, then the hyperparameter entry."""
    document = {
        "algo": settings.algo,
        "env_id": settings.env_id,
        "seed": settings.seed,
        "roadgym_version": roadgym.__version__,
        "vec_env": vec_env_kind,
        settings.env_id: settings_entry(settings),
    }
    text = (
        "# Resolved hyperparameters of this run; `roadgym train --config` takes this file.\n"
        + yaml.safe_dump(document, sort_keys=False)
    )
    return atomic_write_text(run_dir / CONFIG_NAME, text)


def _vec_env_kind(env_id: str) -> str:
    import roadgym.envs as roadgym_envs

    batched = hasattr(roadgym_envs, "make_sb3_vec_env") and has_vector_entry_point(env_id)
    return "make_sb3_vec_env" if batched else "DummyVecEnv"


def _find_vecnormalize(resume: Path) -> Path | None:
    for candidate in (
        resume.with_suffix(".vecnormalize.pkl"),
        resume.with_name("vecnormalize.pkl"),
        resume.parent.parent / "vecnormalize.pkl",
    ):
        if candidate.is_file():
            return candidate
    return None


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
    """
    start = time.perf_counter()
    run_dir = (
        Path(run_dir)
        if run_dir is not None
        else default_run_dir(settings.algo, settings.env_id, settings.seed)
    )
    run_dir.mkdir(parents=True, exist_ok=True)
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
    write_config(settings, run_dir, _vec_env_kind(settings.env_id))
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
        resume = Path(resume)
        if not resume.is_file():
            raise FileNotFoundError(f"--resume {str(resume)!r}: no such model file")
        stats = _find_vecnormalize(resume)
        if stats is not None and isinstance(venv, VecNormalize):
            venv = VecNormalize.load(str(stats), venv.venv)
            venv.training = True
        model: BaseAlgorithm = cls.load(resume, env=venv, device=device)
    else:
        model = cls(
            settings.policy,
            venv,
            seed=settings.seed,
            device=device,
            verbose=0,
            policy_kwargs=build_policy_kwargs(settings)
            if student is None
            else student.policy_kwargs,
            **arguments,
        )
        if settings.pretrained is not None:
            restore_pretrained_encoders(model, settings.pretrained)
        if student is not None:
            model.policy.load_state_dict(student.policy.state_dict())
    model.set_logger(configure(str(run_dir / "tb"), ["tensorboard"]))
    callbacks = _callbacks(settings, run_dir, verbose)
    if student is not None and init_kl_coef > 0:
        from roadgym.agents.imitation.finetune import StudentRegulariser

        callbacks.append(StudentRegulariser(student, init_kl_coef, init_kl_timesteps))
    remaining = settings.n_timesteps - model.num_timesteps
    if remaining > 0:
        model.learn(
            total_timesteps=remaining,
            callback=CallbackList(callbacks),
            progress_bar=progress_bar,
            reset_num_timesteps=resume is None,
        )
    model.logger.dump(model.num_timesteps)  # what DQN recorded since its last dump
    model.logger.close()
    model_path = save_model_atomic(model, run_dir / "model.zip")
    if isinstance(model.get_env(), VecNormalize):
        save_vecnormalize_atomic(model.get_env(), run_dir / "vecnormalize.pkl")
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
    )


def _callbacks(settings: TrainSettings, run_dir: Path, verbose: int) -> list:
    callbacks: list = [DrivingMetricsCallback()]
    if settings.eval_freq > 0:
        callbacks.append(
            HeldOutEvalCallback(
                settings.env_id,
                held_out_seeds(settings.eval_episodes),
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
