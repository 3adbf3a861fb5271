"""The pixel student: a roadgym encoder with an action head and perception heads.

The student is an SB3 PPO policy (``MultiInputPolicy``) whose features extractor is
:class:`StudentExtractor`: a roadgym encoder (``build_encoder``) over the camera frame,
concatenated with the ``nav`` vector (speed, next turn). The same extractor carries
auxiliary perception heads (light state, object ahead, road layout) on the encoder's
features; imitation trains them in the same loss as the actions, so the features that
drive are perception features. The heads ride along inside the saved policy (PPO
ignores them), so a student zip is an ordinary SB3 model: ``PPO.load``, ``roadgym
evaluate``, ``watch`` and ``train --init-from`` take it unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from gymnasium import spaces
from stable_baselines3.common.policies import ActorCriticPolicy
from stable_baselines3.common.preprocessing import is_image_space_channels_first
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from torch import nn

from roadgym.perception.encoders import build_encoder

__all__ = [
    "AUX_TASKS",
    "StudentExtractor",
    "image_channel_count",
    "image_channel_index",
    "student_forward",
]

# Perception tasks trained beside the actions: label name -> number of classes.
AUX_TASKS = {"light_state": 4, "object_ahead": 3, "road_layout": 3}


def image_channel_index(
    total_channels: int, image_frames: int, frame_gap: int, earlier_channels: int = 3
) -> list[int]:
    """Channels of the camera frames the student encodes, oldest first.

    A stacked camera observation holds ``total_channels // 3`` RGB frames, oldest first;
    the student sees the newest one and ``image_frames - 1`` earlier ones, ``frame_gap``
    steps apart (gap 1: the newest frames; with 10 frames, 2 frames and gap 9: the newest
    and the one 0.9 s before it at the default 0.1 s step). Of each earlier frame it sees
    the first ``earlier_channels`` channels: 3 (RGB) or 1 (red: pedestrians, cars, road
    edges and markings are bright on a dark road, enough to show what moved).
    """
    stacked = total_channels // 3
    oldest = stacked - 1 - (image_frames - 1) * frame_gap
    if image_frames < 1 or frame_gap < 1 or oldest < 0 or total_channels % 3:
        raise ValueError(
            f"image_frames = {image_frames!r}, image_frame_gap = {frame_gap!r} need "
            f"{(image_frames - 1) * max(frame_gap, 1) + 1} stacked RGB frames; the camera has "
            f"{total_channels} channels (allowed: (image_frames - 1) * image_frame_gap + 1 "
            "<= frame_stack)"
        )
    if earlier_channels not in (1, 3):
        raise ValueError(f"earlier_frame_channels = {earlier_channels!r}; allowed: 1 or 3")
    earlier = range(oldest, stacked - 1, frame_gap)
    index = [3 * frame + c for frame in earlier for c in range(earlier_channels)]
    return index + [3 * (stacked - 1) + c for c in range(3)]


def image_channel_count(image_frames: int, earlier_channels: int = 3) -> int:
    """How many channels the student's encoder takes (see :func:`image_channel_index`)."""
    return 3 + (image_frames - 1) * earlier_channels


class StudentExtractor(BaseFeaturesExtractor):
    """Camera frame through a roadgym encoder, joined with the ``nav`` vector.

    :param observation_space: a Dict with an image ``rgb`` and an optional vector ``nav``.
    :param encoder: roadgym encoder name (``nature``, ``impala``, ``resnet``).
    :param encoder_options: fields of that encoder's config.
    :param aux_tasks: perception heads on the encoder features, task -> classes.
    :param nav_features: width of the small layer the ``nav`` vector passes through.
    :param image_frames: how many of the newest camera frames the encoder sees when the
        env stacks frames (``frame_stack``); the ``nav`` vector always comes whole, so a
        student can see its last few speeds (braking into a stop line or pulling away
        from it) and encode only the newest frame.
    :param image_frame_gap: steps between the camera frames the encoder sees (1: the
        newest frames; a longer gap shows motion too slow for one step, such as a
        pedestrian's 0.14 m a step, 0.3 pixel at 0.5 m per pixel).
    :param earlier_frame_channels: channels of each earlier frame the encoder sees: 3
        (RGB) or 1 (red only).
    :param nav_scale: factor on the ``nav`` vector before its layer. The env gives speed
        as a fraction of the top speed (20 m/s in towns), so town speeds are 0-0.3 and
        the difference between rolling (0.5 m/s) and standing is 0.025; scaled up, it
        weighs beside the 256 image features. 1.0 (no scaling) reads older students.
    """

    def __init__(
        self,
        observation_space: spaces.Dict,
        encoder: str = "nature",
        encoder_options: Mapping[str, Any] | None = None,
        aux_tasks: Mapping[str, int] | None = None,
        nav_features: int = 32,
        image_frames: int = 1,
        nav_scale: float = 1.0,
        image_frame_gap: int = 1,
        earlier_frame_channels: int = 3,
    ) -> None:
        if not nav_scale > 0:
            raise ValueError(f"nav_scale = {nav_scale!r}; allowed: a float > 0")
        if not isinstance(observation_space, spaces.Dict) or "rgb" not in observation_space.spaces:
            raise ValueError(
                f"StudentExtractor needs a Dict observation space with an 'rgb' image; got "
                f"{observation_space} (make the env with observation='rgb+nav')"
            )
        image = observation_space["rgb"]
        shape = image.shape
        channels_first = is_image_space_channels_first(image)
        input_shape = (shape[1], shape[2], shape[0]) if channels_first else tuple(shape)
        channels = image_channel_count(image_frames, earlier_frame_channels)
        # Raises when the camera stacks too few frames.
        image_channel_index(input_shape[2], image_frames, image_frame_gap, earlier_frame_channels)
        input_shape = (input_shape[0], input_shape[1], channels)
        network = build_encoder(encoder, input_shape, **dict(encoder_options or {}))
        nav_space = observation_space.spaces.get("nav")
        nav_dim = 0 if nav_space is None else int(nav_space.shape[0])
        super().__init__(observation_space, network.features_dim + (nav_features if nav_dim else 0))
        self.encoder = network
        self.channels_first = channels_first
        self.image_channels = channels
        self.image_frames = int(image_frames)
        self.image_frame_gap = int(image_frame_gap)
        self.earlier_frame_channels = int(earlier_frame_channels)
        self.nav = nn.Sequential(nn.Linear(nav_dim, nav_features), nn.ReLU()) if nav_dim else None
        self.nav_scale = float(nav_scale)
        tasks = dict(AUX_TASKS if aux_tasks is None else aux_tasks)
        self.aux_heads = nn.ModuleDict(
            {task: nn.Linear(network.features_dim, n) for task, n in tasks.items()}
        )
        self._last_image_features: torch.Tensor | None = None

    def forward(self, observations: dict[str, torch.Tensor]) -> torch.Tensor:
        """``(B, features_dim)``: encoder features of ``rgb``, then the ``nav`` features."""
        frames = observations["rgb"]
        if frames.is_floating_point() and not self.channels_first:
            frames = frames.permute(0, 3, 1, 2)  # (B, C, H, W)
        if frames.shape[1] != self.image_channels:
            # A whole stacked observation: keep the channels the student sees, (B,
            # image_channels, H, W); imitation data holds only those (``collect_round``).
            gap, earlier = self.image_frame_gap, self.earlier_frame_channels
            index = image_channel_index(frames.shape[1], self.image_frames, gap, earlier)
            frames = frames[:, index]
        image_features = self.encoder(frames)  # (B, F)
        self._last_image_features = image_features
        if self.nav is None:
            return image_features
        nav = self.nav_scale * observations["nav"].float()
        return torch.cat([image_features, self.nav(nav)], dim=1)

    def aux_logits(self) -> dict[str, torch.Tensor]:
        """Perception logits (B, classes) per task, of the frames of the last forward."""
        if self._last_image_features is None:
            raise RuntimeError("StudentExtractor.aux_logits() called before a forward pass")
        return {task: head(self._last_image_features) for task, head in self.aux_heads.items()}


def student_forward(
    policy: ActorCriticPolicy, frames: torch.Tensor, nav: torch.Tensor | None
) -> tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
    """Action means (B, A), values (B,) and perception logits of a student policy.

    ``frames`` (B, H, W, C) uint8 camera frames (the newest ``image_frames`` at least) and
    ``nav`` (B, D) float (None when the student has no ``nav`` input); the frames are
    scaled and moved to channels first here, as SB3's ``predict`` does.
    """
    extractor = policy.features_extractor
    if not isinstance(extractor, StudentExtractor):
        raise TypeError(
            f"policy features extractor is {type(extractor).__name__}; expected StudentExtractor"
        )
    images = frames.permute(0, 3, 1, 2).float()  # (B, 3, H, W)
    if policy.normalize_images:
        images = images / 255.0
    observations = {"rgb": images}
    if nav is not None:
        observations["nav"] = nav
    features = extractor(observations)  # (B, F)
    latent_pi, latent_vf = policy.mlp_extractor(features)
    mean = policy.action_net(latent_pi)  # (B, A)
    value = policy.value_net(latent_vf).squeeze(-1)  # (B,)
    return mean, value, extractor.aux_logits()
