"""GAN training at toy sizes: checkpoints, exact resume, determinism, budgets, TensorBoard."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from roadgym.perception.gan import train as gan_train
from roadgym.perception.gan.checkpoint import load_generator, read_gan_checkpoint
from roadgym.perception.gan.config import GanConfig
from roadgym.perception.gan.data import LabelledFrames
from roadgym.perception.gan.train import CHECKPOINT_NAME, train_gan

TOY = GanConfig(
    tasks=("light_state", "road_layout"),
    z_dim=8,
    embed_dim=4,
    g_channels=4,
    d_channels=4,
    batch_size=8,
    steps=4,
    checkpoint_every=2,
    sample_every=2,
    log_every=1,
    show_progress=False,
    tensorboard=False,
    device="cpu",
)


def toy_frames(n: int = 48, size: int = 16, seed: int = 0) -> LabelledFrames:
    """Palette frames: a bar whose colour is the light and whose column is the layout."""
    rng = np.random.default_rng(seed)
    light, layout = rng.integers(0, 3, n), rng.integers(0, 2, n)
    frames = np.zeros((n, size, size, 3), np.uint8)
    frames[..., 1] = 90  # grass
    colours = np.array([[255, 0, 0], [255, 160, 0], [0, 255, 0]], np.uint8)
    for i in range(n):
        column = 2 if layout[i] == 0 else 10
        frames[i, 2:6, column : column + 4] = colours[light[i]]
    names = {"light_state": ("red", "yellow", "green"), "road_layout": ("left", "right")}
    return LabelledFrames(frames, np.stack([light, layout], 1), TOY.tasks, names)


def _weights(module: torch.nn.Module) -> list[torch.Tensor]:
    return [t.detach().clone() for t in module.state_dict().values()]


def _same(a: list[torch.Tensor], b: list[torch.Tensor]) -> bool:
    return len(a) == len(b) and all(torch.equal(x, y) for x, y in zip(a, b, strict=True))


def test_training_writes_a_checkpoint_that_loads_back(tmp_path):
    result = train_gan(toy_frames(), TOY, tmp_path)
    assert result.steps == 4 and result.checkpoint_path == tmp_path / CHECKPOINT_NAME
    saved = read_gan_checkpoint(result.checkpoint_path)
    assert saved["step"] == 4 and saved["tasks"] == list(TOY.tasks)
    assert len(saved["palette"]) == 4  # grass and three light colours
    generator, meta = load_generator(result.checkpoint_path)
    z, y = torch.randn(3, 8), torch.tensor([[0, 0], [1, 1], [2, 0]])
    with torch.no_grad():
        assert torch.equal(generator(z, y), result.generator(z, y))
    assert meta["class_names"]["light_state"] == ["red", "yellow", "green"]
    assert not list(tmp_path.glob(".*tmp-*"))  # atomic writes leave no temporary files


def test_same_seed_same_generator_other_seed_other(tmp_path):
    first = _weights(train_gan(toy_frames(), TOY, tmp_path / "a").generator)
    again = _weights(train_gan(toy_frames(), TOY, tmp_path / "b").generator)
    other = train_gan(toy_frames(), dataclasses.replace(TOY, seed=1), tmp_path / "c")
    assert _same(first, again)
    assert not _same(first, _weights(other.generator))


def test_resume_continues_exactly(tmp_path):
    whole = train_gan(toy_frames(), TOY, tmp_path / "whole")
    train_gan(toy_frames(), dataclasses.replace(TOY, steps=2), tmp_path / "split")
    resumed = train_gan(toy_frames(), TOY, tmp_path / "split", resume=True)
    assert resumed.steps == 4
    for key in ("generator", "generator_ema", "discriminator"):
        a = read_gan_checkpoint(tmp_path / "whole" / CHECKPOINT_NAME)[key]
        b = read_gan_checkpoint(tmp_path / "split" / CHECKPOINT_NAME)[key]
        assert all(torch.equal(a[k], b[k]) for k in a), key
    assert _same(_weights(whole.generator), _weights(resumed.generator))


def test_resume_refuses_another_architecture(tmp_path):
    train_gan(toy_frames(), dataclasses.replace(TOY, steps=2), tmp_path)
    with pytest.raises(ValueError, match="g_channels"):
        train_gan(toy_frames(), dataclasses.replace(TOY, g_channels=8), tmp_path, resume=True)


def test_cpu_budget_stops_early_and_says_so(tmp_path):
    config = dataclasses.replace(TOY, steps=1000, cpu_time_budget_s=1e-6)
    result = train_gan(toy_frames(), config, tmp_path)
    assert result.steps == 1
    assert result.history["stopped_by_time_budget"] is True
    assert read_gan_checkpoint(tmp_path / CHECKPOINT_NAME)["step"] == 1


def test_ctrl_c_keeps_a_checkpoint(tmp_path, monkeypatch):
    calls = []
    real_update = gan_train.ema_update

    def interrupt_on_third(ema, model, decay):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        real_update(ema, model, decay)

    monkeypatch.setattr(gan_train, "ema_update", interrupt_on_third)
    with pytest.raises(KeyboardInterrupt):
        train_gan(toy_frames(), dataclasses.replace(TOY, checkpoint_every=100), tmp_path)
    assert read_gan_checkpoint(tmp_path / CHECKPOINT_NAME)["step"] == 2


def test_tensorboard_gets_losses_and_sample_grids(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    train_gan(toy_frames(), dataclasses.replace(TOY, tensorboard=True), tmp_path)
    events = EventAccumulator(str(tmp_path / "tensorboard"))
    events.Reload()
    scalars = set(events.Tags()["scalars"])
    assert {"loss/discriminator", "loss/generator", "score/real", "score/fake"} <= scalars
    assert "samples/ema" in events.Tags()["images"]


def test_tasks_must_match_the_data(tmp_path):
    with pytest.raises(ValueError, match="tasks"):
        train_gan(toy_frames(), dataclasses.replace(TOY, tasks=("light_state",)), tmp_path)


def test_model_scale_trains_at_half_size_and_paints_full_frames(tmp_path):
    config = dataclasses.replace(TOY, model_scale=2, steps=2)
    result = train_gan(toy_frames(), config, tmp_path)
    z, y = torch.randn(2, 8), torch.tensor([[0, 0], [2, 1]])
    with torch.no_grad():
        frames = result.generator(z, y, mode="hard")
        native = result.generator(z, y, mode="hard", native=True)
    assert frames.shape == (2, 3, 16, 16) and native.shape == (2, 3, 8, 8)
    assert torch.equal(frames[:, :, ::2, ::2], native)  # each pixel repeated 2x2
    generator, _ = load_generator(tmp_path / CHECKPOINT_NAME)
    with torch.no_grad():
        assert torch.equal(generator(z, y, mode="hard"), frames)
    with pytest.raises(ValueError, match="model_scale"):
        train_gan(toy_frames(), dataclasses.replace(TOY, model_scale=3), tmp_path / "bad")


def test_vae_term_trains_an_encoder_that_edits_use(tmp_path):
    from roadgym.perception.gan.edit import edit_frames, find_latents

    config = dataclasses.replace(TOY, recon_weight=1.0, encoder_channels=4, steps=30)
    config = dataclasses.replace(config, adv_weight=0.0, tensorboard=True, log_every=1)
    data = toy_frames()
    result = train_gan(data, config, tmp_path)
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(tmp_path / "tensorboard"))
    events.Reload()
    losses = [s.value for s in events.Scalars("loss/reconstruction")]
    assert np.mean(losses[-5:]) < np.mean(losses[:5])  # the reconstruction improves
    generator, _ = load_generator(tmp_path / CHECKPOINT_NAME)
    assert generator.encoder is not None
    z, mse = find_latents(generator, data.frames[:3], data.labels[:3], steps=0)
    assert z.shape == (3, 8) and mse.shape == (3,)
    edit = edit_frames(generator, data.frames[:3], data.labels[:3], 0, np.array([1, 1, 1]), steps=0)
    assert edit.edits.shape == data.frames[:3].shape
    assert result.generator.encoder is not None
