"""The GAN's label classifier: its losses, DiffAugment translation, edit labels, the
label-consistency loss in training, validation selection and resume, at toy sizes."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from roadgym.perception.gan.auxiliary import LabelClassifier, label_loss, translate
from roadgym.perception.gan.checkpoint import read_gan_checkpoint
from roadgym.perception.gan.config import GanConfig
from roadgym.perception.gan.losses import edit_labels
from roadgym.perception.gan.train import BEST_NAME, CHECKPOINT_NAME, train_gan
from tests.perception.test_gan_train import TOY, toy_frames

AUX = dataclasses.replace(
    TOY, aux_weight=1.0, aux_channels=4, aux_pretrain_steps=30, aux_tasks=("light_state",)
)


def test_translate_shifts_each_image_and_fills_with_zero():
    images = torch.arange(2 * 1 * 4 * 4, dtype=torch.float32).view(2, 1, 4, 4) + 1
    out = translate(images, 1, torch.Generator().manual_seed(0))
    assert out.shape == images.shape
    for b in range(2):  # each output is its input moved by at most one pixel, zeros elsewhere
        found = False
        for dy in (-1, 0, 1):
            for dx in (-1, 0, 1):
                moved = torch.zeros(4, 4)
                src = images[b, 0, max(0, -dy) : 4 - max(0, dy), max(0, -dx) : 4 - max(0, dx)]
                moved[max(0, dy) : 4 - max(0, -dy), max(0, dx) : 4 - max(0, -dx)] = src
                found |= torch.equal(out[b, 0], moved)
        assert found
    assert translate(images, 0, torch.Generator()) is images


def test_edit_labels_change_every_light_but_keep_class_zero():
    labels = torch.tensor([[0, 1], [1, 0], [2, 1], [3, 0]] * 8)
    edited = edit_labels(labels, 0, 4, torch.Generator().manual_seed(0))
    assert torch.equal(edited[:, 1], labels[:, 1])  # other tasks untouched
    assert (edited[labels[:, 0] == 0, 0] == 0).all()
    moved = labels[:, 0] > 0
    assert (edited[moved, 0] != labels[moved, 0]).all() and (edited[moved, 0] >= 1).all()


def test_label_loss_is_the_mean_over_the_chosen_tasks():
    classifier = LabelClassifier([3, 2], 16, channels=2)
    images, labels = torch.zeros(4, 3, 16, 16), torch.tensor([[0, 1], [1, 0], [2, 1], [0, 0]])
    logits = classifier(images)
    both = label_loss(logits, labels, [0, 1])
    first = torch.nn.functional.cross_entropy(logits[0], labels[:, 0])
    second = torch.nn.functional.cross_entropy(logits[1], labels[:, 1])
    assert torch.allclose(both, (first + second) / 2)
    assert torch.allclose(label_loss(logits, labels, [0]), first)


def _agreement(classifier: LabelClassifier, generator, labels: np.ndarray) -> float:
    from roadgym.perception.gan.score import generate_frames

    frames = torch.from_numpy(generate_frames(generator, labels, seed=5))
    with torch.no_grad():
        logits = classifier(frames.permute(0, 3, 1, 2).float() / 127.5 - 1.0)[0]
    return float((logits.argmax(dim=1).numpy() == labels[:, 0]).mean())


def test_label_consistency_loss_steers_the_generator_towards_the_classifier(tmp_path):
    data = toy_frames()
    config = dataclasses.replace(AUX, steps=40, adv_weight=1e-6, aux_pretrain_steps=100)
    config = dataclasses.replace(config, g_channels=8, aux_channels=8, lr_g=1e-3)
    config = dataclasses.replace(config, checkpoint_every=1000)  # one checkpoint, at the end
    guided = train_gan(data, config, tmp_path / "guided")
    plain = train_gan(data, dataclasses.replace(config, aux_weight=0.0, aux_tasks=None))
    saved = read_gan_checkpoint(tmp_path / "guided" / CHECKPOINT_NAME)
    classifier = LabelClassifier([3, 2], 16, channels=8)
    classifier.load_state_dict(saved["classifier"])
    classifier.eval()
    real = torch.from_numpy(data.frames).permute(0, 3, 1, 2).float() / 127.5 - 1.0
    with torch.no_grad():  # the frozen classifier learnt the toy lights from real frames
        assert (classifier(real)[0].argmax(dim=1).numpy() == data.labels[:, 0]).mean() >= 0.9
    labels = np.stack([np.arange(60) % 3, np.arange(60) % 2], axis=1)
    # The loss makes generated frames read as their label by *this* classifier. With
    # next to no discriminator it does so with frames that are not lights at all, which
    # is why scores use an independent judge and training keeps the adversarial term.
    assert _agreement(classifier, guided.generator, labels) >= 0.9
    assert _agreement(classifier, plain.generator, labels) < 0.6


def test_selection_keeps_the_best_validation_checkpoint_and_resume_keeps_the_classifier(
    tmp_path,
):
    # Palette input, edit loss and DiffAugment on: every new path of a step runs here.
    config = dataclasses.replace(AUX, select_every=2, select_frames=24, diffaug_shift=1)
    config = dataclasses.replace(config, aux_input="palette", recon_weight=1.0)
    config = dataclasses.replace(config, aux_edit_weight=1.0, encoder_channels=4)
    val = toy_frames(seed=1)
    whole = train_gan(toy_frames(), config, tmp_path / "whole", val=val)
    scores = whole.history["selection"]
    assert [s["step"] for s in scores] == [2, 4]
    best = min(scores, key=lambda s: s["fd"])
    assert whole.history["best"] == best
    assert read_gan_checkpoint(tmp_path / "whole" / BEST_NAME)["step"] == best["step"]
    train_gan(toy_frames(), dataclasses.replace(config, steps=2), tmp_path / "split", val=val)
    resumed = train_gan(toy_frames(), config, tmp_path / "split", resume=True, val=val)
    a = read_gan_checkpoint(tmp_path / "whole" / CHECKPOINT_NAME)
    b = read_gan_checkpoint(tmp_path / "split" / CHECKPOINT_NAME)
    for key in ("generator", "classifier"):
        assert all(torch.equal(a[key][k], b[key][k]) for k in a[key]), key
    assert resumed.history["selection"] == scores


def test_bad_auxiliary_settings_name_the_field():
    with pytest.raises(ValueError, match="aux_tasks"):
        GanConfig(aux_tasks=("weather",))
    with pytest.raises(ValueError, match="aux_edit_weight"):
        GanConfig(aux_edit_weight=0.5, recon_weight=0.0)
    with pytest.raises(ValueError, match="aux_input"):
        GanConfig(aux_input="palette", output="rgb")
    with pytest.raises(ValueError, match="diffaug_shift"):
        GanConfig(diffaug_shift=-1)
    with pytest.raises(ValueError, match="select_every"):
        train_gan(toy_frames(), dataclasses.replace(TOY, select_every=2))
