"""Drive with an RLlib checkpoint: its RLModule as an SB3-style batch policy.

``roadgym evaluate --model DIR`` and ``roadgym watch --model DIR`` take an RLlib
checkpoint directory as they take an SB3 zip: :func:`roadgym.agents.loading.load_agent`
sees the directory and calls :func:`load_rllib_policy`, whose :class:`RLlibPolicy` has
the ``predict(observations, state, episode_start, deterministic)`` the evaluator uses.
"""

from __future__ import annotations

import copy
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import torch
from gymnasium import spaces
from ray.rllib.core import (
    COMPONENT_LEARNER,
    COMPONENT_LEARNER_GROUP,
    COMPONENT_RL_MODULE,
    DEFAULT_MODULE_ID,
)
from ray.rllib.core.columns import Columns
from ray.rllib.core.rl_module.rl_module import RLModule

__all__ = ["RLlibPolicy", "find_module_dir", "load_rllib_policy"]

_CTOR_FILE = "class_and_ctor_args.pkl"


class RLlibPolicy:
    """An RLModule behind SB3's batched ``predict``, on uint8 ``(B, H, W, C)`` frames.

    Box actions are mapped from the module's [-1, 1] to the action space's bounds and
    clipped, as RLlib's env runners do (``normalize_actions=True``).
    """

    def __init__(self, module: RLModule, action_space: spaces.Space | None = None) -> None:
        self.module = module.eval()
        self.action_space = action_space if action_space is not None else module.action_space
        self.observation_space = module.observation_space

    def predict(
        self,
        observation: Any,
        state: Any = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = True,
    ) -> tuple[np.ndarray, Any]:
        """One action per observation in the batch (greedy when ``deterministic``)."""
        frames = torch.as_tensor(np.asarray(observation))  # (B, H, W, C) uint8
        with torch.no_grad():
            out = self.module.forward_inference({Columns.OBS: frames})
            dist = self.module.get_inference_action_dist_cls().from_logits(
                out[Columns.ACTION_DIST_INPUTS]
            )
            if deterministic:
                dist = dist.to_deterministic()
            actions = dist.sample().cpu().numpy()
        if isinstance(self.action_space, spaces.Box):
            low, high = self.action_space.low, self.action_space.high
            actions = np.clip(low + (actions + 1.0) * (high - low) / 2.0, low, high)
            actions = actions.astype(self.action_space.dtype)
        return actions, None


def find_module_dir(checkpoint: str | Path) -> Path:
    """The default RLModule's directory in an Algorithm checkpoint (or ``checkpoint`` itself).

    Raises FileNotFoundError saying what an RLlib checkpoint directory holds.
    """
    path = Path(checkpoint)
    candidates = [
        path
        / COMPONENT_LEARNER_GROUP
        / COMPONENT_LEARNER
        / COMPONENT_RL_MODULE
        / DEFAULT_MODULE_ID,
        path / COMPONENT_RL_MODULE / DEFAULT_MODULE_ID,
        path / DEFAULT_MODULE_ID,
        path,
    ]
    for candidate in candidates:
        if (candidate / "module_state.pkl").is_file() and (candidate / _CTOR_FILE).is_file():
            return candidate
    raise FileNotFoundError(
        f"{path} is not an RLlib checkpoint: no learner_group/learner/rl_module/"
        f"{DEFAULT_MODULE_ID}/module_state.pkl in it (roadgym train --backend rllib writes "
        "RUN_DIR/checkpoint and RUN_DIR/checkpoints/step_*)"
    )


def load_rllib_policy(checkpoint: str | Path) -> RLlibPolicy:
    """Rebuild the checkpoint's RLModule on the CPU and wrap it as a batch policy.

    The module is built from its saved constructor arguments, except that a
    ``pretrained`` perception checkpoint is not read again (the saved weights replace
    it anyway, and the file may not exist on this machine).
    """
    module_dir = find_module_dir(checkpoint)
    with (module_dir / _CTOR_FILE).open("rb") as file:
        saved = pickle.load(file)
    try:
        cls = saved["class"]
        args, kwargs = saved["ctor_args_and_kwargs"]
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(
            f"{module_dir / _CTOR_FILE} is not an RLModule constructor record: {error}"
        ) from error
    kwargs = copy.deepcopy(dict(kwargs))
    model_config = dict(kwargs.get("model_config") or {})
    if "pretrained" in model_config:
        model_config["pretrained"] = None
    kwargs["model_config"] = model_config
    module = cls(*args, **kwargs)
    module.restore_from_path(str(module_dir.resolve()))  # RLlib reads relative paths as URIs
    return RLlibPolicy(module)
