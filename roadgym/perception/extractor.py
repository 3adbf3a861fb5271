"""The stable-baselines3 features extractor that puts a roadgym encoder in front of a policy.

Use it through ``policy_kwargs``::

    PPO("CnnPolicy", env, policy_kwargs=dict(
        features_extractor_class=RoadgymEncoderExtractor,
        features_extractor_kwargs=dict(checkpoint="runs/lights/checkpoint.pt", freeze=True),
    ))

SB3 wraps channel-last image envs in ``VecTransposeImage`` and, with
``normalize_images=True`` (its default), hands the extractor float ``(B, C, H, W)``
tensors already divided by 255: exactly the float layout roadgym encoders take.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from gymnasium import spaces
from stable_baselines3.common.preprocessing import is_image_space_channels_first
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor

from roadgym.perception.checkpoint import load_encoder_weights, read_checkpoint
from roadgym.perception.encoders import build_encoder

__all__ = ["RoadgymEncoderExtractor"]


class RoadgymEncoderExtractor(BaseFeaturesExtractor):
    """Any roadgym encoder as an SB3 ``BaseFeaturesExtractor``, optionally from a checkpoint.

    :param observation_space: the image Box the policy sees (CHW after SB3's transpose).
    :param encoder: encoder name; None takes the checkpoint's (or 'nature' without one).
    :param encoder_options: fields of the encoder's config; None takes the checkpoint's.
    :param checkpoint: a classifier checkpoint whose encoder weights (and normalisation)
        are loaded; its architecture and input shape must match, else ValueError.
    :param freeze: keep the encoder's weights and BatchNorm statistics fixed.
    """

    def __init__(
        self,
        observation_space: spaces.Box,
        encoder: str | None = None,
        encoder_options: dict[str, Any] | None = None,
        checkpoint: str | Path | None = None,
        freeze: bool = False,
    ) -> None:
        if not isinstance(observation_space, spaces.Box) or len(observation_space.shape) != 3:
            raise ValueError(
                f"RoadgymEncoderExtractor needs a 3-D image Box observation space; got "
                f"{observation_space}"
            )
        channels_first = is_image_space_channels_first(observation_space)
        shape = observation_space.shape
        input_shape = (shape[1], shape[2], shape[0]) if channels_first else tuple(shape)
        if checkpoint is not None:
            saved = read_checkpoint(checkpoint)["encoder"]
            encoder = saved["name"] if encoder is None else encoder
            encoder_options = saved["options"] if encoder_options is None else encoder_options
        network = build_encoder(encoder or "nature", input_shape, **(encoder_options or {}))
        if checkpoint is not None:
            load_encoder_weights(network, checkpoint)
        super().__init__(observation_space, network.features_dim)
        self.encoder = network
        self.channels_first = channels_first
        self.frozen = freeze
        if freeze:
            self.encoder.requires_grad_(False)
            self.encoder.eval()

    def train(self, mode: bool = True) -> RoadgymEncoderExtractor:
        """Switch train/eval mode; a frozen encoder stays in eval so BatchNorm stats hold."""
        super().train(mode)
        if self.frozen:
            self.encoder.eval()
        return self

    def forward(self, observations: torch.Tensor) -> torch.Tensor:
        """Float observations from SB3 (or uint8 HWC frames) to ``(B, features_dim)``."""
        if observations.is_floating_point() and not self.channels_first:
            # An env whose image space was not transposed hands over float HWC.
            observations = observations.permute(0, 3, 1, 2)  # (B, C, H, W)
        return self.encoder(observations)  # (B, features_dim)
