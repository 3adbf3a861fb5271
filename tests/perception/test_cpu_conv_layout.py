"""No CPU convolution sees channels_last input (issue 23).

torch's bundled oneDNN (3.12, torch 2.13 / 2.14) crashes the process in its AVX2 weight
gradient of a 1x1 stride-2 convolution (a ResNet shortcut) when the input is
channels_last in memory, which is what ``permute(0, 3, 1, 2)`` of HWC frames gives. The
check runs in a subprocess with one thread (where the crash showed on every try), so a
crash fails this test instead of killing the suite, and a forward pre-hook on every conv
records any input that is not plain NCHW, so the test also fails on CPUs (AVX-512) where
the bad layout would not crash.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("torch")

SCRIPT = textwrap.dedent(
    """
    import numpy as np
    import torch
    from gymnasium import spaces
    from torch import nn

    from roadgym.agents.imitation.student import StudentExtractor
    from roadgym.perception.encoders import ENCODERS, build_encoder
    from roadgym.perception.extractor import RoadgymEncoderExtractor
    from roadgym.perception.gan.auxiliary import LabelClassifier
    from roadgym.perception.gan.models import Discriminator, LatentEncoder

    torch.manual_seed(0)
    bad = []

    def check_layout(module, inputs):
        x = inputs[0]
        if x.dim() == 4 and not x.is_contiguous():
            bad.append(f"{type(module).__name__} input strides {x.stride()}")

    def watch(module):
        for layer in module.modules():
            if isinstance(layer, nn.Conv2d):
                layer.register_forward_pre_hook(check_layout)
        return module

    def backward(name, output):
        output.float().pow(2).mean().backward()
        print("ok", name, flush=True)

    frames = torch.randint(0, 256, (16, 64, 64, 3), dtype=torch.uint8)  # env frames (B,H,W,C)
    # What SB3's VecTransposeImage hands over: a transposed view, channels_last in memory.
    transposed = torch.from_numpy(np.transpose(frames.numpy(), (0, 3, 1, 2))).float() / 255.0
    options = {"resnet": {"channels": (4, 8), "blocks_per_stage": 1}}  # 1x1 stride-2 shortcut
    for name in ENCODERS:
        encoder = watch(build_encoder(name, (64, 64, 3), **options.get(name, {})))
        backward(f"{name} uint8", encoder(frames))
        backward(f"{name} float", encoder(transposed))

    box = spaces.Box(0, 255, (3, 64, 64), np.uint8)
    extractor = watch(RoadgymEncoderExtractor(box, "resnet", options["resnet"]))
    backward("sb3 extractor", extractor(transposed))

    rgb = spaces.Dict({"rgb": box, "nav": spaces.Box(-1, 1, (4,), np.float32)})
    student = watch(StudentExtractor(rgb, "resnet", options["resnet"]))
    backward("student", student({"rgb": transposed, "nav": torch.zeros(16, 4)}))

    images = transposed * 2.0 - 1.0  # the GAN's [-1, 1] images, same layout
    labels = torch.zeros(16, 2, dtype=torch.long)
    backward("gan discriminator", watch(Discriminator((3, 4), 64, 8))(images, labels))
    backward("gan latent encoder", watch(LatentEncoder(64, 8, 8))(images)[0])
    backward("gan label classifier", watch(LabelClassifier((3, 4), 64, 4))(images)[0])
    if bad:
        raise SystemExit("channels_last input reached a CPU conv: " + "; ".join(bad))
    print("all ok", flush=True)
    """
)


def test_cpu_training_path_feeds_convolutions_nchw_in_one_thread() -> None:
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=240
    )
    assert result.returncode == 0, (
        f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr[-3000:]}"
    )
    assert "all ok" in result.stdout
