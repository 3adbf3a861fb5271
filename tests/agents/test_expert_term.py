"""The online DAgger term of PPO: the expert labels exactly the frames PPO trained on."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.callbacks import BaseCallback, CallbackList

from roadgym.agents.extensions import ExpertTerm
from roadgym.agents.imitation.expert_term import ExpertTermCallback
from roadgym.agents.imitation.finetune import StudentPullCallback
from roadgym.agents.run_config import RunConfig
from roadgym.drivers.expert import ExpertDriver
from roadgym.envs import make_sb3_vec_env

ENV_KWARGS = {"observation": "rgb+nav", "max_episode_steps": 12}
N_ENVS, N_STEPS, SEED = 2, 20, 7  # 20 steps cross the 12-step time limit: a reset inside


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _ppo(learning_rate: float = 3e-4) -> PPO:
    venv = make_sb3_vec_env("roadgym/Town-v0", n_envs=N_ENVS, seed=SEED, **ENV_KWARGS)
    return PPO(
        "MultiInputPolicy",
        venv,
        n_steps=N_STEPS,
        batch_size=20,
        n_epochs=1,
        learning_rate=learning_rate,
        seed=SEED,
        policy_kwargs={"net_arch": [16]},
    )


def test_the_expert_labels_each_frame_of_the_rollout_it_was_shown():
    model = _ppo()
    term = ExpertTermCallback(coef=1.0, steps_per_rollout=1, batch_size=8)
    model.learn(N_ENVS * N_STEPS, callback=term)
    buffer = model.rollout_buffer
    executed = np.clip(buffer.actions, -1.0, 1.0).reshape(N_ENVS, N_STEPS, 2)
    # Replay the rollout's actions in a fresh env of the same seed: the expert's action
    # at each replayed state is the label stored for that row of the buffer.
    replay = make_sb3_vec_env("roadgym/Town-v0", n_envs=N_ENVS, seed=SEED, **ENV_KWARGS)
    replay.reset()
    expert = ExpertDriver(replay)
    labels = term.labels.reshape(N_ENVS, N_STEPS, 2)
    starts = buffer.episode_starts.reshape(N_ENVS, N_STEPS)
    assert starts[:, 1:].any()  # an episode ended and was reset inside the rollout
    for t in range(N_STEPS):
        np.testing.assert_array_equal(labels[:, t], expert.predict()[0])
        replay.step(executed[:, t])
    assert not np.allclose(labels[0], labels[0, :1])  # the labels are not one constant


def test_the_term_pulls_the_policy_towards_the_expert():
    model = _ppo(learning_rate=1e-3)
    before = copy.deepcopy(model.policy)
    term = ExpertTermCallback(coef=1.0, steps_per_rollout=60, batch_size=20)
    # The pull of a rollout runs when the next one starts: two rollouts, one pull.
    model.learn(2 * N_ENVS * N_STEPS, callback=term)
    frames = {k: torch.as_tensor(v) for k, v in model.rollout_buffer.observations.items()}
    target = torch.as_tensor(term.labels)

    @torch.no_grad()
    def error(policy) -> float:
        return float((policy.get_distribution(frames).distribution.mean - target).abs().mean())

    assert error(model.policy) < 0.6 * error(before)


class _BehaviourProbe(BaseCallback):
    """At each rollout's end (when PPO is about to update on it): the largest gap between
    the log-probabilities the rollout was collected with and the policy's now."""

    def __init__(self):
        super().__init__()
        self.gaps: list[float] = []

    def _on_step(self) -> bool:
        return True

    def _on_rollout_end(self) -> None:
        buffer = self.model.rollout_buffer
        if not buffer.generator_ready:
            next(buffer.get(8))
        frames = {k: torch.as_tensor(v) for k, v in buffer.observations.items()}
        with torch.no_grad():
            _, log_prob, _ = self.model.policy.evaluate_actions(
                frames, torch.as_tensor(buffer.actions)
            )
        self.gaps.append(
            float((log_prob - torch.as_tensor(buffer.log_probs).flatten()).abs().max())
        )


@pytest.mark.parametrize("kind", ["expert", "student"])
def test_ppo_updates_the_policy_that_collected_the_rollout(kind):
    # A pull between collecting and PPO's update would make PPO's ratios (and target_kl)
    # compare against a policy other than the behaviour policy.
    model = _ppo(learning_rate=1e-3)
    if kind == "expert":
        pull = ExpertTermCallback(coef=1.0, steps_per_rollout=20, batch_size=20)
    else:
        pull = StudentPullCallback(_ppo(), coef=1.0, decay_steps=10_000, steps_per_rollout=20)
    probe = _BehaviourProbe()
    model.learn(3 * N_ENVS * N_STEPS, callback=CallbackList([pull, probe]))
    assert len(probe.gaps) == 3 and max(probe.gaps) < 1e-4
    assert pull.steps_taken == 2 * 20  # the first two rollouts' pulls; the last is unused


def test_bad_settings_are_refused_with_the_field():
    with pytest.raises(ValueError, match="coef = 0.0; allowed: a number > 0"):
        ExpertTermCallback(coef=0.0)
    model = PPO(
        "MlpPolicy",
        make_sb3_vec_env(
            "roadgym/Track-v0", n_envs=1, seed=0, observation="state", action_type="discrete"
        ),
        n_steps=8,
        batch_size=8,
    )
    with pytest.raises(ValueError, match="needs continuous actions"):
        model.learn(8, callback=ExpertTermCallback(coef=1.0))


def test_train_refuses_the_term_without_ppo(tiny_settings, tmp_path):
    from roadgym.agents.training import train

    term = (ExpertTerm(coef=1.0),)
    with pytest.raises(ValueError, match="extensions.expert_term needs algo 'ppo'.*'dqn'"):
        train(RunConfig(tiny_settings("dqn"), term), run_dir=tmp_path / "dqn", progress_bar=False)
    assert not (tmp_path / "dqn").exists()
    discrete = tiny_settings("ppo", env_kwargs={"action_type": "discrete"})
    with pytest.raises(ValueError, match="needs continuous actions.*Discrete"):
        train(RunConfig(discrete, term), run_dir=tmp_path / "ppo", progress_bar=False)
    assert not (tmp_path / "ppo").exists()  # refused before any file is written


def test_the_stop_zone_covers_the_approach_until_the_expert_has_stopped():
    from roadgym.envs.town.ego import approaching_stop_sign

    venv = make_sb3_vec_env("roadgym/Town-v0", n_envs=16, seed=3, observation="state")
    venv.reset()
    expert = ExpertDriver(venv)
    world = expert.world
    zone, speed_mps = [], []
    for _ in range(250):
        zone.append(approaching_stop_sign(world, 20.0))
        speed_mps.append(world.car.speed_mps.copy())
        venv.step(expert.predict()[0])
    zone, speed_mps = np.array(zone), np.array(speed_mps)
    assert 0.02 < zone.mean() < 0.5
    exits = zone[:-1] & ~zone[1:]  # (T - 1, B): the last frame in a zone
    assert exits.sum() >= 5
    # The expert never rolls through: it leaves every zone by standing at the line.
    assert (speed_mps[1:][exits] < 0.3).all()
    # Far from the line (a zone starts at 20 m) the car is not standing yet.
    entries = ~zone[:-1] & zone[1:]
    assert (speed_mps[1:][entries] > 1.0).mean() > 0.8


def test_the_handover_zeroes_the_zone_and_normalises_the_rest():
    from roadgym.agents.imitation.expert_term import _hand_over

    rng = np.random.default_rng(0)
    advantages = rng.normal(3.0, 5.0, (64, 4)).astype(np.float32)
    zone = rng.random((64, 4)) < 0.2
    _hand_over(advantages, zone)
    assert (advantages[zone] == 0).all()
    np.testing.assert_allclose(advantages[~zone].mean(), 0.0, atol=1e-5)
    np.testing.assert_allclose(advantages[~zone].std(), 1.0, atol=1e-4)


def test_half_of_each_pull_minibatch_comes_from_the_zone():
    term = ExpertTermCallback(coef=1.0, stop_zone_m=20.0)
    term.zone = np.zeros(1000, bool)
    term.zone[:30] = True
    rows = term.draw_rows(1000, 256)
    assert len(set(rows.tolist())) == 256
    assert (rows < 30).sum() == 30  # fewer zone frames than half a batch: all of them
    term.zone[:600] = True
    rows = term.draw_rows(1000, 256)
    assert (rows < 600).sum() == 128


def test_the_stop_zone_needs_the_expert_term_and_a_town(tiny_settings, tmp_path):
    from roadgym.agents.training import train

    with pytest.raises(ValueError, match="expert_term.stop_zone_m = -1.0; allowed: a number >= 0"):
        ExpertTerm(stop_zone_m=-1.0)
    track = tiny_settings("ppo", env_kwargs={"action_type": "continuous"})
    zone = RunConfig(track, (ExpertTerm(coef=1.0, stop_zone_m=20.0),))
    with pytest.raises(ValueError, match="stop_zone_m needs roadgym/Town-v0 .* TrackWorld"):
        train(zone, run_dir=tmp_path / "b")
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


class _AdvantageProbe(BaseCallback):
    """Keeps the advantages PPO is about to train on (flattened, world-major)."""

    def __init__(self) -> None:
        super().__init__()
        self.advantages: list[np.ndarray] = []

    def _on_step(self) -> bool:
        return True

    def _on_rollout_end(self) -> None:
        self.advantages.append(np.array(self.model.rollout_buffer.advantages).reshape(-1))


@pytest.mark.parametrize("with_student_pull", [False, True])
def test_ppo_trains_on_zero_advantages_in_the_zone(monkeypatch, with_student_pull):
    import roadgym.agents.imitation.expert_term as expert_term

    # World 0 is always in a zone, world 1 never (whatever the town looks like).
    monkeypatch.setattr(expert_term, "approaching_stop_sign", lambda w, m: np.array([1, 0], bool))
    model = _ppo()
    term = ExpertTermCallback(coef=1.0, steps_per_rollout=1, batch_size=8, stop_zone_m=20.0)
    # A student pull first flattens the buffer before the zone is applied.
    pulls = [StudentPullCallback(_ppo(), 1.0, 10_000, steps_per_rollout=1)] * with_student_pull
    probe = _AdvantageProbe()
    model.learn(2 * N_ENVS * N_STEPS, callback=CallbackList([*pulls, term, probe]))
    assert not model.normalize_advantage
    for advantages in probe.advantages:
        zone, other = advantages[:N_STEPS], advantages[N_STEPS:]  # world 0's rows, world 1's
        assert (zone == 0).all()
        np.testing.assert_allclose([other.mean(), other.std()], [0.0, 1.0], atol=1e-4)


def test_the_slow_handover_takes_exactly_the_frames_below_its_speed():
    model = _ppo()
    term = ExpertTermCallback(coef=1.0, steps_per_rollout=1, batch_size=8, slow_mps=0.5)
    model.learn(N_ENVS * N_STEPS, callback=term)
    executed = np.clip(model.rollout_buffer.actions, -1.0, 1.0).reshape(N_ENVS, N_STEPS, 2)
    replay = make_sb3_vec_env("roadgym/Town-v0", n_envs=N_ENVS, seed=SEED, **ENV_KWARGS)
    replay.reset()
    world = ExpertDriver(replay).world
    slow = []
    for t in range(N_STEPS):
        slow.append(world.car.speed_mps < 0.5)
        replay.step(executed[:, t])
    expected = np.array(slow).T.reshape(-1)  # world-major, the order of ``term.zone``
    assert 0 < expected.sum() < expected.size  # the cars start standing, then drive off
    np.testing.assert_array_equal(term.zone, expected)
    assert not model.normalize_advantage


def test_the_slow_handover_refuses_a_negative_speed(tmp_path):

    with pytest.raises(ValueError, match="expert_term.slow_mps = -1.0; allowed: a number >= 0"):
        ExpertTerm(coef=1.0, slow_mps=-1.0)
    with pytest.raises(ValueError, match="slow_mps = -1.0; allowed: a number >= 0"):
        ExpertTermCallback(coef=1.0, slow_mps=-1.0)
    assert not (tmp_path / "a").exists()


def test_student_weights_weigh_steer_twice_and_the_transitions_five_times():
    model = _ppo()
    term = ExpertTermCallback(coef=1.0, steps_per_rollout=1, batch_size=8, student_weights=True)
    model.learn(N_ENVS * N_STEPS, callback=term)  # the pull's steps ran with the weights
    buffer = model.rollout_buffer
    rows = np.arange(N_ENVS * N_STEPS)
    observations = {k: torch.as_tensor(v) for k, v in buffer.observations.items()}
    w = term.element_weights(observations, rows).numpy()
    np.testing.assert_allclose(w.mean(), 1.0, rtol=1e-5)
    assert np.ptp(w[:, 0]) < 1e-6  # steer: the same weight on every frame
    ratio = w[:, 1] / w[:, 0]  # throttle / steer: 1/2 on plain frames, 5/2 on transitions
    assert set(np.round(ratio, 5)) <= {0.5, 2.5}
    assert np.isclose(ratio, 2.5).any()  # the cars pull away from standing at the start
    assert ExpertTermCallback(coef=1.0).element_weights(observations, rows) is None


def test_student_weights_refuse_an_observation_without_nav():
    venv = make_sb3_vec_env("roadgym/Town-v0", n_envs=2, seed=SEED, observation="rgb")
    model = PPO("CnnPolicy", venv, n_steps=8, batch_size=8, n_epochs=1, seed=SEED)
    term = ExpertTermCallback(coef=1.0, student_weights=True)
    with pytest.raises(ValueError, match="student_weights = True needs the speed of a 'nav'"):
        model.learn(16, callback=term)
