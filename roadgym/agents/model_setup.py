"""The model a run trains: new (with the roadgym encoder and its pretrained weights),
resumed from a zip (nothing unpickled), or started from a student (``init_from``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.vec_env import unwrap_vec_normalize

from roadgym.agents.extensions import ExtensionContext
from roadgym.agents.hyperparams import TrainSettings, algo_class
from roadgym.agents.normalizer import (
    apply_normalizer_state,
    find_normalizer,
    load_normalizer_state,
    normalizer_path,
)
from roadgym.agents.run_config import RunConfig

__all__ = ["build_model", "build_policy_kwargs", "restore_pretrained_encoders"]


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


def _apply_pretrained_to_student(model: BaseAlgorithm, settings: TrainSettings) -> None:
    """With ``init_from``: ``pretrained`` replaces the student's camera encoder by a
    classifier checkpoint's, and ``freeze`` keeps that encoder fixed during PPO.

    The features extractor is shared by actor and critic, so one encoder is changed; a
    parameter without gradient is skipped by Adam, so freezing needs no new optimiser.
    """
    if settings.pretrained is None and not settings.freeze:
        return
    from roadgym.perception.checkpoint import load_encoder_weights

    encoder = model.policy.features_extractor.encoder
    if settings.pretrained is not None:
        load_encoder_weights(encoder, settings.pretrained)
    if settings.freeze:
        encoder.requires_grad_(False)


def _restore_normalizer(venv: Any, resume: Path) -> Any:
    """Put the statistics saved with ``resume`` into the training env; fail when missing."""
    normalizer = unwrap_vec_normalize(venv)
    if normalizer is None:
        return venv
    stats = find_normalizer(resume)
    if stats is None:
        raise FileNotFoundError(
            f"resume {str(resume)!r}: this run normalises observations or rewards, but "
            f"{normalizer_path(resume)} (the statistics saved with that model) is missing; "
            "resuming without it would silently reset the reward and observation scaling"
        )
    apply_normalizer_state(normalizer, load_normalizer_state(stats))
    normalizer.training = True
    return venv


def build_model(
    config: RunConfig,
    context: ExtensionContext,
    venv: Any,
    resume: Path | None,
    device: str,
    arguments: dict[str, Any],
) -> BaseAlgorithm:
    """The run's SB3 model on ``venv``: resumed from ``resume``, else new (the student's
    weights with ``init_from``); a fixed ``action_std`` set after every load."""
    settings = config.settings
    student = context.initial_model
    cls = algo_class(settings.algo)
    if resume is not None:
        venv = _restore_normalizer(venv, resume)
        from roadgym.agents.model_zip import load_sb3_model

        # Nothing in the zip is unpickled: spaces from venv, schedules from the config.
        model: BaseAlgorithm = load_sb3_model(
            resume, algo=settings.algo, env=venv, overrides=arguments, device=device
        )
        if settings.freeze and hasattr(model.policy.features_extractor, "encoder"):
            # requires_grad is not saved in the zip: a frozen encoder must stay frozen.
            model.policy.features_extractor.encoder.requires_grad_(False)
    else:
        model = cls(
            settings.policy,
            venv,
            seed=settings.seed,
            device=device,
            verbose=0,
            policy_kwargs=build_policy_kwargs(settings)
            if student is None
            else {**student.policy_kwargs, **settings.policy_kwargs},
            **arguments,
        )
        if settings.pretrained is not None:
            restore_pretrained_encoders(model, settings.pretrained)
        if student is not None:
            model.policy.load_state_dict(student.policy.state_dict())
            _apply_pretrained_to_student(model, settings)
    if settings.action_std is not None:  # after every load: requires_grad is not saved
        from roadgym.agents.imitation.finetune import fix_action_std

        fix_action_std(model.policy, settings.action_std)
    return model
