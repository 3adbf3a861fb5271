"""PPO from a random student-shaped policy, with a pretrained encoder frozen or not."""

from __future__ import annotations

import torch
from stable_baselines3 import PPO

from roadgym.agents.hyperparams import resolve_settings
from roadgym.agents.run_config import RunConfig
from roadgym.agents.training import train
from roadgym.perception.checkpoint import build_classifier, save_classifier
from tests.experiment_scripts import load_experiment

_init_policy = load_experiment("pretraining/init_policy.py")
STUDENT_ENV_KWARGS, save_random_student = (
    _init_policy.STUDENT_ENV_KWARGS,
    _init_policy.save_random_student,
)

TOWN = "roadgym/Town-v0"


def _settings(**extra):
    overrides = {
        "n_timesteps": 192,  # rollouts of 64: the update after the first one counts
        "n_envs": 2,
        "n_steps": 32,
        "batch_size": 32,
        "n_epochs": 1,
        "env_kwargs": {**STUDENT_ENV_KWARGS, "max_episode_steps": 40},
        "eval_freq": 0,
        "checkpoint_freq": 0,
        "video_freq": 0,
        **extra,
    }
    return resolve_settings("ppo", TOWN, overrides=overrides)


def _encoder_state(path):
    return PPO.load(path, device="cpu").policy.features_extractor.encoder.state_dict()


def test_random_student_has_sb3_defaults_and_the_student_shape(tmp_path):
    path = save_random_student(tmp_path / "init" / "scratch.zip", seed=3)
    model = PPO.load(path, device="cpu")
    assert torch.all(model.policy.log_std == 0.0)  # action std 1, as PPO from scratch
    assert model.policy.features_extractor.encoder.features_dim == 256
    assert (tmp_path / "init" / "config.yaml").is_file()
    again = save_random_student(tmp_path / "again" / "scratch.zip", seed=3)
    torch.testing.assert_close(model.policy.state_dict(), PPO.load(again).policy.state_dict())


def test_pretrained_encoder_frozen_survives_training_in_chunks(tmp_path):
    init = save_random_student(tmp_path / "init" / "scratch.zip", seed=0)
    encoder = PPO.load(init, device="cpu").policy.features_extractor.encoder
    classifier = build_classifier("nature", (64, 64, 3), 3, features_dim=256, channels=(16, 32, 32))
    classifier.encoder.set_normalization([0.4, 0.5, 0.6], [0.2, 0.2, 0.2])
    checkpoint = save_classifier(
        tmp_path / "enc.pt", classifier, class_names=["a", "b", "c"], task="road_layout"
    )
    wanted = classifier.encoder.state_dict()
    assert not torch.equal(encoder.state_dict()["head.0.weight"], wanted["head.0.weight"])
    settings = _settings(pretrained=str(checkpoint), freeze=True)
    run = tmp_path / "frozen"
    start = RunConfig(settings, init_from=str(init))
    first = train(start, run_dir=run, stop_at=96, progress_bar=False)
    assert first.num_timesteps == 96
    second = train(settings, run_dir=run, resume=run / "model.zip", progress_bar=False)
    assert second.num_timesteps == 192
    torch.testing.assert_close(_encoder_state(run / "model.zip"), wanted)  # never trained

    tuned = tmp_path / "tuned"
    start = RunConfig(_settings(pretrained=str(checkpoint)), init_from=str(init))
    train(start, run_dir=tuned, progress_bar=False)
    state = _encoder_state(tuned / "model.zip")
    torch.testing.assert_close(state["mean"], wanted["mean"])  # loaded, statistics kept
    assert not torch.equal(state["head.0.weight"], wanted["head.0.weight"])  # then trained
