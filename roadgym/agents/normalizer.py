"""``VecNormalize`` statistics as JSON, saved with their model as one unit.

SB3 pickles its ``VecNormalize`` (``vecnormalize.pkl``), and unpickling runs whatever code
the file names. roadgym writes the statistics as plain JSON instead (running means,
variances and counts, clip values, gamma), beside each model zip:

- ``model.zip`` -> ``vecnormalize.json``; ``best_model.zip`` -> ``best_vecnormalize.json``;
- ``checkpoints/ppo_N_steps.zip`` -> ``checkpoints/ppo_N_steps.vecnormalize.json``.

The statistics and the zip are written to temporary names and renamed, statistics
first, so a zip never exists without its statistics (and a failed save leaves neither);
resuming or loading a run that normalised and finding none raises. A ``.pkl`` (SB3's
``VecNormalize.save``, older runs) is refused, never unpickled: the error says how to
convert one you trust.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from stable_baselines3.common.running_mean_std import RunningMeanStd
from stable_baselines3.common.vec_env import VecNormalize

from roadgym.perception.atomic import atomic_write_json

__all__ = [
    "apply_normalizer_state",
    "find_normalizer",
    "load_normalizer_state",
    "normalizer_path",
    "normalizer_state",
    "observation_normalizer",
    "save_normalizer",
    "UnsafeNormalizerError",
]


class UnsafeNormalizerError(ValueError):
    """Statistics in a format that would run code to read (SB3's pickled VecNormalize)."""


_FORMAT = "roadgym-vecnormalize"
_SCALARS = ("clip_obs", "clip_reward", "gamma", "epsilon", "norm_obs", "norm_reward")


def normalizer_path(model_path: str | Path, suffix: str = ".json") -> Path:
    """Where the statistics of ``model_path`` live (``suffix`` ``.pkl``: SB3's old name)."""
    model_path = Path(model_path)
    names = {"model.zip": "vecnormalize", "best_model.zip": "best_vecnormalize"}
    if model_path.name in names:
        return model_path.with_name(names[model_path.name] + suffix)
    return model_path.with_suffix(".vecnormalize" + suffix)


def _rms_state(rms: RunningMeanStd) -> dict[str, Any]:
    return {
        "mean": np.asarray(rms.mean, np.float64).tolist(),
        "var": np.asarray(rms.var, np.float64).tolist(),
        "count": float(rms.count),
    }


def _rms_from(state: dict[str, Any]) -> RunningMeanStd:
    mean = np.asarray(state["mean"], np.float64)
    rms = RunningMeanStd(shape=mean.shape)
    rms.mean, rms.var, rms.count = mean, np.asarray(state["var"], np.float64), state["count"]
    return rms


def normalizer_state(venv: VecNormalize) -> dict[str, Any]:
    """Plain data of ``venv``'s statistics and settings (JSON-serialisable)."""
    obs_rms = getattr(venv, "obs_rms", None)  # SB3 keeps none when norm_obs is False
    state: dict[str, Any] = {
        "format": _FORMAT,
        "version": 1,
        **{name: getattr(venv, name) for name in _SCALARS},
        "norm_obs_keys": list(getattr(venv, "norm_obs_keys", None) or []),
        "ret_rms": _rms_state(venv.ret_rms),
        "obs_rms": (
            None
            if obs_rms is None
            else {key: _rms_state(rms) for key, rms in obs_rms.items()}
            if isinstance(obs_rms, dict)
            else _rms_state(obs_rms)
        ),
    }
    return state


def save_normalizer(venv: VecNormalize, path: str | Path) -> Path:
    """Write ``venv``'s statistics to ``path`` as JSON, atomically."""
    return atomic_write_json(path, normalizer_state(venv))


def load_normalizer_state(path: str | Path) -> dict[str, Any]:
    """Read statistics written by :func:`save_normalizer`; a pickle is refused.

    Raises :class:`UnsafeNormalizerError` for SB3's ``vecnormalize.pkl`` (unpickling runs
    whatever code the file names) and ValueError for a file that is not roadgym's JSON.
    """
    path = Path(path)
    if path.suffix == ".pkl":
        raise UnsafeNormalizerError(
            f"{path} is a pickle (SB3's VecNormalize.save); roadgym does not unpickle files, "
            "as loading one runs whatever code it names. Allowed: the JSON statistics roadgym "
            f"writes ({normalizer_path(path.with_suffix('.zip')).name} style). To convert a "
            "file you trust: `venv = VecNormalize.load(PKL, venv)` then "
            "`roadgym.agents.normalizer.save_normalizer(venv, JSON)`"
        )
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{path} is not a roadgym normaliser file: {error}") from error
    if not isinstance(state, dict) or state.get("format") != _FORMAT:
        raise ValueError(f"{path} is not a roadgym normaliser file (format {_FORMAT!r})")
    return state


def apply_normalizer_state(venv: VecNormalize, state: dict[str, Any]) -> VecNormalize:
    """Put saved statistics and settings into ``venv`` (whose spaces must match)."""
    for name in _SCALARS:
        setattr(venv, name, state[name])
    venv.ret_rms = _rms_from(state["ret_rms"])
    obs = state["obs_rms"]
    if obs is None:
        pass
    elif isinstance(obs, dict) and "mean" not in obs:
        venv.obs_rms = {key: _rms_from(value) for key, value in obs.items()}
    else:
        venv.obs_rms = _rms_from(obs)
    return venv


def find_normalizer(model_path: str | Path) -> Path | None:
    """The statistics file of ``model_path``: JSON first, then an older run's pickle."""
    for suffix in (".json", ".pkl"):
        candidate = normalizer_path(model_path, suffix)
        if candidate.is_file():
            return candidate
    return None


def observation_normalizer(state: dict[str, Any]) -> Callable[[Any], Any] | None:
    """``VecNormalize.normalize_obs`` from saved statistics (None when obs were not scaled)."""
    if not state["norm_obs"] or state["obs_rms"] is None:
        return None
    clip, eps = state["clip_obs"], state["epsilon"]

    def scale(obs: np.ndarray, rms: dict[str, Any]) -> np.ndarray:
        mean, var = np.asarray(rms["mean"]), np.asarray(rms["var"])
        return np.clip((obs - mean) / np.sqrt(var + eps), -clip, clip).astype(np.float32)

    obs_rms = state["obs_rms"]
    if isinstance(obs_rms, dict) and "mean" not in obs_rms:

        def normalize(observation: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
            out = dict(observation)
            for key in state["norm_obs_keys"] or obs_rms:
                out[key] = scale(observation[key], obs_rms[key])
            return out

        return normalize
    return lambda observation: scale(observation, obs_rms)
