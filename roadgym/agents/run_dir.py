"""A training run's folder: its default name, its ``config.yaml``, and the rule that a
folder holds one run (refused, resumed or overwritten, never mixed)."""

from __future__ import annotations

import shutil
from pathlib import Path

import roadgym
from roadgym.agents.environments import (
    SELECTION_SEED_START,
    TRAIN_SEED_LIMIT,
    has_vector_entry_point,
)
from roadgym.agents.hyperparams import TrainSettings, settings_entry
from roadgym.agents.run_config import RunConfig
from roadgym.perception.atomic import LOCK_NAME, atomic_write_text

__all__ = [
    "CONFIG_NAME",
    "RUN_ARTEFACTS",
    "RunDirExistsError",
    "SaveFailedError",
    "check_train_seed",
    "default_run_dir",
    "env_short_name",
    "newest_complete_model",
    "prepare_run_dir",
    "remove_if_empty",
    "remove_run_files",
    "settings_entry",
    "vec_env_kind",
    "write_config",
]

CONFIG_NAME = "config.yaml"


def env_short_name(env_id: str) -> str:
    """``'roadgym/Track-v0'`` -> ``'Track-v0'``."""
    return env_id.rsplit("/", 1)[-1]


def default_run_dir(algo: str, env_id: str, seed: int, root: str | Path = "runs") -> Path:
    """``runs/{algo}-{env short name}-s{seed}``, e.g. ``runs/ppo-Track-v0-s0``."""
    return Path(root) / f"{algo}-{env_short_name(env_id)}-s{seed}"


def write_config(config: RunConfig | TrainSettings, run_dir: Path, vec_env_kind: str) -> Path:
    """Write ``config.yaml`` atomically: the run config (:class:`RunConfig`), with the
    roadgym version and how the env was batched as facts."""
    if isinstance(config, TrainSettings):
        config = RunConfig(config, run_dir=str(run_dir))
    facts = {"roadgym_version": roadgym.__version__, "vec_env": vec_env_kind}
    return atomic_write_text(run_dir / CONFIG_NAME, config.to_yaml(facts))


def vec_env_kind(env_id: str) -> str:
    """How ``env_id`` is batched for training: its native vector env, or a DummyVecEnv."""
    import roadgym.envs as roadgym_envs

    batched = hasattr(roadgym_envs, "make_sb3_vec_env") and has_vector_entry_point(env_id)
    return "make_sb3_vec_env" if batched else "DummyVecEnv"


# Files and folders of a run; a run dir holding any of them holds a run.
RUN_ARTEFACTS = (
    CONFIG_NAME,
    "model.zip",
    "best_model.zip",
    "vecnormalize.json",
    "best_vecnormalize.json",
    "vecnormalize.pkl",
    "best_vecnormalize.pkl",
    "checkpoints",
    "tb",
)


def newest_complete_model(run_dir: Path) -> tuple[Path, int] | None:
    """The run's model with the most env steps that is whole: ``model.zip`` or a
    checkpoint whose zip reads (its CRCs check) and, when the run normalises, whose
    statistics exist. ``(path, env steps)``, or None. Nothing is unpickled."""
    from roadgym.agents.model_zip import ModelFileError, read_model_zip
    from roadgym.agents.normalizer import find_normalizer

    run_dir = Path(run_dir)
    candidates = [run_dir / "model.zip", *sorted((run_dir / "checkpoints").glob("*_steps.zip"))]
    normalises = any(run_dir.glob("*vecnormalize.*")) or any(
        (run_dir / "checkpoints").glob("*.vecnormalize.*")
    )
    best: tuple[Path, int] | None = None
    for path in candidates:
        if not path.is_file() or (normalises and find_normalizer(path) is None):
            continue
        try:
            steps = int(read_model_zip(path).data.get("num_timesteps", 0))
        except (ModelFileError, OSError, TypeError, ValueError):
            continue
        if best is None or steps > best[1]:
            best = (path, steps)
    return best


class RunDirExistsError(FileExistsError):
    """The run directory already holds a run and neither resume nor overwrite was asked."""

    def __init__(self, run_dir: Path, present: list[str]) -> None:
        self.run_dir = Path(run_dir)
        self.present = list(present)
        self.newest = newest_complete_model(self.run_dir)
        super().__init__(self._message("resume from {}", "overwrite", "run_dir"))

    def flag_message(self) -> str:
        """The same, in ``roadgym train``'s flags."""
        return self._message("--resume {}", "--overwrite", "--run-dir")

    def _message(self, resume: str, overwrite: str, run_dir: str) -> str:
        held = f"run dir {self.run_dir} already holds a run ({', '.join(self.present)})"
        if self.newest is None:
            return (
                f"{held} with no complete model to continue from; allowed: {overwrite} to "
                f"delete it first, or another {run_dir}"
            )
        path, steps = self.newest
        return (
            f"{held}; allowed: {resume.format(path)} to continue it (its newest complete "
            f"model, {steps} steps), {overwrite} to delete it first, or another {run_dir}"
        )


class SaveFailedError(RuntimeError):
    """Training stopped because a model or checkpoint could not be written (a full disk)."""


def prepare_run_dir(run_dir: Path, *, resume: Path | None, overwrite: bool) -> None:
    """Refuse a run dir that holds another run, or clear it when ``overwrite``.

    Two runs in one folder would mix their TensorBoard events and replace each other's
    ``model.zip`` silently. ``resume`` continues the run that is there.
    """
    present = [name for name in RUN_ARTEFACTS if (run_dir / name).exists()]
    if not present or resume is not None:
        return
    if not overwrite:
        raise RunDirExistsError(run_dir, present)
    for name in present:
        path = run_dir / name
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()


def remove_if_empty(run_dir: Path) -> None:
    """Delete ``run_dir`` when it holds nothing but its lock file (a refused new run)."""
    if run_dir.is_dir() and {p.name for p in run_dir.iterdir()} <= {LOCK_NAME}:
        shutil.rmtree(run_dir, ignore_errors=True)


def remove_run_files(run_dir: Path) -> None:
    """Delete the files a new run wrote before it failed to start."""
    for name in RUN_ARTEFACTS:
        path = run_dir / name
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        elif path.exists():
            path.unlink()


def check_train_seed(seed: int, n_envs: int) -> None:
    """Training reset seeds ``seed .. seed + n_envs - 1`` must stay below the held-out ranges."""
    if seed < 0 or seed + n_envs > TRAIN_SEED_LIMIT:
        raise ValueError(
            f"seed = {seed} with n_envs = {n_envs} is not allowed; allowed: 0 <= seed and "
            f"seed + n_envs <= {TRAIN_SEED_LIMIT} (seeds from {SELECTION_SEED_START} on are "
            "held out for model selection and tests)"
        )
