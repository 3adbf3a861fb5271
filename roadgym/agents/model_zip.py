"""Load an SB3 model zip without running code from the file.

SB3 writes a model as a zip: ``data`` (JSON of the algorithm's attributes), weights
(``policy.pth``, ``policy.optimizer.pth``, ``pytorch_variables.pth``) and version notes.
Attributes that are not plain JSON (spaces, the policy class, schedules, the last
observation) go into ``data`` as base64 cloudpickles, and ``BaseAlgorithm.load``
unpickles them: a crafted ``data`` runs whatever code it names on load.

:func:`load_sb3_model` reads the file once into memory and unpickles nothing from it:

- the observation and action spaces come from the env the model is to drive (built from
  the run's config), checked against the shapes and dtypes the file states;
- the policy class is one of the algorithm's own SB3 policies, recognised by the module
  and docstring the file states beside its pickle;
- ``policy_kwargs`` is read from the plain text the file states beside its pickle
  (``ast.literal_eval``); a class in it (features extractor, activation, optimiser) must
  be a torch module or optimiser from torch, stable-baselines3 or roadgym;
- schedules and other hyperparameters that SB3 pickled (``learning_rate``, ``clip_range``,
  ``train_freq``) come from the run's config (``overrides``) or SB3's defaults; the last
  observation and episode buffers are dropped (SB3 resets the env before training);
- weights go through ``torch.load(weights_only=True)`` (inside SB3's loader).

Every pickled entry gets a replacement handed to SB3 as ``custom_objects``, so SB3's own
reader never reaches cloudpickle; an entry that cannot be rebuilt this way is refused
with :class:`ModelFileError`. What roadgym writes is SB3's usual format, unchanged.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import io
import json
import re
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from gymnasium import spaces
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.vec_env import VecEnv

from roadgym.agents.hyperparams import ALGOS, algo_class

__all__ = [
    "ModelFileError",
    "ModelZip",
    "load_sb3_model",
    "model_spaces",
    "read_model_zip",
    "spaces_from_text",
]

_SERIALIZED = ":serialized:"
# Entries SB3 rebuilds itself in ``_setup_model`` or on the next ``learn``; the file's
# copies are not needed (a reset before training replaces the last observation).
_DROPPED = (
    "lr_schedule",
    "exploration_schedule",
    "_last_obs",
    "_last_episode_starts",
    "_last_original_obs",
    "ep_info_buffer",
    "ep_success_buffer",
)
_BUFFER_KEYS = ("rollout_buffer_class", "replay_buffer_class")
_CLASS_MODULES = ("torch.nn.", "torch.optim.", "stable_baselines3.", "roadgym.")
_CLASS_TEXT = re.compile(r"<class '([A-Za-z_][\w.]*)'>")
_WHAT_IS_ALLOWED = (
    "allowed: a stable-baselines3 zip (PPO or DQN, as `roadgym train` and `model.save` write)"
)


class ModelFileError(ValueError):
    """A model file that is not a readable SB3 zip, or holds what cannot be read safely."""


class ModelZip:
    """An SB3 model zip read into memory: its bytes, its ``data`` JSON and its members."""

    def __init__(self, path: Path, raw: bytes, data: dict[str, Any], members: list[str]) -> None:
        self.path = path
        self.raw = raw
        self.data = data
        self.members = members

    @property
    def pickled_keys(self) -> list[str]:
        """Entries of ``data`` that SB3 stored as cloudpickles."""
        return [
            key
            for key, value in self.data.items()
            if isinstance(value, dict) and _SERIALIZED in value
        ]

    def algo(self) -> str:
        """'ppo' or 'dqn', from the policy class the file states."""
        hint = json.dumps(self.data.get("policy_class", {}))
        if "stable_baselines3.dqn" in hint:
            return "dqn"
        if "ActorCritic" in hint:
            return "ppo"
        raise ModelFileError(
            f"cannot tell the algorithm of {self.path} from its policy class; pass algo "
            f"(one of {', '.join(ALGOS)})"
        )

    def policy_state_dict(self) -> dict[str, torch.Tensor]:
        """The policy's weights (``policy.pth``), read with torch's weights-only loader."""
        try:
            with zipfile.ZipFile(io.BytesIO(self.raw)) as archive:
                with archive.open("policy.pth") as file:
                    weights = io.BytesIO(file.read())
            return torch.load(weights, map_location="cpu", weights_only=True)
        except (KeyError, zipfile.BadZipFile, RuntimeError, EOFError, OSError) as error:
            raise ModelFileError(
                f"{self.path}: its policy weights (policy.pth) cannot be read ({error}); "
                + _WHAT_IS_ALLOWED
            ) from error


def read_model_zip(path: str | Path) -> ModelZip:
    """Read ``path`` into memory and parse its ``data`` JSON (nothing is unpickled).

    Raises FileNotFoundError for a missing file and :class:`ModelFileError` for a file
    that is not an SB3 zip (corrupt, truncated, no ``data`` or no ``policy.pth``).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"model {str(path)!r} does not exist")
    raw = path.read_bytes()
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            members = archive.namelist()
            bad = archive.testzip()  # reads every member: a truncated one fails its CRC
            if bad is not None:
                raise ModelFileError(f"model {path}: member {bad!r} is corrupt; {_WHAT_IS_ALLOWED}")
            text = archive.read("data").decode("utf-8")
    except ModelFileError:
        raise
    except KeyError as error:
        raise ModelFileError(
            f"model {path} is a zip without SB3's 'data' entry; {_WHAT_IS_ALLOWED}"
        ) from error
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError) as error:
        # ValueError covers UnicodeDecodeError and zlib errors on a damaged member.
        raise ModelFileError(
            f"model {path} is not a readable zip ({type(error).__name__}: {error}); the file "
            f"may be truncated or corrupt; {_WHAT_IS_ALLOWED}"
        ) from error
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ModelFileError(
            f"model {path}: its 'data' is not JSON ({error}); {_WHAT_IS_ALLOWED}"
        ) from error
    if not isinstance(data, dict) or "policy.pth" not in members:
        raise ModelFileError(
            f"model {path} lacks SB3's data dict or policy weights (policy.pth); {_WHAT_IS_ALLOWED}"
        )
    return ModelZip(path, raw, data, members)


def model_spaces(
    env_id: str, env_kwargs: Mapping[str, Any] | None = None, frame_stack: int = 1
) -> tuple[spaces.Space, spaces.Space]:
    """The observation and action spaces an SB3 model trained on ``env_id`` holds.

    One env is built (one world of N cars when ``env_kwargs.num_agents`` N > 1), stacked
    as training stacks it and wrapped as SB3 wraps it (images channels first), then
    closed.
    """
    from roadgym.agents.environments import make_eval_vec_env, num_agents_of

    num_agents = num_agents_of(env_kwargs)
    if num_agents > 1:  # trained on several cars a world: one world's slots
        from roadgym.envs.multiagent import make_multi_agent_sb3_vec_env

        fields = {k: v for k, v in (env_kwargs or {}).items() if k != "num_agents"}
        venv = make_multi_agent_sb3_vec_env(env_id, 1, num_agents, **fields)
    else:
        venv, _ = make_eval_vec_env(env_id, [0], env_kwargs, n_envs=1, frame_stack=frame_stack)
    try:
        wrapped = BaseAlgorithm._wrap_env(venv, verbose=0)
        return wrapped.observation_space, wrapped.action_space
    finally:
        venv.close()


def load_sb3_model(
    path: str | Path | ModelZip,
    *,
    algo: str | None = None,
    env: VecEnv | None = None,
    space_pair: tuple[spaces.Space, spaces.Space] | None = None,
    overrides: Mapping[str, Any] | None = None,
    device: str = "auto",
) -> BaseAlgorithm:
    """Load an SB3 zip without unpickling anything from it.

    :param algo: 'ppo' or 'dqn'; None reads it from the file.
    :param env: the env to train or drive on (its spaces are the model's); or
    :param space_pair: ``(observation_space, action_space)`` as SB3 holds them
        (:func:`model_spaces`), to load without an env.
    :param overrides: values for hyperparameters the file pickled (``learning_rate``,
        ``clip_range``, ``train_freq`` ...), from the run's config; others take SB3's
        defaults (they matter only to further training).
    """
    model_zip = path if isinstance(path, ModelZip) else read_model_zip(path)
    algo = algo or model_zip.algo()
    cls = algo_class(algo)
    if env is not None:
        env = cls._wrap_env(env, verbose=0)
        space_pair = (env.observation_space, env.action_space)
    if space_pair is None:
        raise ValueError("load_sb3_model needs env or space_pair (the spaces the model holds)")
    objects = safe_custom_objects(model_zip, cls, space_pair, overrides or {})
    try:
        return cls.load(io.BytesIO(model_zip.raw), env=env, device=device, custom_objects=objects)
    except (RuntimeError, KeyError, ValueError) as error:
        # Weights whose shapes differ from the network the settings build, a damaged .pth.
        raise ModelFileError(
            f"model {model_zip.path} does not load as a {algo.upper()} model for this env: "
            f"{str(error).splitlines()[0]}"
        ) from error


def safe_custom_objects(
    model_zip: ModelZip,
    cls: type[BaseAlgorithm],
    space_pair: tuple[spaces.Space, spaces.Space],
    overrides: Mapping[str, Any],
) -> dict[str, Any]:
    """A replacement for every pickled entry of ``model_zip.data``, built without it."""
    observation_space, action_space = space_pair
    data = model_zip.data
    _check_space(model_zip, "observation_space", observation_space)
    _check_space(model_zip, "action_space", action_space)
    defaults = {
        name: parameter.default
        for name, parameter in inspect.signature(cls.__init__).parameters.items()
        if parameter.default is not inspect.Parameter.empty
    }
    objects: dict[str, Any] = {
        "observation_space": observation_space,
        "action_space": action_space,
    }
    for key in model_zip.pickled_keys:
        entry = data[key]
        if key in objects:
            continue
        if key == "policy_class":
            objects[key] = _policy_class(model_zip, cls, entry)
        elif key == "policy_kwargs":
            objects[key] = _policy_kwargs(model_zip, entry)
        elif key in _DROPPED:
            objects[key] = None
        elif key in _BUFFER_KEYS and entry.get("__module__") == "stable_baselines3.common.buffers":
            objects[key] = None  # SB3 picks its own buffer for the observation space
        elif key in overrides:
            objects[key] = overrides[key]
        elif key in defaults:
            objects[key] = defaults[key]
        else:
            raise ModelFileError(
                f"model {model_zip.path}: entry {key!r} ({entry.get(':type:')}) is a pickle that "
                f"roadgym cannot rebuild without running code from the file; {_WHAT_IS_ALLOWED}"
            )
    return objects


def _policy_class(model_zip: ModelZip, cls: type[BaseAlgorithm], entry: dict[str, Any]) -> type:
    for candidate in dict.fromkeys(cls.policy_aliases.values()):
        if candidate.__module__ == entry.get("__module__") and candidate.__doc__ == entry.get(
            "__doc__"
        ):
            return candidate
    names = ", ".join(cls.policy_aliases)
    raise ModelFileError(
        f"model {model_zip.path}: its policy class (module {entry.get('__module__')!r}) is not "
        f"one of {cls.__name__}'s policies ({names}); roadgym loads only those, as other "
        "classes would have to be unpickled (run code from the file)"
    )


def _policy_kwargs(model_zip: ModelZip, entry: dict[str, Any]) -> dict[str, Any]:
    if entry.get(":type:") != "<class 'dict'>":
        raise ModelFileError(
            f"model {model_zip.path}: policy_kwargs is a {entry.get(':type:')}, not a dict"
        )
    kwargs: dict[str, Any] = {}
    for key, value in entry.items():
        if key.startswith(":"):
            continue
        kwargs[key] = _plain_value(model_zip, key, value)
    return kwargs


def _plain_value(model_zip: ModelZip, key: str, value: Any) -> Any:
    """A ``policy_kwargs`` item from the text SB3 wrote beside its pickle."""
    if not isinstance(value, str):
        return value  # stored as JSON already
    match = _CLASS_TEXT.fullmatch(value)
    if match:
        return _allowed_class(model_zip, key, match.group(1))
    if not value or value[0] not in "{[(":
        return value
    # str(dict) of plain values, classes written as <class '...'>: classes become markers.
    marked = _CLASS_TEXT.sub(lambda m: repr("\0class:" + m.group(1)), value)
    try:
        parsed = ast.literal_eval(marked)
    except (ValueError, SyntaxError) as error:
        raise ModelFileError(
            f"model {model_zip.path}: policy_kwargs[{key!r}] = {value[:80]!r} is not plain data "
            "(numbers, strings, lists, dicts, torch classes); it cannot be read without "
            "running code from the file"
        ) from error
    return _resolve_markers(model_zip, key, parsed)


def _resolve_markers(model_zip: ModelZip, key: str, value: Any) -> Any:
    if isinstance(value, str) and value.startswith("\0class:"):
        return _allowed_class(model_zip, key, value[len("\0class:") :])
    if isinstance(value, dict):
        return {k: _resolve_markers(model_zip, key, v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_resolve_markers(model_zip, key, v) for v in value)
    return value


def _allowed_class(model_zip: ModelZip, key: str, dotted: str) -> type:
    """A torch module or optimiser class from torch, SB3 or roadgym, by its dotted name."""
    module_name, _, name = dotted.rpartition(".")
    found = None
    if any(f"{module_name}.".startswith(prefix) for prefix in _CLASS_MODULES):
        try:
            found = getattr(importlib.import_module(module_name), name, None)
        except ImportError:
            found = None
    if not (
        isinstance(found, type) and issubclass(found, (torch.nn.Module, torch.optim.Optimizer))
    ):
        raise ModelFileError(
            f"model {model_zip.path}: policy_kwargs[{key!r}] names class {dotted!r}; allowed: "
            "torch modules and optimisers from torch, stable-baselines3 or roadgym"
        )
    return found


_BOX_IN_TEXT = re.compile(r"'([^']+)': Box\([^()]*\(([\d, ]*)\), (\w+)\)")


def _check_space(model_zip: ModelZip, key: str, space: spaces.Space) -> None:
    """Refuse ``space`` when the file states another type, shape or dtype for ``key``."""
    entry = model_zip.data.get(key)
    if not isinstance(entry, dict):
        return
    stated = entry.get(":type:", "")
    if type(space).__name__ not in stated:
        problem = f"a {stated}"
    elif isinstance(space, spaces.Box):
        shape, dtype = _listed(entry.get("_shape")), str(entry.get("dtype"))
        if (shape is None or tuple(shape) == space.shape) and dtype == str(space.dtype):
            return
        problem = f"shape {shape} dtype {dtype}"
    elif isinstance(space, spaces.Discrete):
        if str(entry.get("n")) == str(int(space.n)):
            return
        problem = f"{entry.get('n')} actions"
    elif isinstance(space, spaces.Dict):
        stated_boxes = {
            name: ((tuple(int(s) for s in dims.split(",") if s.strip())), dtype)
            for name, dims, dtype in _BOX_IN_TEXT.findall(str(entry.get("spaces", "")))
        }
        ours = {
            name: (sub.shape, str(sub.dtype))
            for name, sub in space.spaces.items()
            if isinstance(sub, spaces.Box)
        }
        if stated_boxes == ours:
            return
        problem = str(stated_boxes)
    else:
        return
    raise ModelFileError(
        f"model {model_zip.path} holds {key} {problem}, but the env it is loaded for gives "
        f"{space}; load it with the env settings it was trained with (its run's config.yaml)"
    )


def _listed(value: Any) -> list[int] | None:
    if isinstance(value, list):
        return value
    if isinstance(value, str):
        try:
            parsed = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            return None
        return list(parsed) if isinstance(parsed, (list, tuple)) else None
    return None


def spaces_from_text(model_zip: ModelZip) -> tuple[spaces.Space, spaces.Space] | None:
    """The model's spaces rebuilt from the plain text SB3 wrote beside their pickles.

    For a bare zip with no run config to build its env from. Box, Discrete and a Dict
    of those; bounds numpy printed in full, or elided (``...``) but uniform in what is
    shown (image bounds, 0 and 255). None when the text does not say enough.
    """
    try:
        observation = _space_from_entry(model_zip.data.get("observation_space"))
        action = _space_from_entry(model_zip.data.get("action_space"))
    except (ValueError, TypeError, KeyError, SyntaxError):
        return None
    if observation is None or action is None:
        return None
    return observation, action


def _space_from_entry(entry: Any) -> spaces.Space | None:
    if not isinstance(entry, dict):
        return None
    kind = str(entry.get(":type:", ""))
    if kind.endswith("Discrete'>"):
        return spaces.Discrete(int(str(entry["n"])), start=int(str(entry.get("start", 0))))
    if kind.endswith("Box'>"):
        shape = tuple(int(v) for v in _listed(entry.get("_shape")) or ())
        return _box(str(entry["low"]), str(entry["high"]), shape, str(entry["dtype"]))
    if kind.endswith("Dict'>"):
        parts = _dict_boxes(str(entry["spaces"]))
        return None if parts is None else spaces.Dict(parts)
    return None


def _box(low: str, high: str, shape: tuple[int, ...], dtype: str) -> spaces.Box | None:
    bounds = [_numbers(text, shape) for text in (low, high)]
    if bounds[0] is None or bounds[1] is None:
        return None
    kind = np.dtype(dtype)
    return spaces.Box(bounds[0].astype(kind), bounds[1].astype(kind), shape, kind)


def _numbers(text: str, shape: tuple[int, ...]) -> np.ndarray | None:
    """numpy's printed array (or scalar) as an array of ``shape``."""
    tokens = text.replace("[", " ").replace("]", " ").replace(",", " ").split()
    values = [t for t in tokens if t != "..."]
    if not values:
        return None
    numbers = np.array([float(t) for t in values])
    if "..." in tokens or numbers.size == 1:
        if not (numbers == numbers[0]).all():
            return None  # elided and not uniform: the text does not say
        return np.full(shape, numbers[0])
    return numbers.reshape(shape) if numbers.size == int(np.prod(shape)) else None


def _dict_boxes(text: str) -> dict[str, spaces.Space] | None:
    """``{'nav': Box(low, high, (30,), float32), ...}`` as a dict of Boxes."""
    out: dict[str, spaces.Space] = {}
    for match in re.finditer(r"'([^']+)': Box\(", text):
        body_start = match.end()
        depth, index = 1, body_start
        while depth and index < len(text):
            depth += {"(": 1, ")": -1}.get(text[index], 0)
            index += 1
        body = text[body_start : index - 1]  # low, high, (shape), dtype
        shape_match = re.search(r", \(([\d, ]*)\), (\w+)$", body)
        if shape_match is None:
            return None
        bounds = body[: shape_match.start()]
        split = _top_level_comma(bounds)
        if split is None:
            return None
        shape = tuple(int(v) for v in shape_match.group(1).split(",") if v.strip())
        box = _box(bounds[:split], bounds[split + 1 :], shape, shape_match.group(2))
        if box is None:
            return None
        out[match.group(1)] = box
    return out or None


def _top_level_comma(text: str) -> int | None:
    depth = 0
    for index, char in enumerate(text):
        depth += {"[": 1, "]": -1}.get(char, 0)
        if char == "," and depth == 0:
            return index
    return None
