"""Models that ship inside the package: ``load_pretrained("town-student")``.

Each model is an SB3 zip beside a JSON card naming its env id, the env config fields it
drives with, how it was made and what it scored on held-out seeds. The object returned
drives a plain ``gymnasium.make(model.env_id, **model.env_kwargs)`` with no wrapper::

    import gymnasium as gym
    from roadgym.agents import load_pretrained

    student = load_pretrained("town-student")
    env = gym.make(student.env_id, **student.env_kwargs)
    observation, info = env.reset(seed=2_000_000)
    action, _ = student.predict(observation, deterministic=True)
"""

from __future__ import annotations

import dataclasses
import json
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "PretrainedModel",
    "available_pretrained",
    "load_pretrained",
    "pretrained_path",
    "read_card",
]


@dataclasses.dataclass
class PretrainedModel:
    """A shipped model and the env it drives."""

    name: str
    env_id: str
    """Env the model drives."""
    env_kwargs: dict[str, Any]
    """Config fields to make that env with (``gym.make(env_id, **env_kwargs)``)."""
    card: dict[str, Any]
    """How it was made and what it scored (the JSON beside the zip)."""
    model: Any
    """The SB3 model."""
    path: Path

    def predict(
        self,
        observation: Any,
        state: Any = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = True,
    ) -> tuple[np.ndarray, Any]:
        """SB3's ``predict``: ``(action, state)`` for one observation or a batch."""
        return self.model.predict(
            observation, state=state, episode_start=episode_start, deterministic=deterministic
        )


def _directory() -> Path:
    return Path(str(resources.files(__name__)))


def available_pretrained() -> list[str]:
    """Names of the models shipped with this install."""
    return sorted(p.stem for p in _directory().glob("*.json"))


def pretrained_path(name: str) -> Path:
    """The zip of the shipped model ``name``; a clear error naming those that exist."""
    zip_path = _directory() / f"{name}.zip"
    if not zip_path.is_file() or not zip_path.with_suffix(".json").is_file():
        raise ValueError(
            f"pretrained model {name!r} is not shipped; allowed: {available_pretrained()}"
        )
    return zip_path


def read_card(zip_path: str | Path) -> dict[str, Any]:
    """The JSON card beside a model zip (``NAME.json`` beside ``NAME.zip``)."""
    return json.loads(Path(zip_path).with_suffix(".json").read_text(encoding="utf-8"))


def load_pretrained(name: str, device: str = "cpu") -> PretrainedModel:
    """Load the shipped model ``name`` (see :func:`available_pretrained`)."""
    from roadgym.agents.model_zip import load_sb3_model, model_spaces

    zip_path = pretrained_path(name)
    card = read_card(zip_path)
    # Nothing in the zip is unpickled: its spaces come from the env the card names.
    spaces = model_spaces(card["env_id"], card["env_kwargs"])
    return PretrainedModel(
        name=name,
        env_id=card["env_id"],
        env_kwargs=dict(card["env_kwargs"]),
        card=card,
        model=load_sb3_model(zip_path, algo="ppo", space_pair=spaces, device=device),
        path=zip_path,
    )
