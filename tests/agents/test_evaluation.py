"""The evaluator: one episode per held-out seed, reproducible, in the caller's order."""

from __future__ import annotations

import json

import numpy as np
import pytest

from roadgym.agents.environments import held_out_seeds, split_seeds
from roadgym.agents.evaluation import ExpertPolicy, evaluate_policy_on_seeds

SHORT = {"max_episode_steps": 30}


class SteadyThrottle:
    """Drives straight at a fixed throttle: a deterministic batch policy."""

    def predict(self, observation, state=None, episode_start=None, deterministic=True):
        return np.tile(np.array([0.0, 0.4], dtype=np.float32), (len(observation), 1)), None


def test_seeds_are_held_out_and_dealt_round_robin():
    seeds = held_out_seeds(5)
    assert seeds[0] >= 1_000_000 and len(set(seeds)) == 5
    assert split_seeds(seeds, 2) == [seeds[0::2], seeds[1::2]]
    assert split_seeds(seeds[:1], 8) == [seeds[:1]]


def test_report_is_reproducible_and_in_seed_order(tmp_path):
    seeds = [1_000_007, 1_000_003, 1_000_005]
    first = evaluate_policy_on_seeds(
        SteadyThrottle(), "roadgym/Track-v0", seeds, env_kwargs=SHORT, n_envs=2
    )
    again = evaluate_policy_on_seeds(
        SteadyThrottle(), "roadgym/Track-v0", seeds, env_kwargs=SHORT, n_envs=3
    )
    assert first.seeds == seeds
    assert first.episodes == again.episodes  # batching does not change any episode
    for episode in first.episodes:
        assert {
            "return",
            "length",
            "progress",
            "off_road",
            "lap_completed",
            "mean_speed_mps",
        } <= set(episode)
        assert 1 <= episode["length"] <= 30
    assert first.mean("length") == pytest.approx(np.mean([e["length"] for e in first.episodes]))
    table = first.table()
    assert "progress" in table and "mean" in table and "std" in table
    path = first.write_json(tmp_path / "report.json")
    data = json.loads(path.read_text())
    assert data["n_episodes"] == 3 and [e["seed"] for e in data["episodes"]] == seeds
    assert set(data["summary"]["progress"]) == {"mean", "std", "min", "max"}


def test_recording_keeps_first_episode_frames():
    report = evaluate_policy_on_seeds(
        SteadyThrottle(),
        "roadgym/Track-v0",
        held_out_seeds(2),
        env_kwargs=SHORT,
        record_first_episode=True,
    )
    assert report.frames is not None and 1 <= len(report.frames) <= 30
    assert report.frames[0].ndim == 3 and report.frames[0].dtype == np.uint8


def test_policy_factory_receives_the_vec_env():
    seen = []

    def factory(venv):
        seen.append(venv.num_envs)
        return SteadyThrottle()

    evaluate_policy_on_seeds(
        factory, "roadgym/Track-v0", held_out_seeds(3), env_kwargs=SHORT, n_envs=2
    )
    assert seen == [2, 1]  # one batch of two worlds, then one of the last seed


def test_expert_policy_is_evaluated_when_available():
    pytest.importorskip("roadgym.drivers.expert")
    report = evaluate_policy_on_seeds(
        ExpertPolicy,
        "roadgym/Track-v0",
        held_out_seeds(2),
        env_kwargs={"max_episode_steps": 100},
        agent_name="expert",
    )
    assert len(report.episodes) == 2 and report.mean("progress") > 0


def _single_env_episode(env_id, seed, env_kwargs, policy):
    """The reference: one gymnasium.make env reset with ``seed``, driven to its end."""
    import gymnasium as gym

    env = gym.make(env_id, **env_kwargs)
    observation, _ = env.reset(seed=seed)
    total, length, done = 0.0, 0, False
    while not done:
        action = policy.predict(observation[None])[0][0]
        observation, reward, terminated, truncated, _ = env.step(action)
        total, length, done = total + float(reward), length + 1, terminated or truncated
    env.close()
    return total, length


def test_each_world_plays_the_episode_a_single_env_seeded_alike_would():
    from roadgym.agents.episodes import play_seeds

    seeds = [1_000_011, 1_000_012, 1_000_011]  # a repeated seed stays in the caller's order
    played = play_seeds(SteadyThrottle(), "roadgym/Track-v0", seeds, env_kwargs=SHORT, n_envs=2)
    assert [episode.seed for episode in played.episodes] == seeds
    for episode in played.episodes:
        total, length = _single_env_episode(
            "roadgym/Track-v0", episode.seed, SHORT, SteadyThrottle()
        )
        assert episode.metrics["length"] == length
        assert episode.metrics["return"] == pytest.approx(total, rel=1e-5, abs=1e-4)
    assert played.episodes[0].metrics == played.episodes[2].metrics
    assert {"progress", "off_road"} <= set(played.episodes[0].final_info)


def test_an_env_without_a_native_vector_env_is_played_the_same_way():
    from roadgym.agents.episodes import play_seeds

    class Push:
        def predict(self, observation, state=None, episode_start=None, deterministic=True):
            return (observation[:, 2] > 0).astype(np.int64), None

    seeds = [5, 6, 7]
    played = play_seeds(Push(), "CartPole-v1", seeds, n_envs=2)
    for episode in played.episodes:
        _, length = _single_env_episode("CartPole-v1", episode.seed, {}, Push())
        assert episode.metrics["length"] == length


def test_expert_table_and_evaluation_count_the_same_episodes():
    from roadgym.agents.evaluation import expert_final_infos

    seeds = [2_000_000, 2_000_001]
    kwargs = {"observation": "state", "max_episode_steps": 60}
    report = evaluate_policy_on_seeds(ExpertPolicy, "roadgym/Track-v0", seeds, env_kwargs=kwargs)
    finals = expert_final_infos("roadgym/Track-v0", seeds, num_envs=1, **kwargs)
    assert [f["steps"] for f in finals] == [e["length"] for e in report.episodes]
    assert [f["progress"] for f in finals] == [e["progress"] for e in report.episodes]
