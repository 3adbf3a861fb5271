"""Imitation at toy sizes: BC and a DAgger round in seconds, resumable, SB3-loadable."""

from __future__ import annotations

import json

import gymnasium as gym
import numpy as np
import pytest
import torch
import yaml

from roadgym.agents.extensions import CriticWarmup, StudentPull
from roadgym.agents.imitation import BCSettings, ImitationConfig, StudentExtractor, run_imitation
from roadgym.agents.imitation.collect import collect_round
from roadgym.agents.imitation.student import AUX_TASKS, student_forward
from roadgym.agents.loading import load_agent
from roadgym.agents.run_config import RunConfig

TINY = {
    "num_envs": 4,
    "rounds": 1,
    "bc_frames": 96,
    "frames_per_round": 48,
    "selection_episodes": 2,
    "encoder_options": {"features_dim": 16, "channels": [8, 8, 8]},
    "net_arch": (16,),
    "bc": BCSettings(epochs=1, batch_size=32),
    "env_kwargs": {"observation": "rgb+nav", "max_episode_steps": 30},
}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _tiny(**changes) -> ImitationConfig:
    return ImitationConfig(**{**TINY, **changes})


def test_bc_then_one_dagger_round_writes_a_loadable_student(tmp_path):
    result = run_imitation(_tiny(), tmp_path / "run", progress=False, log=lambda *_: None)
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert [r["round"] for r in manifest["rounds"]] == [0, 1]
    assert [r["beta"] for r in manifest["rounds"]] == [1.0, 0.5]
    assert manifest["rounds"][1]["total_frames"] == 96 + 48
    assert 0.15 < manifest["rounds"][1]["driving_while_collecting"]["expert_step_fraction"] < 0.85
    # The student is an ordinary SB3 zip, with its env settings beside it.
    agent = load_agent(result.student_path)
    assert agent.env_id == "roadgym/Town-v0"
    assert agent.env_kwargs["observation"] == "rgb+nav"
    assert isinstance(agent.model.policy.features_extractor, StudentExtractor)
    env = gym.make(agent.env_id, **agent.env_kwargs)
    observation, _ = env.reset(seed=2_000_000)
    action, state = agent.model.predict(observation, deterministic=True)
    assert action.shape == (2,) and state is None
    assert env.action_space.contains(np.clip(action, -1, 1))


def test_rounds_before_selection_from_round_are_not_scored_nor_picked(tmp_path):
    config = _tiny(rounds=1, selection_from_round=1)
    result = run_imitation(config, tmp_path / "run", progress=False, log=lambda *_: None)
    assert result.rounds[0]["selection"] == {}
    assert "driving_score" in result.rounds[1]["selection"]
    assert result.best_round == 1


def test_a_finished_run_resumes_without_redoing_rounds(tmp_path):
    out = tmp_path / "run"
    run_imitation(_tiny(rounds=0), out, progress=False, log=lambda *_: None)
    first = (out / "round_00.npz").stat().st_mtime_ns
    messages = []
    result = run_imitation(_tiny(rounds=0), out, progress=False, log=messages.append)
    assert (out / "round_00.npz").stat().st_mtime_ns == first
    assert any("resuming" in m for m in messages)
    assert result.best_round == 0


def test_more_rounds_extend_a_finished_run(tmp_path):
    out = tmp_path / "run"
    run_imitation(_tiny(rounds=0), out, progress=False, log=lambda *_: None)
    result = run_imitation(_tiny(rounds=1), out, progress=False, log=lambda *_: None)
    assert [r["round"] for r in result.rounds] == [0, 1]
    assert result.rounds[1]["total_frames"] == 96 + 48


def test_another_config_is_refused_in_the_same_dir(tmp_path):
    out = tmp_path / "run"
    run_imitation(_tiny(rounds=0), out, progress=False, log=lambda *_: None)
    with pytest.raises(ValueError, match="another config"):
        run_imitation(_tiny(rounds=0, seed=1), out, progress=False, log=lambda *_: None)


def test_expert_labels_every_frame_and_the_student_drives_when_beta_is_zero():
    envs = gym.make_vec(
        "roadgym/Town-v0",
        num_envs=3,
        vectorization_mode="vector_entry_point",
        autoreset_mode=gym.vector.AutoresetMode.SAME_STEP,
        observation="rgb+nav",
    )
    observations, _ = envs.reset(seed=0)
    calls = []

    def student(obs):
        calls.append(len(obs["rgb"]))
        return np.tile(np.array([0.0, -1.0], np.float32), (len(obs["rgb"]), 1))  # stand still

    data, _, stats = collect_round(
        envs, observations, 30, 0.0, student, np.random.default_rng(0), 0.0, tuple(AUX_TASKS)
    )
    assert len(data) == 30 and len(calls) == 10
    assert stats["expert_step_fraction"] == 0.0
    # The student stands still, so every world stays at rest; the expert still says go.
    assert np.all(data.nav[:, 0] == 0.0)
    assert data.actions[:, 1].mean() > 0.5
    assert set(data.labels) == set(AUX_TASKS)


def test_same_seed_same_student(tmp_path):
    a = run_imitation(_tiny(rounds=0), tmp_path / "a", progress=False, log=lambda *_: None)
    b = run_imitation(_tiny(rounds=0), tmp_path / "b", progress=False, log=lambda *_: None)
    state_a = load_agent(a.student_path).model.policy.state_dict()
    state_b = load_agent(b.student_path).model.policy.state_dict()
    for key in state_a:
        torch.testing.assert_close(state_a[key], state_b[key])


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"env_kwargs": {"observation": "rgb+state"}}, "what a car could"),
        ({"num_envs": 0}, "num_envs"),
        ({"beta": 1.5}, "beta"),
        ({"nav_scale": 0.0}, "nav_scale"),
        ({"selection_from_round": -1}, "selection_from_round"),
    ],
)
def test_bad_config_names_the_field(changes, match):
    with pytest.raises(ValueError, match=match):
        _tiny(**changes)


def _town_settings(**extra):
    from roadgym.agents.hyperparams import resolve_settings
    from tests.agents.conftest import tiny_overrides

    overrides = tiny_overrides("ppo", **extra)
    overrides.pop("encoder_options")
    return resolve_settings("ppo", "roadgym/Town-v0", overrides=overrides)


def test_ppo_starts_from_the_student(tmp_path):
    from roadgym.agents.training import train

    student = run_imitation(_tiny(rounds=0), tmp_path / "student", progress=False).student_path
    # With a zero learning rate and no student pull, PPO's weights stay the student's.
    settings = _town_settings(learning_rate=0.0, eval_freq=0, checkpoint_freq=0)
    run = RunConfig(settings, init_from=str(student))
    result = train(run, run_dir=tmp_path / "ppo", progress_bar=False, torch_threads=1)
    tuned = load_agent(result.model_path)
    assert tuned.env_kwargs["observation"] == "rgb+nav"
    original = load_agent(student).model.policy.state_dict()
    for key, value in tuned.model.policy.state_dict().items():
        torch.testing.assert_close(value, original[key])


def test_the_student_pull_pulls_ppo_back_and_fades(tmp_path):
    from roadgym.agents.curves import read_scalars
    from roadgym.agents.training import train

    student = run_imitation(_tiny(rounds=0), tmp_path / "student", progress=False).student_path
    settings = _town_settings(eval_freq=0, checkpoint_freq=0)
    pull = StudentPull(coef=2.0, decay_steps=96)
    result = train(
        RunConfig(settings, (pull,), init_from=str(student)),
        run_dir=tmp_path / "ppo",
        progress_bar=False,
        torch_threads=1,
    )
    scalars = read_scalars(result.run_dir / "tb")["train/student_pull_weight"]
    weights = [value for _, value in scalars]
    assert weights[0] > 0.0 and weights[-1] == 0.0
    assert all(a >= b for a, b in zip(weights, weights[1:], strict=False))


def test_critic_warmup_trains_the_critic_only_and_a_separate_critic_keeps_the_encoder(tmp_path):
    from roadgym.agents.training import train

    student = run_imitation(_tiny(rounds=0), tmp_path / "student", progress=False).student_path
    settings = _town_settings(
        eval_freq=0, checkpoint_freq=0, policy_kwargs={"share_features_extractor": False}
    )
    warmup = CriticWarmup(steps=10_000)  # longer than the run: the actor never trains
    result = train(
        RunConfig(settings, (warmup,), init_from=str(student)),
        run_dir=tmp_path / "ppo",
        progress_bar=False,
        torch_threads=1,
    )
    policy = load_agent(result.model_path).model.policy
    assert not policy.share_features_extractor
    original = load_agent(student).model.policy.state_dict()
    tuned = policy.state_dict()
    critic = ("value_net.", "mlp_extractor.value_net.", "vf_features_extractor.")
    moved = [key for key in tuned if not torch.equal(tuned[key], original[key])]
    assert moved and all(key.startswith(critic) for key in moved)
    assert any(key.startswith("vf_features_extractor.encoder") for key in moved)


def test_critic_warmup_needs_ppo_and_a_count(tiny_settings, tmp_path):
    from roadgym.agents.training import train

    with pytest.raises(ValueError, match="extensions.critic_warmup needs algo 'ppo'"):
        train(
            RunConfig(tiny_settings("dqn"), (CriticWarmup(steps=10),)),
            run_dir=tmp_path / "dqn",
            progress_bar=False,
        )
    with pytest.raises(ValueError, match="critic_warmup.steps = -5; allowed: an int >= 1"):
        CriticWarmup(steps=-5)
    assert not (tmp_path / "dqn").exists()  # refused before any file is written


def test_init_from_refuses_a_model_that_is_not_a_student(tiny_settings, tmp_path):
    from roadgym.agents.training import train

    plain = train(tiny_settings("ppo"), run_dir=tmp_path / "plain", progress_bar=False)
    with pytest.raises(ValueError, match="not a roadgym student"):
        train(
            RunConfig(_town_settings(), init_from=str(plain.model_path)),
            run_dir=tmp_path / "ppo",
            progress_bar=False,
        )


def test_the_command_passes_the_history_length_to_the_env():
    from roadgym.agents.imitation.cli import config_from_args, imitate_parser

    config = config_from_args(imitate_parser().parse_args(["--frame-stack", "10"]))
    assert dict(config.env_kwargs) == {"observation": "rgb+nav", "frame_stack": 10}
    env = gym.make(config.env_id, **config.env_kwargs)
    observation, _ = env.reset(seed=2_000_000)
    assert observation["nav"].shape == (30,)  # ten steps of speed, turn, distance
    default = config_from_args(imitate_parser().parse_args([]))
    assert dict(default.env_kwargs) == dict(ImitationConfig().env_kwargs)


def test_the_nav_scale_is_applied_and_kept_in_the_saved_student(tmp_path):
    from roadgym.agents.imitation.dagger import build_student

    model = build_student(_tiny(nav_scale=4.0, nav_features=8))
    extractor = model.policy.features_extractor
    assert extractor.nav_scale == 4.0 and extractor.nav[0].out_features == 8
    nav = torch.rand(2, extractor.nav[0].in_features)
    images = torch.zeros(2, 3, 64, 64)
    features = extractor({"rgb": images, "nav": nav})
    torch.testing.assert_close(features[:, -8:], extractor.nav(4.0 * nav))
    model.save(tmp_path / "student.zip")
    loaded = load_agent(tmp_path / "student.zip").model.policy.features_extractor
    assert loaded.nav_scale == 4.0


def test_init_from_the_shipped_student_takes_its_env_settings_from_the_card():
    from roadgym.agents.imitation.finetune import student_env_kwargs
    from roadgym.agents.pretrained import load_pretrained, pretrained_path

    shipped = load_pretrained("town-student")
    assert student_env_kwargs(pretrained_path("town-student")) == shipped.env_kwargs
    assert shipped.env_kwargs["frame_stack"] > 1


@pytest.mark.parametrize(("weight", "sign"), [(1.0, 1.0), (30.0, -1.0)])
def test_the_pedestrian_weight_tips_the_fit_towards_braking_for_pedestrians(weight, sign):
    from roadgym.agents.imitation.bc import BCSettings, fit_student
    from roadgym.agents.imitation.collect import RoundData
    from roadgym.agents.imitation.dagger import build_student

    policy = build_student(_tiny()).policy
    n, pedestrians = 64, 6  # frames that look alike; in 6 of them a pedestrian is ahead
    labels = {task: np.zeros(n, dtype=np.int64) for task in AUX_TASKS}
    labels["object_ahead"][:pedestrians] = 2
    actions = np.tile(np.array([0.0, 1.0], np.float32), (n, 1))
    actions[:pedestrians, 1] = -1.0  # the expert brakes for the pedestrian
    data = RoundData(
        frames=np.zeros((n, 64, 64, 3), np.uint8),
        nav=np.zeros((n, policy.observation_space["nav"].shape[0]), np.float32),
        actions=actions,
        labels=labels,
    )
    settings = BCSettings(
        epochs=40,
        batch_size=64,
        learning_rate=1e-2,
        transition_weight=1.0,
        pedestrian_weight=weight,
    )
    fit_student(policy, data, settings, np.random.default_rng(0))
    mean, _, _ = student_forward(
        policy, torch.from_numpy(data.frames[:1]), torch.from_numpy(data.nav[:1])
    )
    # L1 fits the weighted median: 58 frames of +1 against 6 (x weight) of -1.
    assert float(mean.detach()[0, 1]) * sign > 0.5


def test_the_final_step_averages_fits_and_redoes_only_itself(tmp_path):
    from roadgym.agents.imitation.final import FinalFit, average_weights

    config = _tiny(rounds=2, final=FinalFit(average_rounds=2, samples=64))
    result = run_imitation(config, tmp_path / "run", progress=False, log=lambda *_: None)
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert result.final is not None and manifest["final"]["averaged"] == [1, 2]
    assert set(manifest["final"]["selection"]) >= {"driving_score", "route_completion"}
    final = load_agent(tmp_path / "run" / "student_final.zip").model.policy.state_dict()
    mean = average_weights([tmp_path / "run" / f"student_round_0{r}.zip" for r in (1, 2)])
    assert any(not torch.equal(final[k], mean[k]) for k in mean)  # fitted after averaging
    # A new final step on the finished run: no new round, a new final record.
    data = sorted(p.name for p in (tmp_path / "run").glob("round_*.npz"))
    again = run_imitation(
        _tiny(rounds=2, final=FinalFit(average_rounds=3)),
        tmp_path / "run",
        progress=False,
        log=lambda *_: None,
    )
    assert sorted(p.name for p in (tmp_path / "run").glob("round_*.npz")) == data
    assert again.final["averaged"] == [0, 1, 2] and again.final["losses"] == {}
    final = load_agent(tmp_path / "run" / "student_final.zip").model.policy.state_dict()
    mean = average_weights([tmp_path / "run" / f"student_round_0{r}.zip" for r in (0, 1, 2)])
    assert all(torch.equal(final[k], mean[k]) for k in mean)


def test_final_candidates_each_draw_their_own_batches_and_compete(tmp_path):
    from roadgym.agents.imitation.final import FinalFit

    final = FinalFit(average_rounds=1, samples=64, learning_rate=1e-2, candidates=2)
    result = run_imitation(
        _tiny(final=final), tmp_path / "run", progress=False, log=lambda *_: None
    )
    run = tmp_path / "run"
    manifest = json.loads((run / "manifest.json").read_text())
    finals = manifest["finals"]
    assert [f["round"] for f in finals] == ["final", "final-2"]
    assert [f["student"] for f in finals] == ["student_final.zip", "student_final_2.zip"]
    assert manifest["final"] == finals[0] and all("driving_score" in f["selection"] for f in finals)
    first, second = (load_agent(run / f["student"]).model.policy.state_dict() for f in finals)
    assert any(not torch.equal(first[k], second[k]) for k in first)  # other batches
    # The best on the selection seeds of rounds and candidates (ties: the later one).
    everyone = manifest["rounds"] + finals
    scores = [c["selection"]["driving_score"] for c in everyone]
    best = max(range(len(everyone)), key=lambda i: (scores[i], i))
    assert result.best_round == everyone[best]["round"]
    assert (run / "student.zip").read_bytes() == (run / everyone[best]["student"]).read_bytes()
    with pytest.raises(ValueError, match="FinalFit.candidates"):
        FinalFit(candidates=0)


def test_a_run_older_than_new_settings_still_resumes(tmp_path):
    run_imitation(_tiny(), tmp_path / "run", progress=False, log=lambda *_: None)
    path = tmp_path / "run" / "manifest.json"
    manifest = json.loads(path.read_text())
    del manifest["config"]["bc"]["pedestrian_weight"], manifest["config"]["final"]
    path.write_text(json.dumps(manifest))
    result = run_imitation(_tiny(), tmp_path / "run", progress=False, log=lambda *_: None)
    assert [r["round"] for r in result.rounds] == [0, 1]
    with pytest.raises(ValueError, match="another config"):
        run_imitation(_tiny(seed=1), tmp_path / "run", progress=False, log=lambda *_: None)


def test_bad_final_settings_name_the_field():
    from roadgym.agents.imitation.final import FinalFit

    with pytest.raises(ValueError, match="FinalFit.samples"):
        FinalFit(samples=-1)
    with pytest.raises(ValueError, match="FinalFit.learning_rate"):
        FinalFit(learning_rate=0.0)
    with pytest.raises(ValueError, match="FinalFit.stopping_weight"):
        FinalFit(stopping_weight=-1.0)


def test_the_final_fit_takes_its_own_stopping_weight(monkeypatch):
    """The recipe's stop fit: the final fit alone weighs the stopping frames, the rounds'
    settings otherwise (a final step without one keeps the rounds' weight)."""
    from roadgym.agents.imitation import final as final_module
    from roadgym.agents.imitation.bc import BCSettings

    seen = []
    monkeypatch.setattr(final_module, "fit_student", lambda _p, _d, s, *_a, **_k: seen.append(s))
    model = type("Model", (), {"policy": None})()
    data = [0] * 1000  # only its length is read before the (replaced) fit
    bc = BCSettings(stopping_weight=1.0, pedestrian_weight=3.0)
    for stopping_weight, expected in ((5.0, 5.0), (None, 1.0)):
        settings = final_module.FinalFit(
            average_rounds=1, samples=500, learning_rate=1e-3, stopping_weight=stopping_weight
        )
        final_module.final_student(model, [], data, settings, bc, np.random.default_rng(0))
        assert seen[-1].stopping_weight == expected
        assert seen[-1].pedestrian_weight == 3.0 and seen[-1].max_samples_per_round == 500
        assert seen[-1].learning_rate == 1e-3


def test_action_std_fixes_the_exploration_noise_of_a_fine_tune(tmp_path):
    from roadgym.agents.training import train

    student = run_imitation(_tiny(rounds=0), tmp_path / "student", progress=False).student_path
    result = train(
        RunConfig(
            _town_settings(eval_freq=0, checkpoint_freq=0, action_std=0.05), init_from=str(student)
        ),
        run_dir=tmp_path / "ppo",
        progress_bar=False,
        torch_threads=1,
    )
    tuned = load_agent(result.model_path).model.policy
    original = load_agent(student).model.policy
    torch.testing.assert_close(tuned.log_std, torch.full((2,), float(np.log(0.05))))
    assert not torch.equal(tuned.action_net.weight, original.action_net.weight)  # PPO trained
    # The run's config.yaml reproduces the setting.
    config = yaml.safe_load((result.run_dir / "config.yaml").read_text())
    assert config["roadgym/Town-v0"]["action_std"] == 0.05


@pytest.mark.parametrize(
    ("algo", "value", "message"),
    [
        ("ppo", 0.0, "action_std = 0.0 with algo 'ppo'; allowed: a number > 0 and <= 1"),
        ("ppo", "wide", "action_std = 'wide'"),
        ("dqn", 0.1, "action_std = 0.1 with algo 'dqn'"),
    ],
)
def test_action_std_refuses_bad_values(tiny_settings, algo, value, message):
    from roadgym.agents.hyperparams import HyperparamError

    with pytest.raises(HyperparamError, match=message):
        tiny_settings(algo, action_std=value)


def test_action_std_refuses_discrete_actions_before_writing_the_run(tiny_settings, tmp_path):
    from roadgym.agents.training import train

    settings = tiny_settings("ppo", action_std=0.1, env_kwargs={"action_type": "discrete"})
    with pytest.raises(ValueError, match="action_std = 0.1 needs continuous actions"):
        train(settings, run_dir=tmp_path / "ppo", progress_bar=False)
    assert not (tmp_path / "ppo").exists()


def test_the_aggregate_holds_every_round_in_order_past_its_capacity():
    from roadgym.agents.imitation.collect import AggregatedData, RoundData

    rng = np.random.default_rng(0)

    def part(n):
        return RoundData(
            frames=rng.integers(0, 255, (n, 4, 4, 3), dtype=np.uint8),
            nav=rng.random((n, 6), dtype=np.float32),
            actions=rng.random((n, 2), dtype=np.float32),
            labels={"light_state": rng.integers(0, 4, n)},
        )

    parts = [part(5), part(3), part(7)]
    aggregate = AggregatedData(capacity_frames=6)  # outgrown by the second and third
    for p in parts:
        aggregate.append(p)
    held, expected = aggregate.data(), RoundData.concatenate(parts)
    assert len(aggregate) == 15
    for key, value in expected.arrays().items():
        np.testing.assert_array_equal(held.arrays()[key], value)


def test_stopping_frames_are_the_expert_braking_in_the_last_metres_before_a_stop():
    from roadgym.agents.imitation.bc import stopping_frames
    from roadgym.agents.imitation.collect import RoundData

    speed_mps = np.array([0.0, 0.2, 1.0, 1.0, 1.9, 5.0])
    throttle = np.array([-0.5, -0.5, -0.1, 0.3, -0.8, -0.8], np.float32)
    nav = np.zeros((6, 6), np.float32)  # two stacked steps of (speed, turn, distance)
    nav[:, -3] = speed_mps / 20.0  # the newest speed, as a fraction of Town's top speed
    data = RoundData(
        frames=np.zeros((6, 4, 4, 3), np.uint8),
        nav=nav,
        actions=np.stack([np.zeros(6, np.float32), throttle], axis=1),
        labels={},
    )
    assert stopping_frames(data).tolist() == [False, False, True, False, True, False]


@pytest.mark.parametrize("earlier_channels", [3, 1])
def test_gap_frames_are_the_newest_and_an_earlier_one_in_data_and_in_the_saved_student(
    earlier_channels, tmp_path
):
    from roadgym.agents.imitation.dagger import build_student

    config = _tiny(
        env_kwargs={"observation": "rgb+nav", "max_episode_steps": 60, "frame_stack": 4},
        image_frames=2,
        image_frame_gap=3,
        earlier_frame_channels=earlier_channels,
    )
    envs = gym.make_vec(
        config.env_id, num_envs=2, vectorization_mode="vector_entry_point", **config.env_kwargs
    )
    observations, _ = envs.reset(seed=2_000_000)
    for _ in range(20):  # moving: the stack holds four different frames
        observations, *_ = envs.step(np.tile([0.0, 1.0], (2, 1)).astype(np.float32))
    rgb = observations["rgb"]  # (2, 64, 64, 12): frames t-3, t-2, t-1, t
    data, _, _ = collect_round(
        envs,
        observations,
        2,
        1.0,
        None,
        np.random.default_rng(0),
        0.0,
        tuple(AUX_TASKS),
        2,
        3,
        earlier_channels,
    )
    envs.close()
    # The oldest frame (its red channel alone with 1), then the newest frame.
    expected = np.concatenate([rgb[..., 0:earlier_channels], rgb[..., 9:12]], axis=-1)
    assert not np.array_equal(rgb[..., 0:3], rgb[..., 9:12])
    np.testing.assert_array_equal(data.frames, expected)
    # The student encodes the same two frames from a whole stacked observation.
    model = build_student(config)
    model.save(tmp_path / "student.zip")
    extractor = load_agent(tmp_path / "student.zip").model.policy.features_extractor
    assert extractor.image_frame_gap == 3 and extractor.earlier_frame_channels == earlier_channels
    nav = torch.from_numpy(data.nav)
    whole = extractor({"rgb": torch.from_numpy(rgb).permute(0, 3, 1, 2) / 255.0, "nav": nav})
    kept = extractor({"rgb": torch.from_numpy(expected).permute(0, 3, 1, 2) / 255.0, "nav": nav})
    torch.testing.assert_close(whole, kept, rtol=0, atol=0)


def test_a_frame_gap_longer_than_the_stack_names_the_field():
    with pytest.raises(ValueError, match=r"image_frame_gap = 4; allowed: an int >= 1 with"):
        _tiny(
            env_kwargs={"observation": "rgb+nav", "frame_stack": 4},
            image_frames=2,
            image_frame_gap=4,
        )


def test_collect_env_kwargs_change_the_training_worlds_only(tmp_path, monkeypatch):
    import roadgym.agents.imitation.dagger as dagger

    made = []
    real_make_vec = gym.make_vec

    def make_vec(env_id, **kwargs):
        made.append(kwargs.get("num_pedestrians"))
        return real_make_vec(env_id, **kwargs)

    monkeypatch.setattr(dagger.gym, "make_vec", make_vec)
    config = _tiny(collect_env_kwargs={"num_pedestrians": 30}, rounds=0)
    result = run_imitation(config, tmp_path / "run", progress=False, log=lambda *_: None)
    # Round 0's training worlds only: the student's env and the selection drive use the default.
    assert made.count(30) == 1 and made.count(None) == len(made) - 1 >= 1
    agent = load_agent(result.student_path)
    assert "num_pedestrians" not in agent.env_kwargs  # the student drives the default town
    with pytest.raises(ValueError, match=r"collect_env_kwargs sets frame_stack; allowed: any"):
        _tiny(collect_env_kwargs={"frame_stack": 2})


def test_waiting_frames_are_the_expert_holding_still_with_no_red_light():
    from roadgym.agents.imitation.bc import waiting_frames
    from roadgym.agents.imitation.collect import RoundData

    speed_mps = np.array([0.0, 0.0, 0.0, 0.0, 0.0, 3.0])
    throttle = np.array([-1.0, -1.0, -1.0, 0.5, -1.0, -1.0], np.float32)
    light = np.array([3, 0, 1, 3, 2, 3])  # green, none, red, green, yellow, green
    nav = np.zeros((6, 3), np.float32)
    nav[:, -3] = speed_mps / 20.0
    data = RoundData(
        frames=np.zeros((6, 4, 4, 3), np.uint8),
        nav=nav,
        actions=np.stack([np.zeros(6, np.float32), throttle], axis=1),
        labels={"light_state": light},
    )
    assert waiting_frames(data).tolist() == [True, True, False, False, False, False]
    no_labels = RoundData(data.frames, data.nav, data.actions, {})
    assert not waiting_frames(no_labels).any()
