"""roadgym's shipped hyperparameters in the form RL Baselines3 Zoo loads with ``--conf-file``.

RL Zoo trains roadgym envs untouched (``python -m rl_zoo3.train --algo ppo --env
roadgym/Track-v0 --gym-packages roadgym``, with the Zoo's default hyperparameters). To
train with roadgym's tuned ones and its encoder, point the Zoo at these modules::

    python -m rl_zoo3.train --algo ppo --env roadgym/Track-v0 --gym-packages roadgym \\
        --conf-file roadgym.agents.rl_zoo.ppo

The Zoo reads a module's ``hyperparams`` dict (env id -> keys). The YAML's roadgym-only
keys (evaluation and checkpoint cadence: the Zoo has its own flags for those) are
dropped, and ``encoder`` becomes ``policy_kwargs.features_extractor_class``.
"""

from __future__ import annotations

from typing import Any

import yaml

from roadgym.agents.hyperparams import _hyperparams_path, algo_class

__all__ = ["zoo_hyperparams"]

_DROPPED = ("eval_freq", "eval_episodes", "checkpoint_freq", "video_freq")


def zoo_hyperparams(algo: str) -> dict[str, dict[str, Any]]:
    """Every entry of the shipped ``{algo}.yml``, converted for RL Zoo."""
    algo_class(algo)
    with _hyperparams_path(algo).open(encoding="utf-8") as file:
        data = yaml.safe_load(file)
    return {env_id: _convert(dict(entry)) for env_id, entry in data.items()}


def _convert(entry: dict[str, Any]) -> dict[str, Any]:
    for key in _DROPPED:
        entry.pop(key, None)
    encoder = entry.pop("encoder", None)
    options = entry.pop("encoder_options", None)
    checkpoint = entry.pop("pretrained", None)
    freeze = bool(entry.pop("freeze", False))
    if encoder is not None or checkpoint is not None:
        from roadgym.perception.extractor import RoadgymEncoderExtractor

        policy_kwargs = dict(entry.get("policy_kwargs") or {})
        policy_kwargs["features_extractor_class"] = RoadgymEncoderExtractor
        policy_kwargs["features_extractor_kwargs"] = {
            "encoder": encoder,
            "encoder_options": options,
            "checkpoint": checkpoint,
            "freeze": freeze,
        }
        entry["policy_kwargs"] = policy_kwargs
    return entry
