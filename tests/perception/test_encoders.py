"""Encoders: build by name, both input layouts, dry-run sizing, clear errors."""

from __future__ import annotations

import pytest
import torch

from roadgym.perception import (
    ENCODERS,
    autocast,
    build_encoder,
    build_encoder_from_spec,
    maybe_channels_last,
    pick_device,
)

SMALL_OPTIONS = {
    "nature": {"features_dim": 32, "channels": (8, 8, 8)},
    "impala": {"features_dim": 32, "channels": (4, 8)},
    "resnet": {"channels": (4, 8)},
}


@pytest.mark.parametrize("name", sorted(ENCODERS))
@pytest.mark.parametrize("input_shape", [(36, 36, 3), (40, 52, 3)])
def test_uint8_hwc_and_float_chw_give_the_same_features(name, input_shape):
    torch.manual_seed(0)
    encoder = build_encoder(name, input_shape, **SMALL_OPTIONS[name]).eval()
    frames = torch.randint(0, 256, (4, *input_shape), dtype=torch.uint8)  # (B, H, W, C)
    from_uint8 = encoder(frames)
    from_float = encoder(frames.permute(0, 3, 1, 2).float() / 255.0)  # (B, C, H, W)
    assert from_uint8.shape == (4, encoder.features_dim)
    torch.testing.assert_close(from_uint8, from_float)


def test_encoders_size_their_head_from_the_input():
    small = build_encoder("nature", (36, 36, 3), features_dim=16)
    large = build_encoder("nature", (84, 84, 3), features_dim=16)
    assert small.head[0].in_features != large.head[0].in_features
    assert build_encoder("resnet", (32, 32, 3), channels=(4, 8)).features_dim == 8
    assert build_encoder("resnet", (32, 32, 3), channels=(4, 8), features_dim=5).features_dim == 5


def test_unknown_encoder_name_lists_the_allowed_names():
    with pytest.raises(ValueError, match=r"'vit'.*nature"):
        build_encoder("vit", (64, 64, 3))


def test_unknown_or_invalid_option_is_rejected():
    with pytest.raises(ValueError, match=r"unknown options \['width'\]"):
        build_encoder("nature", (64, 64, 3), width=3)
    with pytest.raises(ValueError, match="features_dim"):
        build_encoder("impala", (64, 64, 3), features_dim=0)
    with pytest.raises(ValueError, match="stem_stride"):
        build_encoder("resnet", (64, 64, 3), stem_stride=3)
    with pytest.raises(ValueError, match="input_shape"):
        build_encoder("resnet", (64, 64), channels=(4,))


def test_too_small_input_names_the_shape():
    with pytest.raises(ValueError, match=r"\(16, 16, 3\) is too small for encoder 'nature'"):
        build_encoder("nature", (16, 16, 3))


def test_wrong_frames_raise_value_error():
    encoder = build_encoder("nature", (36, 36, 3), features_dim=8)
    with pytest.raises(ValueError, match="do not match"):
        encoder(torch.zeros(2, 3, 36, 36, dtype=torch.uint8))  # uint8 must be HWC
    with pytest.raises(ValueError, match="do not match"):
        encoder(torch.zeros(2, 36, 36, 3))  # float must be CHW
    with pytest.raises(ValueError, match="batch"):
        encoder(torch.zeros(36, 36, 3, dtype=torch.uint8))
    with pytest.raises(ValueError, match="dtype"):
        encoder(torch.zeros(2, 36, 36, 3, dtype=torch.int32))


def test_spec_rebuilds_the_same_architecture():
    encoder = build_encoder("impala", (40, 40, 3), **SMALL_OPTIONS["impala"])
    rebuilt = build_encoder_from_spec(encoder.spec())
    assert rebuilt.spec() == encoder.spec()
    rebuilt.load_state_dict(encoder.state_dict())  # identical parameter shapes


def test_normalization_lives_in_the_state_dict():
    encoder = build_encoder("nature", (36, 36, 3), features_dim=8)
    encoder.set_normalization([0.1, 0.2, 0.3], [0.5, 0.5, 0.5])
    assert encoder.state_dict()["mean"].tolist() == pytest.approx([0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="std > 0"):
        encoder.set_normalization([0, 0, 0], [1, 0, 1])


def test_device_helper_picks_cpu_here_and_rejects_unknown_names():
    device = pick_device("auto")
    assert device.type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert pick_device("cpu").type == "cpu"
    with pytest.raises(ValueError, match="'tpu'"):
        pick_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="cuda"):
            pick_device("cuda")
    module = maybe_channels_last(torch.nn.Conv2d(3, 4, 3), torch.device("cpu"))
    with autocast(torch.device("cpu")):
        out = module(torch.zeros(1, 3, 8, 8))
    assert out.dtype == torch.float32  # no bf16 autocast on cpu
