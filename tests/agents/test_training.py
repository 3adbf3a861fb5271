"""Tiny-budget PPO and DQN runs: run directory, TensorBoard metrics, save/load, resume."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from roadgym.agents.curves import export_learning_curve, read_scalars
from roadgym.agents.hyperparams import resolve_settings
from roadgym.agents.loading import detect_algo, load_agent
from roadgym.agents.training import build_policy_kwargs, default_run_dir, train


def test_default_run_dir():
    assert str(default_run_dir("ppo", "roadgym/Track-v0", 3)) == "runs/ppo-Track-v0-s3"


@pytest.mark.parametrize("algo", ["ppo", "dqn"])
def test_tiny_run_writes_models_config_and_metrics(algo, tiny_settings, tmp_path):
    settings = tiny_settings(algo)
    result = train(settings, run_dir=tmp_path / "run", progress_bar=False, torch_threads=1)
    run = tmp_path / "run"
    assert result.num_timesteps >= settings.n_timesteps
    for name in ("model.zip", "best_model.zip", "config.yaml"):
        assert (run / name).is_file(), name
    assert sorted(p.name for p in (run / "checkpoints").glob("*.zip"))
    assert not list(run.rglob(".*tmp-*"))  # atomic writes leave no temporary files
    config = yaml.safe_load((run / "config.yaml").read_text())
    assert config["algo"] == algo and config["env_id"] == "roadgym/Track-v0"
    # config.yaml is a valid --config file that reproduces the settings.
    again = resolve_settings(algo, "roadgym/Track-v0", config_path=run / "config.yaml")
    assert again == settings

    scalars = read_scalars(run / "tb")
    assert {"driving/progress", "driving/off_road", "driving/mean_speed_mps"} <= set(scalars)
    assert {"eval/progress", "eval/lap_completed", "eval/return"} <= set(scalars)
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    accumulator = EventAccumulator(str(run / "tb"), size_guidance={"images": 0})
    accumulator.Reload()
    assert any(tag.startswith("eval/") for tag in accumulator.Tags()["images"])  # the video
    png = export_learning_curve(run / "tb", tmp_path / "curve.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("algo", ["ppo", "dqn"])
def test_save_load_round_trip_gives_same_actions(algo, tiny_settings, tmp_path):
    settings = tiny_settings(algo, n_timesteps=64, eval_freq=0, checkpoint_freq=0, video_freq=0)
    train(settings, run_dir=tmp_path, progress_bar=False)
    agent = load_agent(tmp_path / "model.zip")
    assert agent.algo == algo == detect_algo(tmp_path / "model.zip")
    assert agent.env_kwargs["action_type"] == "discrete" and agent.frame_stack == 1
    import gymnasium as gym

    env = gym.make("roadgym/Track-v0", **agent.env_kwargs)  # the yml's frame_stack too
    frames = np.stack([env.reset(seed=s)[0] for s in range(4)])
    from roadgym.agents.hyperparams import algo_class

    reloaded = algo_class(algo).load(tmp_path / "model.zip")
    first, _ = agent.model.predict(frames, deterministic=True)
    second, _ = reloaded.predict(frames, deterministic=True)
    np.testing.assert_array_equal(first, second)


def test_resume_continues_to_the_total(tiny_settings, tmp_path):
    settings = tiny_settings("ppo", n_timesteps=64, eval_freq=0, video_freq=0, checkpoint_freq=64)
    train(settings, run_dir=tmp_path, progress_bar=False)
    checkpoint = tmp_path / "checkpoints" / "ppo_64_steps.zip"
    assert checkpoint.is_file()
    longer = tiny_settings("ppo", n_timesteps=128, eval_freq=0, video_freq=0, checkpoint_freq=0)
    result = train(longer, run_dir=tmp_path, resume=checkpoint, progress_bar=False)
    assert result.num_timesteps == 128
    assert load_agent(tmp_path / "model.zip").model.num_timesteps == 128


def test_frame_stack_and_encoder_reach_the_policy(tiny_settings, tmp_path):
    settings = tiny_settings(
        "ppo", n_timesteps=64, frame_stack=2, eval_freq=64, video_freq=0, checkpoint_freq=0
    )
    kwargs = build_policy_kwargs(settings)
    assert kwargs["features_extractor_kwargs"]["encoder"] == "nature"
    # SB3's VecFrameStack still trains, deprecated in favour of the env's frame_stack.
    with pytest.warns(DeprecationWarning, match="env_kwargs.frame_stack=2"):
        train(settings, run_dir=tmp_path, progress_bar=False)
    agent = load_agent(tmp_path / "best_model.zip")
    assert agent.frame_stack == 2
    assert agent.model.observation_space.shape[0] == 6  # (C, H, W): two RGB frames


def test_missing_resume_file_is_a_clear_error(tiny_settings, tmp_path):
    with pytest.raises(FileNotFoundError, match="no such model file"):
        train(tiny_settings("ppo"), run_dir=tmp_path, resume=tmp_path / "nope.zip")


def test_pretrained_frozen_encoder_keeps_its_weights(tiny_settings, tmp_path):
    import torch

    from roadgym.perception.checkpoint import build_classifier, save_classifier

    classifier = build_classifier("nature", (64, 64, 3), 3, features_dim=32, channels=(8, 16, 16))
    checkpoint = save_classifier(
        tmp_path / "encoder.pt", classifier, class_names=["a", "b", "c"], task="road_layout"
    )
    settings = tiny_settings(
        "ppo", n_timesteps=192, encoder=None, encoder_options=None, pretrained=str(checkpoint),
        freeze=True, eval_freq=0, video_freq=0, checkpoint_freq=0,
    )  # fmt: skip
    train(settings, run_dir=tmp_path / "run", progress_bar=False)
    model = load_agent(tmp_path / "run" / "model.zip").model
    # Three rollouts: the budget stops inside the last one, so two were learnt from; with
    # one rollout PPO never updates and the weights would match even if freezing failed.
    assert model._n_updates > 0  # noqa: SLF001
    extractor = model.policy.features_extractor
    for name, value in classifier.encoder.state_dict().items():
        torch.testing.assert_close(extractor.encoder.state_dict()[name], value)


def test_video_falls_back_to_a_frame_grid_without_pillow(tiny_settings, tmp_path, monkeypatch):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    import roadgym.agents.callbacks as callbacks

    monkeypatch.setattr(callbacks, "pillow_available", lambda: False)
    settings = tiny_settings("ppo", n_timesteps=64, eval_freq=64, video_freq=64, checkpoint_freq=0)
    with pytest.warns(UserWarning, match="image grid"):
        train(settings, run_dir=tmp_path, progress_bar=False)
    accumulator = EventAccumulator(str(tmp_path / "tb"), size_guidance={"images": 0})
    accumulator.Reload()
    assert "eval/frames" in accumulator.Tags()["images"]
    grid = callbacks.frame_grid(np.zeros((5, 8, 8, 3), np.uint8), columns=2, rows=2)
    assert grid.shape == (16, 16, 3)
