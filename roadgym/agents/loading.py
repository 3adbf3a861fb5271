"""Load a trained model with everything needed to run it on the env it was trained on.

A model from ``roadgym train`` sits in a run directory whose ``config.yaml`` names the
algorithm, env id, env config and frame stacking. A bare SB3 zip (RL Zoo, other code)
works too: the algorithm is read from the zip, the action type from its action space
and the frame stack from its observation space. Nothing in the zip is unpickled
(:mod:`roadgym.agents.model_zip`): the model's spaces come from the env it drives. An
RLlib checkpoint directory from ``roadgym train --backend rllib`` loads too (its
RLModule behind the same ``predict``).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from gymnasium import spaces
from stable_baselines3.common.base_class import BaseAlgorithm

from roadgym.agents.hyperparams import ALGOS
from roadgym.agents.model_zip import (
    ModelFileError,
    ModelZip,
    load_sb3_model,
    model_spaces,
    read_model_zip,
    spaces_from_text,
)
from roadgym.agents.normalizer import (
    find_normalizer,
    load_normalizer_state,
    normalizer_path,
    observation_normalizer,
)

__all__ = ["LoadedAgent", "detect_algo", "find_run_config", "load_agent"]


@dataclasses.dataclass
class LoadedAgent:
    """A trained model and the env settings it expects."""

    model: BaseAlgorithm
    """The SB3 model (its ``predict`` is the batch policy)."""
    algo: str
    """'ppo' or 'dqn'."""
    env_id: str
    """Env the model drives."""
    env_kwargs: dict[str, Any]
    """Env config fields it was trained with (action type, camera size ...)."""
    frame_stack: int
    """``VecFrameStack`` depth it expects."""
    normalize_observation: Callable[[Any], Any] | None
    """Observation normalisation of ``VecNormalize(norm_obs=True)`` training, else None."""
    path: Path
    """The model file."""


def find_run_config(model_path: Path) -> Path | None:
    """``config.yaml`` of the run a model belongs to (beside it, or above ``checkpoints/``)."""
    for directory in (model_path.parent, model_path.parent.parent):
        candidate = directory / "config.yaml"
        if candidate.is_file():
            return candidate
    return None


def detect_algo(model_path: Path) -> str:
    """'ppo' or 'dqn', from the policy class recorded inside an SB3 zip (nothing is
    unpickled); :class:`~roadgym.agents.model_zip.ModelFileError` for a file that is not one."""
    return read_model_zip(model_path).algo()


def load_agent(
    model_path: str | Path,
    *,
    algo: str | None = None,
    env_id: str | None = None,
    device: str = "auto",
    trust_pickles: bool = False,
) -> LoadedAgent:
    """Load ``model_path`` and the env settings it was trained with.

    An SB3 zip is read without unpickling anything. An RLlib checkpoint directory is
    pickles throughout (RLlib's format), and unpickling runs whatever code a file names:
    it is refused unless ``trust_pickles`` (for checkpoints you made yourself).

    :param algo: overrides the run's (or the zip's) algorithm.
    :param env_id: drive a different env id than the run's (same config fields).
    :param trust_pickles: load an RLlib checkpoint (its pickles run code).
    """
    path = Path(model_path)
    if path.is_dir():
        return _load_rllib_agent(path, env_id=env_id, trust_pickles=trust_pickles)
    if not path.is_file():
        raise FileNotFoundError(f"model {str(path)!r} does not exist")
    config_path = find_run_config(path)
    run: dict[str, Any] = {}
    if config_path is not None:
        run = _read_run_config(config_path)
    elif path.with_suffix(".json").is_file():
        run = _card_as_run(path.with_suffix(".json"))
    if algo is not None and algo not in ALGOS:
        raise ValueError(f"algo = {algo!r}; allowed: {', '.join(ALGOS)}")
    model_zip = read_model_zip(path)
    algo = algo or run.get("algo") or model_zip.algo()
    env_id = env_id or run.get("env_id") or "roadgym/Track-v0"
    entry = run.get(run.get("env_id", ""), {}) if run else {}
    env_kwargs = dict(entry.get("env_kwargs") or {})
    if "Discrete" in str(model_zip.data.get("action_space", {}).get(":type:", "")):
        env_kwargs.setdefault("action_type", "discrete")
    frame_stack = int(entry.get("frame_stack", 0)) or _infer_frame_stack(
        model_zip, env_frame_stack=int(env_kwargs.get("frame_stack", 1))
    )
    # A bare zip (no run config, no card) says its spaces in plain text; a run's zip is
    # loaded for the env its config builds.
    space_pair = spaces_from_text(model_zip) if not run else None
    model = load_sb3_model(
        model_zip,
        algo=algo,
        space_pair=space_pair or model_spaces(env_id, env_kwargs, frame_stack),
        device=device,
    )
    normalize = None
    stats_path = find_normalizer(path)
    if stats_path is None and entry.get("normalize", {}).get("norm_obs"):
        raise FileNotFoundError(
            f"{path} was trained with normalised observations (norm_obs in {config_path}) "
            f"but {normalizer_path(path)} is missing; it cannot be run without them"
        )
    if stats_path is not None:
        normalize = observation_normalizer(load_normalizer_state(stats_path))
    return LoadedAgent(
        model=model,
        algo=algo,
        env_id=env_id,
        env_kwargs=env_kwargs,
        frame_stack=frame_stack,
        normalize_observation=normalize,
        path=path,
    )


def _load_rllib_agent(
    path: Path, env_id: str | None = None, trust_pickles: bool = False
) -> LoadedAgent:
    """An RLlib checkpoint directory (``roadgym train --backend rllib``) as a LoadedAgent."""
    if not (path / "rllib_checkpoint.json").is_file() and not (path / "module_state.pkl").is_file():
        raise FileNotFoundError(
            f"model {str(path)!r} is a directory but not an RLlib checkpoint (no "
            "rllib_checkpoint.json); pass an SB3 model zip or an RLlib checkpoint directory"
        )
    try:
        from roadgym.agents.rllib.policy import load_rllib_policy
    except ImportError as error:
        raise ImportError(f"{path} is an RLlib checkpoint: {error}") from error
    if not trust_pickles:
        raise ModelFileError(
            f"{path} is an RLlib checkpoint: RLlib stores it as pickles, and loading one runs "
            "whatever code it names; allowed: an SB3 zip, or this checkpoint with "
            "--trust-pickles (trust_pickles=True) if you made it yourself"
        )
    policy = load_rllib_policy(path)
    config_path = find_run_config(path)
    run: dict[str, Any] = {}
    if config_path is not None:
        run = _read_run_config(config_path)
    entry = run.get(run.get("env_id", ""), {}) if run else {}
    env_kwargs = dict(entry.get("env_kwargs") or {})
    if int(entry.get("frame_stack", 1)) > 1:
        env_kwargs["frame_stack"] = int(entry["frame_stack"])  # stacked inside the world
    if isinstance(policy.action_space, spaces.Discrete):
        env_kwargs.setdefault("action_type", "discrete")
    return LoadedAgent(
        model=policy,  # duck-typed: predict(observations, state, episode_start, deterministic)
        algo=str(run.get("algo", "ppo")),
        env_id=env_id or run.get("env_id") or "roadgym/Track-v0",
        env_kwargs=env_kwargs,
        frame_stack=1,
        normalize_observation=None,
        path=path,
    )


def _read_run_config(config_path: Path) -> dict[str, Any]:
    """A run's ``config.yaml`` as a dict; a clear error when it is not one."""
    try:
        run = yaml.safe_load(config_path.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise ModelFileError(
            f"{config_path} (the run config beside the model) is not readable YAML: "
            f"{' '.join(str(error).split())}"
        ) from error
    if not isinstance(run, dict):
        raise ModelFileError(
            f"{config_path} (the run config beside the model) is a {type(run).__name__}; "
            "allowed: a mapping as `roadgym train` writes"
        )
    return run


def _card_as_run(card_path: Path) -> dict[str, Any]:
    """A shipped model's card (``roadgym.agents.pretrained``) in ``config.yaml``'s shape."""
    card = json.loads(card_path.read_text(encoding="utf-8"))
    if "env_id" not in card:
        return {}
    return {"env_id": card["env_id"], card["env_id"]: {"env_kwargs": card.get("env_kwargs", {})}}


def _infer_frame_stack(model_zip: ModelZip, env_frame_stack: int = 1) -> int:
    """``VecFrameStack`` depth of a bare zip, from the image shape it states.

    ``env_frame_stack``: frames the env already stacks (its ``frame_stack`` kwarg); those
    channels are not stacked a second time.
    """
    space = model_zip.data.get("observation_space", {})
    shape = space.get("_shape") if "Box" in str(space.get(":type:", "")) else None
    if isinstance(shape, list) and len(shape) == 3:
        # SB3 stores the transposed (C, H, W) space of image envs; 3 channels per frame.
        channels = min(shape[0], shape[-1])
        return max(1, channels // (3 * max(1, env_frame_stack)))
    return 1
