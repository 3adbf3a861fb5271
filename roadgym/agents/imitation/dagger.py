"""Behaviour cloning then DAgger rounds, batched over a native vector env, resumable.

The output directory holds, as the run goes:

- ``manifest.json``: the config and, per finished round, its beta, frame count, data
  file, losses, training-data statistics and selection score;
- ``config.yaml``: written first, so the folder names its run from the start;
- ``round_XX.npz``: each round's frames and labels (written atomically);
- ``round_XX.random.json``: every random generator's state when the round ended
  (numpy, Python, torch), so a resumed run draws what an uninterrupted one would;
- ``student_round_XX.zip``: the student after each round (an SB3 PPO zip);
- ``student_final.zip``: with ``config.final``, the average of the last rounds' students
  fitted once more (:mod:`roadgym.agents.imitation.final`); ``student_final_2.zip``, ...
  with ``final.candidates`` > 1, the same fit with other draws of batches;
- ``student.zip`` + ``config.yaml``: the best student on the selection seeds (a round's
  or the final one), loadable by ``roadgym evaluate`` / ``watch`` / ``train --init-from``.

Running again on the same directory with the same config resumes after the last
finished round (its data, student and random states are loaded back: the resumed rounds
are bit-identical to an uninterrupted run's); a larger ``rounds`` adds rounds
to a finished run, and a changed ``final`` redoes only the final step; any other change
of config is refused.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
import yaml
from gymnasium.vector import AutoresetMode
from stable_baselines3 import PPO

from roadgym.agents.callbacks import save_model_atomic
from roadgym.agents.environments import held_out_seeds
from roadgym.agents.imitation.bc import action_errors, fit_student
from roadgym.agents.imitation.collect import AggregatedData, RoundData, collect_round
from roadgym.agents.imitation.config import (
    SELECTION_SEED_START,
    TRAIN_SEED_STRIDE,
    ImitationConfig,
)
from roadgym.agents.imitation.final import final_student
from roadgym.agents.imitation.random_state import restore_random_state, save_random_state
from roadgym.agents.imitation.rollouts import policy_final_infos, student_actor
from roadgym.agents.imitation.student import AUX_TASKS, StudentExtractor
from roadgym.agents.model_zip import read_model_zip
from roadgym.perception.atomic import atomic_write, atomic_write_json, atomic_write_text

__all__ = ["ImitationResult", "build_student", "run_imitation"]


@dataclasses.dataclass
class ImitationResult:
    """What an imitation run produced."""

    out_dir: Path
    student_path: Path
    """The selected student (``student.zip``)."""
    rounds: list[dict[str, Any]]
    """Per-round records, as in the manifest."""
    best_round: int | str
    """The selected round's index, or ``'final'`` (``'final-2'``, ...) for a final step's
    student."""
    wall_s: float
    """Wall-clock seconds of this call (resumed rounds excluded)."""
    final: dict[str, Any] | None = None
    """The final step's manifest record, when the config has one."""


def build_student(config: ImitationConfig, device: str = "cpu") -> PPO:
    """A fresh PPO model whose policy is the student network (untrained)."""
    from roadgym.envs import make_sb3_vec_env

    venv = make_sb3_vec_env(config.env_id, 1, seed=config.seed, **dict(config.env_kwargs))
    policy_kwargs = {
        "features_extractor_class": StudentExtractor,
        "features_extractor_kwargs": {
            "encoder": config.encoder,
            "encoder_options": dict(config.encoder_options),
            "aux_tasks": dict(AUX_TASKS),
            "image_frames": config.image_frames,
            "image_frame_gap": config.image_frame_gap,
            "earlier_frame_channels": config.earlier_frame_channels,
            "nav_scale": config.nav_scale,
            "nav_features": config.nav_features,
        },
        "net_arch": {"pi": list(config.net_arch), "vf": list(config.net_arch)},
        "log_std_init": -1.6,  # PPO fine-tuning starts close to the student's mean action
        "ortho_init": False,
    }
    torch.manual_seed(config.seed)
    return PPO(
        "MultiInputPolicy", venv, policy_kwargs=policy_kwargs, seed=config.seed, device=device
    )


def _save_npz(path: Path, data: RoundData) -> None:
    atomic_write(path, lambda file: np.savez(file, **data.arrays()))


def _load_npz(path: Path) -> RoundData:
    with np.load(path) as arrays:
        return RoundData.from_arrays({k: arrays[k] for k in arrays.files})


def write_student_config(config: ImitationConfig, path: Path) -> Path:
    """``config.yaml`` beside a student zip, so ``load_agent`` knows its env and kwargs."""
    document = {
        "algo": "ppo",
        "env_id": config.env_id,
        "seed": config.seed,
        "source": "roadgym imitate",
        config.env_id: {"policy": "MultiInputPolicy", "env_kwargs": dict(config.env_kwargs)},
        "imitation": config.to_dict(),  # `roadgym imitate --config THIS_FILE` runs it again
    }
    text = "# A pixel student from `roadgym imitate`.\n" + yaml.safe_dump(document, sort_keys=False)
    return atomic_write_text(path, text)


def _selection_score(
    config: ImitationConfig, selection_seeds: list[int], model: PPO
) -> dict[str, float]:
    """``model`` drives the selection towns; the mean of every numeric metric over those
    episodes ({} without selection seeds)."""
    if not selection_seeds:
        return {}
    infos = policy_final_infos(
        config.env_id, selection_seeds, student_actor(model.policy), config.env_kwargs
    )
    keys = [k for k, v in infos[0].items() if isinstance(v, (bool, int, float))]
    return {k: float(np.mean([float(info[k]) for info in infos])) for k in keys}


def run_imitation(
    config: ImitationConfig,
    out_dir: str | Path,
    *,
    device: str = "cpu",
    progress: bool = True,
    log=print,
) -> ImitationResult:
    """Run (or resume) behaviour cloning and the DAgger rounds of ``config`` into ``out_dir``."""
    start = time.perf_counter()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    manifest_path = out / "manifest.json"
    manifest = {"config": config.to_dict(), "rounds": []}
    if manifest_path.is_file():
        saved = json.loads(manifest_path.read_text())
        # More rounds extend a run, and the final step may change; any other difference
        # would mix two runs' data. Fields newer than the run take their defaults.
        if _round_settings(saved.get("config", {})) != _round_settings(config.to_dict()):
            raise ValueError(
                f"{out} holds an imitation run with another config; pass a new out dir "
                "(or the same config, with as many or more rounds, to resume)"
            )
        saved["config"] = config.to_dict()
        manifest = saved
    # The run's config first: whatever happens next, the folder says what it is.
    write_student_config(config, out / "config.yaml")
    atomic_write_json(manifest_path, manifest)
    done = manifest["rounds"]
    rng = np.random.default_rng(config.seed)
    model = build_student(config, device)
    aggregate = AggregatedData(config.bc_frames + config.rounds * config.frames_per_round)
    for record in done:
        aggregate.append(_load_npz(out / record["data"]))
        rng = np.random.default_rng([config.seed, record["round"] + 1])
    if done:
        # Weights only (torch's weights-only loader): nothing in the zip is unpickled.
        model.policy.load_state_dict(read_model_zip(out / done[-1]["student"]).policy_state_dict())
        if "random_state" in done[-1]:
            # Every generator as it was when that round ended: the next rounds are the
            # ones an uninterrupted run would have drawn, bit for bit.
            rng = restore_random_state(out / done[-1]["random_state"])
        else:
            log(
                "this run predates saved random states: resumed rounds will differ from an "
                "uninterrupted run's"
            )
        log(f"resuming after round {done[-1]['round']} ({len(aggregate)} frames)")
    selection_seeds = (
        held_out_seeds(config.selection_episodes, SELECTION_SEED_START)
        if config.selection_episodes
        else []
    )
    for round_index in range(len(done), config.rounds + 1):
        round_start = time.perf_counter()
        beta = config.beta_of_round(round_index)
        envs = gym.make_vec(
            config.env_id,
            num_envs=config.num_envs,
            vectorization_mode="vector_entry_point",
            autoreset_mode=AutoresetMode.SAME_STEP,
            **{**dict(config.env_kwargs), **dict(config.collect_env_kwargs)},
        )
        observations, _ = envs.reset(seed=config.seed + round_index * TRAIN_SEED_STRIDE)
        frames = config.bc_frames if round_index == 0 else config.frames_per_round
        student = None if beta >= 1.0 else student_actor(model.policy)
        data, _, drive_stats = collect_round(
            envs,
            observations,
            frames,
            beta,
            student,
            rng,
            config.expert_noise_std,
            tuple(AUX_TASKS),
            config.image_frames,
            config.image_frame_gap,
            config.earlier_frame_channels,
        )
        envs.close()
        collect_s = time.perf_counter() - round_start
        data_name = f"round_{round_index:02d}.npz"
        _save_npz(out / data_name, data)
        aggregate.append(data)
        everything = aggregate.data()
        fit_start = time.perf_counter()
        losses = fit_student(model.policy, everything, config.bc, rng, progress=progress)
        fit_s = time.perf_counter() - fit_start
        fit_errors = action_errors(model.policy, data)
        student_name = f"student_round_{round_index:02d}.zip"
        save_model_atomic(model, out / student_name)
        selected = round_index >= config.selection_from_round
        selection = _selection_score(config, selection_seeds, model) if selected else {}
        record = {
            "round": round_index,
            "beta": beta,
            "frames": len(data),
            "total_frames": len(everything),
            "data": data_name,
            "student": student_name,
            "losses": losses,
            "errors_on_new_data": fit_errors,
            "driving_while_collecting": drive_stats,
            "selection": selection,
            "collect_s": collect_s,
            "fit_s": fit_s,
            "round_s": time.perf_counter() - round_start,
        }
        # The generators' states, so a resumed run draws what this one will draw next.
        record["random_state"] = f"round_{round_index:02d}.random.json"
        save_random_state(out / record["random_state"], rng)
        done.append(record)
        atomic_write_json(manifest_path, manifest)
        log(
            f"round {round_index}: beta {beta:.3f}, {len(data)} new frames "
            f"({len(everything)} in all), loss {losses['loss']:.4f}, "
            f"collect {collect_s:.0f} s, fit {fit_s:.0f} s, selection "
            + ", ".join(f"{k} {v:.3f}" for k, v in selection.items())
        )
    candidates = list(done)
    if config.final.enabled:
        records = manifest.get("finals") or [manifest[k] for k in ("final",) if k in manifest]
        wanted = {"settings": dataclasses.asdict(config.final), "after_round": done[-1]["round"]}
        finished = len(records) == config.final.candidates
        if not finished or {k: records[0].get(k) for k in wanted} != wanted:
            everything = aggregate.data()
            records = []
            for candidate in range(1, config.final.candidates + 1):
                record = _final_step(
                    config, out, model, everything, done, selection_seeds, progress, candidate
                )
                records.append(record)
                manifest["final"], manifest["finals"] = records[0], records
                atomic_write_json(manifest_path, manifest)
                log(
                    f"{record['round']}: average of {config.final.average_rounds} rounds, "
                    f"{config.final.samples} frames more, {record['final_s']:.0f} s, selection "
                    + ", ".join(f"{k} {v:.3f}" for k, v in record["selection"].items())
                )
        candidates.extend(records)
    # The best student on the selection seeds (ties: the later one); without them, the last.
    # A round before ``selection_from_round`` has no score and is never picked over one.
    best = max(
        enumerate(candidates),
        key=lambda item: (item[1]["selection"].get("driving_score", -1.0), item[0]),
    )[1]
    student_path = out / "student.zip"
    atomic_write(student_path, lambda file: file.write((out / best["student"]).read_bytes()))
    write_student_config(config, out / "config.yaml")
    manifest["best_round"] = best["round"]
    atomic_write_json(manifest_path, manifest)
    return ImitationResult(
        out_dir=out,
        student_path=student_path,
        rounds=done,
        best_round=best["round"],
        wall_s=time.perf_counter() - start,
        final=manifest.get("final") if config.final.enabled else None,
    )


def _round_settings(config: dict[str, Any]) -> dict[str, Any]:
    """What the rounds' data and students depend on: ``config`` without ``rounds``,
    ``final`` and ``selection_from_round``, with the defaults of fields a run older than
    them lacks."""
    defaults = ImitationConfig().to_dict()
    merged = {**defaults, **config}
    merged["bc"] = {**defaults["bc"], **config.get("bc", {})}
    for name in ("rounds", "final", "selection_from_round"):  # none changes a round's data
        merged.pop(name, None)
    return json.loads(json.dumps(merged))


def _final_step(
    config: ImitationConfig,
    out: Path,
    model: PPO,
    data: RoundData,
    done: list[dict[str, Any]],
    selection_seeds: list[int],
    progress: bool,
    candidate: int = 1,
) -> dict[str, Any]:
    """Run the final step on a copy of the last round's student; its manifest record.

    Candidate k draws its batches from the generator ``[seed, rounds done, k]`` and is
    saved as ``student_final.zip`` (k = 1) or ``student_final_k.zip``.
    """
    start = time.perf_counter()
    final_model = build_student(config, str(model.device))
    final_model.policy.load_state_dict(model.policy.state_dict())
    rng = np.random.default_rng([config.seed, len(done), candidate])
    losses = final_student(
        final_model,
        [out / r["student"] for r in done],
        data,
        config.final,
        config.bc,
        rng,
        progress=progress,
    )
    name = "student_final.zip" if candidate == 1 else f"student_final_{candidate}.zip"
    save_model_atomic(final_model, out / name)
    selection = _selection_score(config, selection_seeds, final_model)
    return {
        "round": "final" if candidate == 1 else f"final-{candidate}",
        "settings": dataclasses.asdict(config.final),
        "after_round": done[-1]["round"],
        "averaged": [r["round"] for r in done][-max(config.final.average_rounds, 1) :],
        "student": name,
        "losses": losses,
        "selection": selection,
        "final_s": time.perf_counter() - start,
    }
