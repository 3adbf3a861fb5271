"""``roadgym train --backend rllib``: RLlib PPO on a local Ray or a running cluster.

A run directory (default ``runs/ppo-rllib-{env}-s{seed}``) ends up holding:

- ``config.yaml``: backend, Ray version, env runners and worlds per runner, then the
  resolved hyperparameter entry (``--config`` takes it back);
- ``checkpoint/``: the final RLlib Algorithm checkpoint (``--resume`` takes it; so do
  ``roadgym evaluate --model`` and ``roadgym watch --model``);
- ``checkpoints/step_<env steps>/``: periodic checkpoints (``checkpoint_freq``);
- ``best_checkpoint/``: the best on the model-selection seeds (1,000,000+, never the
  test seeds 2,000,000+ that ``roadgym evaluate`` defaults to), when ``eval_freq`` > 0;
- ``tb/``: TensorBoard (``driving/*``, ``rollout/*``, ``train/*``, ``time/fps``, ``eval/*``).

Checkpoints are written to a temporary directory and renamed, so a crash never leaves a
half checkpoint; Ctrl-C writes ``checkpoint/`` before stopping.
"""

from __future__ import annotations

import copy
import dataclasses
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import ray
import yaml

import roadgym
from roadgym.agents.evaluation import EvaluationReport, evaluate_policy_on_seeds
from roadgym.agents.hyperparams import TrainSettings
from roadgym.agents.rllib.config import build_ppo_config
from roadgym.agents.rllib.policy import RLlibPolicy
from roadgym.agents.training import default_run_dir, settings_entry
from roadgym.envs.seeds import SELECTION_SEED_START, held_out_seeds
from roadgym.perception.atomic import atomic_write_text

__all__ = ["RLlibTrainResult", "save_checkpoint_atomic", "start_ray", "train_rllib"]

CHECKPOINT_NAME = "checkpoint"
BEST_CHECKPOINT_NAME = "best_checkpoint"


@dataclasses.dataclass
class RLlibTrainResult:
    """What an RLlib training run produced."""

    run_dir: Path
    """The run directory."""
    checkpoint: Path
    """The final Algorithm checkpoint directory."""
    best_checkpoint: Path | None
    """The best checkpoint on held-out seeds, when evaluation ran."""
    num_timesteps: int
    """Env steps sampled in total (including resumed ones)."""
    wall_s: float
    """Wall-clock seconds of this call (Ray start included)."""
    env_steps_per_s: float
    """Env steps sampled per second of ``Algorithm.train()`` time (learning included)."""
    evaluations: list[tuple[int, EvaluationReport]]
    """(env steps, report) of each held-out evaluation."""
    last_result: dict[str, Any]
    """The last ``Algorithm.train()`` result dict."""


def save_checkpoint_atomic(algo: Any, path: str | Path) -> Path:
    """``algo.save_to_path`` into a temporary sibling directory, then rename onto ``path``."""
    path = Path(path).resolve()  # RLlib reads a relative path as a URI without a scheme
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.tmp-", dir=path.parent))
    try:
        algo.save_to_path(str(tmp))
        old = None
        if path.exists():
            old = path.with_name(f".{path.name}.old-{os.getpid()}")
            os.replace(path, old)
        os.replace(tmp, path)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


def _write_config(settings: TrainSettings, run_dir: Path, facts: dict[str, Any]) -> None:
    document = {
        "algo": settings.algo,
        "env_id": settings.env_id,
        "seed": settings.seed,
        "backend": "rllib",
        "roadgym_version": roadgym.__version__,
        "ray_version": ray.__version__,
        **facts,
        settings.env_id: settings_entry(settings),
    }
    text = (
        "# Resolved hyperparameters of this RLlib run; `roadgym train --backend rllib "
        "--config` takes this file.\n" + yaml.safe_dump(document, sort_keys=False)
    )
    atomic_write_text(run_dir / "config.yaml", text)


def _use_token_auth() -> None:
    """Turn on Ray's token authentication for this driver, as ``ray start`` does for nodes."""
    os.environ["RAY_AUTH_MODE"] = "token"
    try:  # Ray read its config at import; re-read it (what Ray's own token set-up does)
        from ray._raylet import Config

        Config.initialize("")
    except (ImportError, AttributeError):  # another Ray version: the variable alone
        pass


def start_ray(address: str | None, num_env_runners: int = 0) -> bool:
    """Join the cluster at ``address`` (HOST:PORT) or start a local Ray; True if this started it.

    Does nothing when Ray is already initialised in this process.
    """
    if ray.is_initialized():
        return False
    if address:
        # `ray start` turns token authentication on when ~/.ray/auth_token exists, but a
        # driver joining with ray.init(address=...) sends no token unless RAY_AUTH_MODE
        # says so (Ray 2.60: "InvalidAuthToken"); follow the node's default.
        if "RAY_AUTH_MODE" not in os.environ and (Path.home() / ".ray" / "auth_token").is_file():
            _use_token_auth()
        try:
            ray.init(address=address, log_to_driver=False)
        except ConnectionError as error:
            raise ConnectionError(
                f"cannot join the Ray cluster at {address}: {error}. Is `ray start --head` "
                "running there, and does this machine have the cluster's token "
                "(~/.ray/auth_token, `ray get-auth-token` on the head) with RAY_AUTH_MODE=token?"
            ) from error
    else:
        # Logical CPUs: the driver (learner) and each env runner reserve one.
        cpus = max(os.cpu_count() or 1, num_env_runners + 1)
        # "local": a new Ray even when `ray start` left a cluster address on this machine.
        ray.init(address="local", num_cpus=cpus, include_dashboard=False, log_to_driver=False)
    return True


def train_rllib(
    settings: TrainSettings,
    *,
    run_dir: str | Path | None = None,
    num_env_runners: int = 0,
    envs_per_runner: int | None = None,
    address: str | None = None,
    resume: str | Path | None = None,
    torch_threads: int | None = None,
    verbose: int = 1,
) -> RLlibTrainResult:
    """Train RLlib PPO for ``settings.n_timesteps`` env steps and write the run directory.

    :param num_env_runners: remote env runners (K); 0 samples in the driver.
    :param envs_per_runner: worlds per runner (M; default ``settings.n_envs``).
    :param address: ``HOST:PORT`` of a running Ray cluster (``ray start --head``); None
        starts a local Ray for this run and stops it at the end.
    :param resume: an RLlib checkpoint directory to continue from (same settings);
        training goes on until ``n_timesteps`` in total. Reward-normalisation statistics
        start afresh (they live in the env runners' envs, not in the checkpoint).
    """
    start = time.perf_counter()
    run_dir = (
        Path(run_dir)
        if run_dir is not None
        else default_run_dir(f"{settings.algo}-rllib", settings.env_id, settings.seed)
    )
    if resume is not None and not Path(resume).is_dir():
        raise FileNotFoundError(f"resume = {str(resume)!r}: no such RLlib checkpoint directory")
    run_dir.mkdir(parents=True, exist_ok=True)
    if torch_threads is not None:
        import torch

        torch.set_num_threads(torch_threads)
    worlds = settings.n_envs if envs_per_runner is None else envs_per_runner
    config = build_ppo_config(
        settings,
        num_env_runners=num_env_runners,
        envs_per_runner=worlds,
        tb_dir=str((run_dir / "tb").resolve()),
    )
    _write_config(
        settings,
        run_dir,
        {"num_env_runners": num_env_runners, "envs_per_runner": worlds, "address": address},
    )
    started = start_ray(address, num_env_runners)
    algo = None
    try:
        algo = config.build_algo()
        if resume is not None:
            algo.restore_from_path(str(Path(resume).resolve()))
        return _train_loop(algo, settings, run_dir, start, verbose)
    finally:
        if algo is not None:
            algo.stop()
        if started:
            ray.shutdown()


def _train_loop(
    algo: Any, settings: TrainSettings, run_dir: Path, start: float, verbose: int
) -> RLlibTrainResult:
    # A restored Algorithm carries its lifetime counters in its metrics logger.
    steps = int(algo.metrics.peek(("env_runners", "num_env_steps_sampled_lifetime"), default=0))
    next_checkpoint = settings.checkpoint_freq or None
    next_eval = settings.eval_freq or None
    evaluations: list[tuple[int, EvaluationReport]] = []
    best_score = -float("inf")
    train_s = 0.0
    sampled = 0
    result: dict[str, Any] = {}
    checkpoint = run_dir / CHECKPOINT_NAME
    try:
        while steps < settings.n_timesteps:
            tick = time.perf_counter()
            result = algo.train()
            train_s += time.perf_counter() - tick
            runners = result.get("env_runners", {})
            sampled += int(runners.get("num_env_steps_sampled", 0))
            steps = int(runners.get("num_env_steps_sampled_lifetime", steps))
            if verbose:
                _print_progress(steps, settings.n_timesteps, result, sampled / max(train_s, 1e-9))
            if next_checkpoint is not None and steps >= next_checkpoint:
                save_checkpoint_atomic(algo, run_dir / "checkpoints" / f"step_{steps:09d}")
                next_checkpoint = (steps // settings.checkpoint_freq + 1) * settings.checkpoint_freq
            if next_eval is not None and steps >= next_eval:
                report = _evaluate(algo, settings, run_dir, steps)
                evaluations.append((steps, report))
                score = _score(report)
                if score > best_score:
                    best_score = score
                    save_checkpoint_atomic(algo, run_dir / BEST_CHECKPOINT_NAME)
                next_eval = (steps // settings.eval_freq + 1) * settings.eval_freq
    except KeyboardInterrupt:
        save_checkpoint_atomic(algo, checkpoint)
        print(f"\ninterrupted at {steps} env steps; saved {checkpoint}", file=sys.stderr)
        raise
    save_checkpoint_atomic(algo, checkpoint)
    best = run_dir / BEST_CHECKPOINT_NAME
    return RLlibTrainResult(
        run_dir=run_dir,
        checkpoint=checkpoint,
        best_checkpoint=best if best.is_dir() else None,
        num_timesteps=steps,
        wall_s=time.perf_counter() - start,
        env_steps_per_s=sampled / max(train_s, 1e-9),
        evaluations=evaluations,
        last_result=result,
    )


def _score(report: EvaluationReport) -> float:
    summary = report.summary
    for name in ("route_completion", "progress"):
        if name in summary:
            return summary[name]["mean"]
    return summary["return"]["mean"]


def _evaluate(algo: Any, settings: TrainSettings, run_dir: Path, steps: int) -> EvaluationReport:
    """Held-out episodes with a copy of the learner's module (its train mode untouched)."""
    module = copy.deepcopy(algo.get_module())
    env_kwargs = dict(settings.env_kwargs)
    if settings.frame_stack > 1:
        env_kwargs["frame_stack"] = settings.frame_stack
    report = evaluate_policy_on_seeds(
        RLlibPolicy(module),
        settings.env_id,
        held_out_seeds(settings.eval_episodes, SELECTION_SEED_START),  # picks best_checkpoint
        env_kwargs=env_kwargs,
        agent_name=f"rllib ppo @ {steps}",
    )
    from torch.utils.tensorboard import SummaryWriter

    with SummaryWriter(str(run_dir / "tb")) as writer:
        for name, row in report.summary.items():
            writer.add_scalar(f"eval/{name}", row["mean"], steps)
    print(report.table(), flush=True)
    return report


def _print_progress(steps: int, total: int, result: dict[str, Any], steps_per_s: float) -> None:
    driving = result.get("env_runners", {}).get("driving") or {}
    parts = [f"{steps}/{total} env steps", f"{steps_per_s:.0f} steps/s"]
    for name in ("progress", "lap_completed", "route_completion", "off_road"):
        if name in driving:
            parts.append(f"{name} {float(driving[name]):.3f}")
    print("  ".join(parts), flush=True)
