"""A torch RLModule with roadgym's encoder in front of a policy head and a value head.

RLlib's default CNN wants float frames ("Input type (unsigned char) and bias type
(float) should be the same" on uint8), which would mean casting in the env and shipping
4x the bytes between processes. roadgym's encoders take the env's uint8 ``(B, H, W, C)``
frames and scale, permute and normalise inside, so the frames travel as uint8 from the
env runners to the learner.

``model_config`` keys (all optional):

- ``encoder``: ``nature`` (default), ``impala`` or ``resnet``;
- ``encoder_options``: fields of that encoder's config (``features_dim``, ``channels``);
- ``pretrained``: a perception classifier checkpoint whose encoder weights initialise
  this one (read on the learner only: env runners receive the weights from it, so the
  file need not exist on the other machines of a cluster);
- ``freeze``: keep the encoder's weights (and BatchNorm statistics) fixed.

The heads are single Linear layers on the shared features, initialised as SB3's
``ActorCriticCnnPolicy`` does (orthogonal, gain 0.01 for the policy, 1 for the value),
so the same YAML means the same network on both backends.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import torch
from gymnasium import spaces
from ray.rllib.core.columns import Columns
from ray.rllib.core.rl_module.apis import ValueFunctionAPI
from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig
from ray.rllib.core.rl_module.torch import TorchRLModule
from torch import nn

from roadgym.perception.checkpoint import load_encoder_weights, read_checkpoint
from roadgym.perception.encoders import build_encoder

__all__ = ["MODEL_CONFIG_KEYS", "RoadgymPPOModule", "encoder_model_config"]

MODEL_CONFIG_KEYS = ("encoder", "encoder_options", "pretrained", "freeze")


def encoder_model_config(
    encoder: str | None,
    encoder_options: dict[str, Any] | None,
    pretrained: str | None,
    freeze: bool,
) -> dict[str, Any]:
    """``model_config`` for :class:`RoadgymPPOModule`; a checkpoint names its own encoder.

    With ``pretrained`` and no ``encoder``, the architecture and options are read from
    the checkpoint here (on the machine that starts training), as the SB3 path does.
    """
    if freeze and pretrained is None:
        raise ValueError("freeze = True needs pretrained = CKPT (there is nothing to freeze)")
    if pretrained is not None and encoder is None:
        saved = read_checkpoint(pretrained)["encoder"]
        encoder, encoder_options = saved["name"], saved["options"]
    return {
        "encoder": encoder or "nature",
        "encoder_options": dict(encoder_options or {}),
        "pretrained": None if pretrained is None else str(pretrained),
        "freeze": bool(freeze),
    }


class RoadgymPPOModule(TorchRLModule, ValueFunctionAPI):
    """roadgym encoder + Linear policy head + Linear value head, on uint8 HWC frames.

    Discrete actions get logits; Box actions get a mean per dimension and a learnt,
    state-independent log std (RLlib's ``TorchDiagGaussian`` reads both from the
    action-distribution inputs).
    """

    def setup(self) -> None:
        """Build the encoder (from ``model_config``) and the two heads."""
        config = dict(self.model_config or {})
        # RLlib adds some of its DefaultModelConfig keys (vf_share_layers ...) itself.
        rllib_keys = {field.name for field in dataclasses.fields(DefaultModelConfig)}
        unknown = sorted(set(config) - set(MODEL_CONFIG_KEYS) - rllib_keys)
        if unknown:
            raise ValueError(
                f"RoadgymPPOModule model_config has unknown key(s) {unknown}; allowed: "
                f"{', '.join(MODEL_CONFIG_KEYS)}"
            )
        space = self.observation_space
        if not isinstance(space, spaces.Box) or len(space.shape) != 3:
            raise ValueError(
                f"RoadgymPPOModule needs an image Box observation space (H, W, C); got {space} "
                "(use observation='rgb' or 'semantic', not a Dict with 'state')"
            )
        self.encoder = build_encoder(
            config.get("encoder") or "nature", space.shape, **(config.get("encoder_options") or {})
        )
        pretrained = config.get("pretrained")
        if pretrained is not None and not self.inference_only:
            load_encoder_weights(self.encoder, pretrained)
        self.frozen = bool(config.get("freeze", False))
        if self.frozen:
            self.encoder.requires_grad_(False)
            self.encoder.eval()
        features = self.encoder.features_dim
        if isinstance(self.action_space, spaces.Discrete):
            self.pi = nn.Linear(features, int(self.action_space.n))
            self.log_std = None
        elif isinstance(self.action_space, spaces.Box):
            size = int(np.prod(self.action_space.shape))
            self.pi = nn.Linear(features, size)
            self.log_std = nn.Parameter(torch.zeros(size))
        else:
            raise ValueError(
                f"RoadgymPPOModule supports Discrete or Box actions; got {self.action_space}"
            )
        self.vf = nn.Linear(features, 1)
        nn.init.orthogonal_(self.pi.weight, gain=0.01)
        nn.init.zeros_(self.pi.bias)
        nn.init.orthogonal_(self.vf.weight, gain=1.0)
        nn.init.zeros_(self.vf.bias)

    def train(self, mode: bool = True) -> RoadgymPPOModule:
        """Switch train/eval mode; a frozen encoder stays in eval so BatchNorm stats hold."""
        super().train(mode)
        if getattr(self, "frozen", False):
            self.encoder.eval()
        return self

    def _features(self, batch: dict[str, Any]) -> torch.Tensor:
        return self.encoder(batch[Columns.OBS])  # uint8 (B, H, W, C) -> (B, F)

    def _dist_inputs(self, features: torch.Tensor) -> torch.Tensor:
        out = self.pi(features)  # (B, A)
        if self.log_std is None:
            return out
        return torch.cat([out, self.log_std.expand_as(out)], dim=-1)  # (B, 2A)

    def _forward(self, batch: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        return {Columns.ACTION_DIST_INPUTS: self._dist_inputs(self._features(batch))}

    def _forward_train(self, batch: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        features = self._features(batch)  # (B, F), reused by compute_values
        return {
            Columns.ACTION_DIST_INPUTS: self._dist_inputs(features),
            Columns.EMBEDDINGS: features,
        }

    def compute_values(
        self, batch: dict[str, Any], embeddings: torch.Tensor | None = None
    ) -> torch.Tensor:
        """State values (B,) from the shared features (computed here when not given)."""
        if embeddings is None:
            embeddings = self._features(batch)
        return self.vf(embeddings).squeeze(-1)  # (B,)
