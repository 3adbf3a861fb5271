"""RLlib backend, local mode: the env creator, the RLModule on uint8 frames, the metrics
callback, and a tiny train -> checkpoint -> evaluate -> resume round trip.

Runs in the RLlib venv that ``.ci/run`` builds (Ray pins its own gymnasium); skipped
where Ray is not installed, so the main suite never imports it.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("ray.rllib")

import gymnasium as gym  # noqa: E402
import torch  # noqa: E402
from gymnasium import spaces  # noqa: E402
from ray.rllib.core.columns import Columns  # noqa: E402
from ray.rllib.env.single_agent_env_runner import SingleAgentEnvRunner  # noqa: E402
from ray.tune.registry import ENV_CREATOR, _global_registry  # noqa: E402

from roadgym.agents.hyperparams import resolve_settings  # noqa: E402
from roadgym.agents.rllib.callbacks import DrivingMetricsCallback  # noqa: E402
from roadgym.agents.rllib.config import build_ppo_config  # noqa: E402
from roadgym.agents.rllib.envs import make_rllib_env, register_rllib_envs  # noqa: E402
from roadgym.agents.rllib.module import RoadgymPPOModule  # noqa: E402
from roadgym.envs import ENV_IDS, TrackVectorEnv  # noqa: E402
from roadgym.perception.checkpoint import build_classifier, save_classifier  # noqa: E402

SHORT = {"max_episode_steps": 30, "action_type": "discrete"}
SMALL_ENCODER = {"features_dim": 32, "channels": [8, 16, 16]}


def tiny_settings(**extra):
    overrides = {
        "n_timesteps": 256,
        "n_envs": 4,
        "n_steps": 32,
        "batch_size": 64,
        "n_epochs": 1,
        "env_kwargs": dict(SHORT),
        "encoder_options": SMALL_ENCODER,
        **extra,
    }
    return resolve_settings("ppo", "roadgym/Track-v0", overrides=overrides)


def test_every_roadgym_id_is_in_rllibs_registry():
    assert register_rllib_envs() == ENV_IDS
    for env_id in ENV_IDS:
        assert _global_registry.contains(ENV_CREATOR, env_id)


def test_creator_returns_the_native_vector_env_when_asked_for_num_envs():
    env = make_rllib_env("roadgym/Track-v0", {"num_envs": 3, **SHORT})
    assert isinstance(env.unwrapped, TrackVectorEnv) and env.num_envs == 3
    observations, _ = env.reset(seed=5)
    assert observations.dtype == np.uint8 and observations.shape == (3, 64, 64, 3)
    # Seed spreading: runner seed 5 with 3 worlds plays seeds 15, 16, 17.
    direct = gym.make_vec("roadgym/Track-v0", num_envs=3, vectorization_mode="vector_entry_point")
    expected, _ = direct.reset(seed=15)
    np.testing.assert_array_equal(observations, expected)
    _, rewards, _, _, infos = env.step(np.zeros(3, dtype=np.int64))
    np.testing.assert_array_equal(infos["raw_reward"], rewards)
    single = make_rllib_env("roadgym/Track-v0", dict(SHORT))
    assert single.observation_space.shape == (64, 64, 3)


def test_creator_normalises_rewards_and_keeps_the_raw_ones():
    env = make_rllib_env(
        "roadgym/Track-v0", {"num_envs": 2, "rllib_normalize_reward": 0.99, **SHORT}
    )
    env.reset(seed=0)
    for _ in range(5):
        _, rewards, _, _, infos = env.step(np.full(2, 4, dtype=np.int64))
    assert not np.allclose(rewards, infos["raw_reward"])
    with pytest.raises(ValueError, match="rllib_normalize_reward"):
        make_rllib_env("roadgym/Track-v0", {"num_envs": 2, "rllib_normalize_reward": 2.0})


def test_env_runner_steps_one_batched_world_and_logs_driving_metrics():
    config = build_ppo_config(tiny_settings(), num_env_runners=0, envs_per_runner=4)
    runner = SingleAgentEnvRunner(config=config)
    try:
        assert isinstance(runner.env.unwrapped, TrackVectorEnv)
        assert runner.env.unwrapped.num_envs == 4
        episodes = runner.sample(num_episodes=4, random_actions=True)
        assert len(episodes) == 4
        driving = runner.get_metrics()["driving"]
        for name in ("progress", "lap_completed", "off_road", "return", "length"):
            assert name in driving
        # Episodes are at most 30 steps (max_episode_steps) and the mean is over them.
        assert 0 < float(driving["length"]) <= 30
    finally:
        runner.stop()


def test_module_takes_uint8_hwc_frames():
    module = RoadgymPPOModule(
        observation_space=spaces.Box(0, 255, (64, 64, 3), np.uint8),
        action_space=spaces.Discrete(9),
        model_config={"encoder": "nature", "encoder_options": SMALL_ENCODER},
    )
    frames = torch.randint(0, 256, (5, 64, 64, 3), dtype=torch.uint8)
    out = module.forward_inference({Columns.OBS: frames})
    assert out[Columns.ACTION_DIST_INPUTS].shape == (5, 9)
    train_out = module.forward_train({Columns.OBS: frames})
    values = module.compute_values({Columns.OBS: frames}, train_out[Columns.EMBEDDINGS])
    assert values.shape == (5,)
    # The encoder scales inside: the same frames as float CHW / 255 give the same values.
    floats = frames.permute(0, 3, 1, 2).float() / 255.0
    expected = module.vf(module.encoder(floats)).squeeze(-1)
    torch.testing.assert_close(values, expected)


def test_module_box_actions_get_a_mean_and_log_std():
    module = RoadgymPPOModule(
        observation_space=spaces.Box(0, 255, (64, 64, 3), np.uint8),
        action_space=spaces.Box(-1.0, 1.0, (2,), np.float32),
        model_config={"encoder_options": SMALL_ENCODER},
    )
    out = module.forward_inference({Columns.OBS: torch.zeros(2, 64, 64, 3, dtype=torch.uint8)})
    assert out[Columns.ACTION_DIST_INPUTS].shape == (2, 4)


def test_module_loads_a_perception_checkpoint_frozen(tmp_path):
    classifier = build_classifier("nature", (64, 64, 3), 3, **SMALL_ENCODER)
    path = save_classifier(tmp_path / "enc.pt", classifier, class_names=["a", "b", "c"], task="t")
    kwargs = dict(
        observation_space=spaces.Box(0, 255, (64, 64, 3), np.uint8),
        action_space=spaces.Discrete(9),
        model_config={
            "encoder": "nature",
            "encoder_options": SMALL_ENCODER,
            "pretrained": str(path),
            "freeze": True,
        },
    )
    learner_module = RoadgymPPOModule(**kwargs)
    for name, tensor in classifier.encoder.state_dict().items():
        torch.testing.assert_close(learner_module.encoder.state_dict()[name], tensor)
    assert not any(p.requires_grad for p in learner_module.encoder.parameters())
    assert all(p.requires_grad for p in learner_module.pi.parameters())
    learner_module.train()
    assert not learner_module.encoder.training  # frozen stays in eval mode
    # Env runners (inference_only) do not read the file: the learner's weights reach them.
    runner_module = RoadgymPPOModule(inference_only=True, **kwargs)
    weight = "trunk.0.weight"
    assert not torch.equal(
        runner_module.encoder.state_dict()[weight], classifier.encoder.state_dict()[weight]
    )


def test_callback_writes_tensorboard(tmp_path):
    callback = type("CB", (DrivingMetricsCallback,), {"tb_dir": str(tmp_path)})()
    result = {
        "env_runners": {
            "num_env_steps_sampled_lifetime": 640,
            "num_env_steps_sampled": 320,
            "driving": {"lap_completed": 0.25, "progress": 0.5},
            "episode_return_mean": 3.0,
        },
        "learners": {"default_policy": {"vf_loss": 1.5}},
        "time_this_iter_s": 2.0,
    }
    callback.on_train_result(algorithm=None, result=result)
    callback.on_algorithm_end()
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(tmp_path))
    events.Reload()
    (lap,) = events.Scalars("driving/lap_completed")
    assert (lap.step, lap.value) == (640, 0.25)
    assert events.Scalars("time/fps")[0].value == pytest.approx(160.0)
    assert events.Scalars("train/vf_loss")[0].value == pytest.approx(1.5)


def test_bad_settings_name_the_key():
    from roadgym.agents.hyperparams import HyperparamError

    with pytest.raises(HyperparamError, match="target_kl"):
        build_ppo_config(tiny_settings(target_kl=0.01))
    with pytest.raises(HyperparamError, match="below 1000000"):
        settings = resolve_settings("ppo", "roadgym/Track-v0", seed=300_000)
        build_ppo_config(settings, num_env_runners=2, envs_per_runner=4)
    with pytest.raises(HyperparamError, match="batch_size"):
        build_ppo_config(tiny_settings(batch_size=4096), envs_per_runner=2)


def test_keys_the_entry_leaves_out_take_sb3s_own_defaults(monkeypatch):
    import roadgym.agents.algo_defaults as algo_defaults

    # ppo.yml's Track entry leaves vf_coef and max_grad_norm out: SB3 2.x has 0.5 for both.
    ppo = build_ppo_config(tiny_settings())
    assert ppo.vf_loss_coeff == 0.5 and ppo.grad_clip == 0.5

    class NewerPPO:  # an SB3 release with other defaults
        def __init__(
            self,
            policy,
            env,
            learning_rate=3e-4,
            n_steps=2048,
            batch_size=64,
            n_epochs=10,
            gamma=0.99,
            gae_lambda=0.95,
            clip_range=0.2,
            ent_coef=0.0,
            vf_coef=0.25,
            max_grad_norm=1.0,
        ):
            pass

    monkeypatch.setattr(algo_defaults, "algo_class", lambda algo: NewerPPO)
    ppo = build_ppo_config(tiny_settings())
    assert ppo.vf_loss_coeff == 0.25 and ppo.grad_clip == 1.0
