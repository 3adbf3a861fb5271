"""The SB3 features extractor: PPO with a roadgym encoder, loading from a classifier checkpoint."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from gymnasium import spaces
from stable_baselines3 import PPO

from roadgym.perception import RoadgymEncoderExtractor, build_classifier, save_classifier
from tests.perception.fake_env import FakeLabelledEnv

CHW_SPACE = spaces.Box(0, 255, (3, 36, 36), dtype=np.uint8)  # what SB3 shows after transposing


@pytest.fixture
def checkpoint(tmp_path):
    model = build_classifier("resnet", (36, 36, 3), 3, channels=(4, 8))
    model.encoder.set_normalization([0.2, 0.3, 0.4], [0.5, 0.5, 0.5])
    return save_classifier(tmp_path / "c.pt", model, class_names=["a", "b", "c"], task="t"), model


def test_ppo_learns_a_few_steps_with_a_roadgym_encoder():
    policy_kwargs = dict(
        features_extractor_class=RoadgymEncoderExtractor,
        features_extractor_kwargs=dict(
            encoder="impala", encoder_options={"features_dim": 16, "channels": [4, 8]}
        ),
    )
    model = PPO(
        "CnnPolicy",
        FakeLabelledEnv(),
        n_steps=32,
        batch_size=32,
        n_epochs=1,
        policy_kwargs=policy_kwargs,
        device="cpu",
        seed=0,
    )
    model.learn(64)
    extractor = model.policy.features_extractor
    assert isinstance(extractor, RoadgymEncoderExtractor) and extractor.features_dim == 16
    action, _ = model.predict(FakeLabelledEnv().reset(seed=1)[0])
    assert 0 <= int(action) < 3


def test_extractor_loads_encoder_weights_and_normalisation(checkpoint):
    path, classifier = checkpoint
    extractor = RoadgymEncoderExtractor(CHW_SPACE, checkpoint=path)  # name from the checkpoint
    assert extractor.encoder.name == "resnet"
    for key, value in classifier.encoder.state_dict().items():
        torch.testing.assert_close(extractor.encoder.state_dict()[key], value)
    frames = torch.randint(0, 256, (2, 36, 36, 3), dtype=torch.uint8)
    sb3_input = frames.permute(0, 3, 1, 2).float() / 255.0  # SB3: transposed, divided by 255
    torch.testing.assert_close(extractor.eval()(sb3_input), classifier.encoder.eval()(frames))


def test_frozen_extractor_keeps_weights_and_batchnorm_fixed(checkpoint):
    path, _ = checkpoint
    extractor = RoadgymEncoderExtractor(CHW_SPACE, checkpoint=path, freeze=True)
    assert not any(p.requires_grad for p in extractor.parameters())
    extractor.train()
    assert not extractor.encoder.training  # BatchNorm running stats stay as trained
    trainable = RoadgymEncoderExtractor(CHW_SPACE, checkpoint=path, freeze=False)
    assert all(p.requires_grad for p in trainable.parameters())


def test_extractor_refuses_a_checkpoint_for_another_input(checkpoint):
    path, _ = checkpoint
    with pytest.raises(ValueError, match=r"input_shape \[40, 40, 3\]"):
        RoadgymEncoderExtractor(spaces.Box(0, 255, (3, 40, 40), np.uint8), checkpoint=path)
    with pytest.raises(ValueError, match="'nature'"):
        RoadgymEncoderExtractor(CHW_SPACE, encoder="nature", checkpoint=path)
    with pytest.raises(ValueError, match="image Box"):
        RoadgymEncoderExtractor(spaces.Box(0, 1, (4,), np.float32))
