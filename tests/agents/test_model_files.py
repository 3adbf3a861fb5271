"""Model files never run code: a pickle hidden in an SB3 zip (or a ``vecnormalize.pkl``)
is never unpickled by any roadgym path, and corrupt or truncated zips get one clear line."""

from __future__ import annotations

import base64
import json
import pickle
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from roadgym.agents.model_zip import ModelFileError, load_sb3_model, model_spaces


class _WritesAFile:
    """Unpickling this creates ``marker``: the payload of a crafted model file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def _payload(marker: Path) -> str:
    return base64.b64encode(pickle.dumps(_WritesAFile(marker))).decode()


def poison(zip_path: Path, marker: Path, key: str, keep_hints: bool = True) -> None:
    """Replace the pickle of ``data[key]`` (or add entry ``key``) with the payload."""
    with zipfile.ZipFile(zip_path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    data = json.loads(members["data"])
    entry = dict(data.get(key, {})) if keep_hints and isinstance(data.get(key), dict) else {}
    entry.setdefault(":type:", "<class 'builtins.object'>")
    entry[":serialized:"] = _payload(marker)
    data[key] = entry
    members["data"] = json.dumps(data).encode()
    with zipfile.ZipFile(zip_path, "w") as archive:
        for name, raw in members.items():
            archive.writestr(name, raw)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A tiny trained PPO run (config.yaml, model.zip, a checkpoint), made once."""
    from roadgym.agents.hyperparams import resolve_settings
    from roadgym.agents.training import train
    from tests.agents.conftest import tiny_overrides

    settings = resolve_settings(
        "ppo",
        "roadgym/Track-v0",
        overrides=tiny_overrides("ppo", n_timesteps=64, eval_freq=0, video_freq=0),
    )
    out = tmp_path_factory.mktemp("run") / "run"
    train(settings, run_dir=out, progress_bar=False, verbose=0, torch_threads=1)
    return out


@pytest.fixture
def poisoned(run_dir, tmp_path):
    """``poisoned(key)`` -> (a copy of the run whose model.zip carries a payload, marker)."""

    def make(key: str, keep_hints: bool = True) -> tuple[Path, Path]:
        copy = tmp_path / f"run-{key}"
        shutil.copytree(run_dir, copy)
        marker = tmp_path / f"marker-{key}"
        poison(copy / "model.zip", marker, key, keep_hints)
        return copy, marker

    return make


# Payload in an entry roadgym rebuilds (the model loads), or in one it cannot (refused).
REBUILT = ["observation_space", "action_space", "policy_class", "policy_kwargs", "learning_rate"]
REFUSED = [("policy_class", False), ("evil_extra_entry", False)]


@pytest.mark.parametrize("key", REBUILT)
def test_load_agent_never_runs_a_pickle_in_the_zip(poisoned, key):
    from roadgym.agents.loading import load_agent

    run, marker = poisoned(key)
    agent = load_agent(run / "model.zip", device="cpu")
    assert not marker.exists()
    observation = np.zeros((1, 64, 64, 3), np.uint8)
    action, _ = agent.model.predict(observation, deterministic=True)
    assert agent.model.action_space.contains(action[0])


@pytest.mark.parametrize(("key", "keep_hints"), REFUSED)
def test_a_pickle_that_cannot_be_rebuilt_is_refused_by_name(poisoned, key, keep_hints):
    from roadgym.agents.loading import load_agent

    run, marker = poisoned(key, keep_hints)
    with pytest.raises(ModelFileError, match=key):
        load_agent(run / "model.zip", device="cpu")
    assert not marker.exists()


def test_evaluate_and_watch_never_run_the_payload(poisoned, tmp_path, capsys):
    from roadgym.agents.cli import evaluate_main, watch_main

    run, marker = poisoned("evil_extra_entry", keep_hints=False)
    common = ["--model", str(run / "model.zip"), "--episodes", "1"]
    assert evaluate_main(common) == 2
    assert watch_main([*common, "--record", str(tmp_path / "v.mp4")]) == 2
    assert not marker.exists()
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all("cannot rebuild without running code" in line for line in err)
    assert "Traceback" not in "".join(err)


def test_train_resume_and_init_from_never_run_the_payload(poisoned, tmp_path, tiny_settings):
    from roadgym.agents.run_config import RunConfig
    from roadgym.agents.training import train

    settings = tiny_settings("ppo", n_timesteps=96, eval_freq=0, video_freq=0)
    run, marker = poisoned("learning_rate")
    result = train(settings, run_dir=run, resume=run / "model.zip", progress_bar=False)
    assert result.num_timesteps >= 96 and not marker.exists()  # rebuilt from the config
    run, marker = poisoned("evil_extra_entry", keep_hints=False)
    with pytest.raises(ModelFileError, match="evil_extra_entry"):
        train(settings, run_dir=run, resume=run / "model.zip", progress_bar=False)
    init = RunConfig(settings=settings, init_from=str(run / "model.zip"))
    with pytest.raises(ModelFileError, match="evil_extra_entry"):
        train(init, run_dir=tmp_path / "init")
    assert not marker.exists()


def test_load_pretrained_never_runs_the_payload(poisoned, tmp_path, monkeypatch):
    import roadgym.agents.pretrained as pretrained

    run, marker = poisoned("policy_kwargs")
    shipped = tmp_path / "shipped"
    shipped.mkdir()
    shutil.copy(run / "model.zip", shipped / "tiny.zip")
    card = {"env_id": "roadgym/Track-v0", "env_kwargs": {"action_type": "discrete"}}
    (shipped / "tiny.json").write_text(json.dumps(card))
    monkeypatch.setattr(pretrained, "_directory", lambda: shipped)
    model = pretrained.load_pretrained("tiny")
    assert not marker.exists()
    action, _ = model.predict(np.zeros((64, 64, 3), np.uint8))
    assert model.model.action_space.contains(action)


def test_a_pickled_normaliser_is_refused_not_unpickled(run_dir, tmp_path, tiny_settings):
    from roadgym.agents.loading import load_agent
    from roadgym.agents.normalizer import UnsafeNormalizerError
    from roadgym.agents.training import train

    run = tmp_path / "run"
    shutil.copytree(run_dir, run)
    marker = tmp_path / "marker"
    (run / "vecnormalize.json").unlink()  # an older run: SB3's pickle instead
    (run / "vecnormalize.pkl").write_bytes(pickle.dumps(_WritesAFile(marker)))
    with pytest.raises(UnsafeNormalizerError, match="does not unpickle"):
        load_agent(run / "model.zip", device="cpu")
    settings = tiny_settings("ppo", n_timesteps=96, eval_freq=0, video_freq=0)
    with pytest.raises(UnsafeNormalizerError, match="does not unpickle"):
        train(settings, run_dir=run, resume=run / "model.zip", progress_bar=False)
    assert not marker.exists()


@pytest.mark.parametrize("damage", ["truncated", "garbage", "no_data"])
def test_corrupt_model_files_get_one_line_from_evaluate_and_watch(
    run_dir, tmp_path, capsys, damage
):
    from roadgym.agents.cli import evaluate_main, watch_main

    run = tmp_path / "run"
    shutil.copytree(run_dir, run)
    model = run / "model.zip"
    raw = model.read_bytes()
    if damage == "truncated":
        model.write_bytes(raw[: len(raw) // 2])
    elif damage == "garbage":
        model.write_bytes(b"\x00not a zip" * 100)
    else:
        with zipfile.ZipFile(model, "w") as archive:
            archive.writestr("policy.pth", b"")
    assert evaluate_main(["--model", str(model), "--episodes", "1"]) == 2
    assert watch_main(["--model", str(model), "--record", str(tmp_path / "v.mp4")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(line.startswith(f"error: model {model}") for line in err)
    assert all("allowed: a stable-baselines3 zip" in line for line in err)


def test_the_shipped_student_acts_as_sb3_loading_it_does():
    """The safe loader gives the weights and actions of SB3's own (unpickling) load."""
    import gymnasium as gym
    from stable_baselines3 import PPO

    from roadgym.agents.pretrained import load_pretrained, pretrained_path

    safe = load_pretrained("town-student")
    trusted = PPO.load(pretrained_path("town-student"), device="cpu")  # our own file
    ours, theirs = safe.model.policy.state_dict(), trusted.policy.state_dict()
    assert ours.keys() == theirs.keys()
    assert all(torch.equal(ours[k], theirs[k]) for k in ours)
    env = gym.make(safe.env_id, **safe.env_kwargs)
    observation, _ = env.reset(seed=2_000_000)
    for _ in range(3):
        action, _ = safe.predict(observation)
        assert np.array_equal(action, trusted.predict(observation, deterministic=True)[0])
        observation, *_ = env.step(action)
    env.close()


def test_a_model_for_another_env_is_refused_naming_both_shapes(run_dir):
    spaces = model_spaces("roadgym/Track-v0", {"camera_size_px": 84})
    with pytest.raises(ModelFileError, match=r"shape \[3, 64, 64\].*84"):
        load_sb3_model(run_dir / "model.zip", space_pair=spaces, device="cpu")


def test_a_bare_zip_loads_with_the_spaces_its_text_states(tmp_path):
    """No run config and no card: the spaces come from the text SB3 wrote, not a pickle."""
    from roadgym.agents.loading import load_agent
    from roadgym.agents.pretrained import pretrained_path

    bare = tmp_path / "student.zip"
    shutil.copy(pretrained_path("town-student"), bare)
    marker = tmp_path / "marker"
    poison(bare, marker, "observation_space")
    agent = load_agent(bare, device="cpu")
    assert not marker.exists()
    assert set(agent.model.observation_space.spaces) == {"nav", "rgb"}
    assert agent.model.observation_space["rgb"].shape == (30, 64, 64)


def test_an_rllib_checkpoint_is_refused_unless_trusted(tmp_path, monkeypatch, capsys):
    """RLlib checkpoints are pickles: evaluate and watch load one only with --trust-pickles."""
    import sys
    import types

    from roadgym.agents.cli import evaluate_main
    from roadgym.agents.loading import load_agent

    calls = []
    fake = types.ModuleType("roadgym.agents.rllib.policy")
    fake.load_rllib_policy = lambda path: calls.append(path)  # would unpickle
    monkeypatch.setitem(sys.modules, "roadgym.agents.rllib.policy", fake)
    (tmp_path / "rllib_checkpoint.json").write_text("{}")
    with pytest.raises(ModelFileError, match="trust-pickles"):
        load_agent(tmp_path)
    assert evaluate_main(["--model", str(tmp_path), "--episodes", "1"]) == 2
    assert "RLlib stores it as pickles" in capsys.readouterr().err
    assert calls == []


def test_a_broken_run_config_beside_the_model_gets_one_line(run_dir, tmp_path, capsys):
    from roadgym.agents.cli import evaluate_main

    run = tmp_path / "run"
    shutil.copytree(run_dir, run)
    (run / "config.yaml").write_text("algo: [ppo\n")
    assert evaluate_main(["--model", str(run / "model.zip"), "--episodes", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "config.yaml (the run config beside the model)" in err[0]


def test_a_card_with_env_side_stacking_is_not_stacked_twice():
    """12 image channels from an env that stacks 4 frames itself: no VecFrameStack on top;
    from a plain env they are 4 frames for VecFrameStack to stack."""
    from types import SimpleNamespace

    from roadgym.agents.loading import _infer_frame_stack

    zip_data = SimpleNamespace(
        data={
            "observation_space": {
                ":type:": "<class 'gymnasium.spaces.box.Box'>",
                "_shape": [12, 64, 64],
            }
        }
    )
    assert _infer_frame_stack(zip_data, env_frame_stack=4) == 1
    assert _infer_frame_stack(zip_data) == 4
