"""Defects a fuzzer and other people's RL code found (issue 14), one test each."""

from __future__ import annotations

import dataclasses
import warnings

import gymnasium as gym
import numpy as np
import pytest

import roadgym  # noqa: F401
from roadgym.envs import ConfigError, TownConfig, TrackConfig
from roadgym.envs.core.config import UnknownFieldError
from roadgym.envs.town.packing import SpawnError, boxes_overlap
from roadgym.envs.town.routing import RouteLengthWarning
from roadgym.envs.town.world import TownWorld

VECTOR = {"vectorization_mode": "vector_entry_point"}


# ---------------------------------------------------------------- configs


def test_unknown_field_is_a_type_error_with_pythons_wording():
    # TorchRL's GymEnv passes frameskip= and drops it only on this TypeError.
    with pytest.raises(TypeError, match="unexpected keyword argument 'frameskip'") as caught:
        gym.make("roadgym/Track-v0", frameskip=4)
    assert isinstance(caught.value, UnknownFieldError)
    assert isinstance(caught.value, ConfigError)
    assert "allowed fields:" in str(caught.value) and "num_lanes" in str(caught.value)
    # A wrong value is still a plain ConfigError (a ValueError), not a TypeError.
    with pytest.raises(ConfigError) as bad_value:
        gym.make("roadgym/Track-v0", num_lanes=7)
    assert not isinstance(bad_value.value, TypeError)


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("lane_width_m", np.float32(3.5), 3.5),
        ("lane_width_m", np.float64(3.5), 3.5),
        ("num_lanes", np.int64(2), 2),
        ("num_lanes", np.int32(1), 1),
        ("camera_size_px", np.uint16(48), 48),
    ],
)
def test_numpy_scalars_are_accepted_and_stored_as_python_numbers(field, value, expected):
    config = TrackConfig(**{field: value})
    assert getattr(config, field) == expected
    assert type(getattr(config, field)) is type(expected)


def test_numpy_vectors_are_accepted_for_tuple_fields():
    config = TrackConfig(curvature_lookahead_m=np.array([0.0, 15.0], np.float32))
    assert config.curvature_lookahead_m == (0.0, 15.0)
    assert all(type(v) is float for v in config.curvature_lookahead_m)


def test_numpy_bools_are_not_numbers_but_are_bools():
    with pytest.raises(ConfigError, match="has type bool"):
        TrackConfig(num_lanes=np.bool_(True))
    assert TrackConfig(flat_labels=np.bool_(True)).flat_labels is True


# Fields whose range is bounded by another field, and the partner value that makes the
# documented end reachable (each is stated in the field's documentation).
_PARTNERS = {
    ("TrackConfig", "track_length_min_m", "high"): {"track_length_max_m": 3000.0},
    ("TrackConfig", "track_length_max_m", "low"): {"track_length_min_m": 100.0},
    ("TownConfig", "block_min_m", "high"): {"block_max_m": 300.0},
    ("TownConfig", "block_max_m", "low"): {"block_min_m": 38.0},
    ("TownConfig", "route_length_min_m", "high"): {"route_length_max_m": 5000.0},
    ("TownConfig", "route_length_max_m", "low"): {"route_length_min_m": 20.0},
    ("TownConfig", "lane_width_m", "high"): {"block_min_m": 48.0},
}
for _name in ("TrackConfig", "TownConfig"):
    _PARTNERS[(_name, "wheelbase_m", "high")] = {"car_length_m": 6.5}
    _PARTNERS[(_name, "car_length_m", "low")] = {"wheelbase_m": 0.5}


def _range_ends():
    for config_class in (TrackConfig, TownConfig):
        for field in dataclasses.fields(config_class):
            for side in ("low", "high"):
                if field.metadata[side] is not None:
                    yield config_class, field, side


@pytest.mark.parametrize(
    ("config_class", "field", "side"),
    list(_range_ends()),
    ids=lambda x: getattr(x, "__name__", getattr(x, "name", x)),
)
def test_every_documented_range_end_is_accepted(config_class, field, side):
    end = field.metadata[side]
    default = field.default_factory() if field.default is dataclasses.MISSING else field.default
    value = tuple(end for _ in default) if isinstance(default, tuple) else end
    fields = {field.name: value, **_PARTNERS.get((config_class.__name__, field.name, side), {})}
    if config_class is TownConfig and "stall_timeout_s" in {
        f.name for f in dataclasses.fields(config_class)
    }:
        # Longer light cycles need a longer stall timeout (stall_timeout_s documents it).
        if field.name in ("green_s", "yellow_s", "all_red_s", "walk_s") and side == "high":
            fields["stall_timeout_s"] = 0.0
    config_class.build(**fields)
    for partner in fields.keys() - {field.name, "stall_timeout_s"}:
        assert partner in field.metadata["doc"], f"{field.name} must document its bound {partner}"


@pytest.mark.parametrize(
    "fields",
    [
        {"block_min_m": 38.0},
        {"lane_width_m": 4.0},
        {"sidewalk_width_m": 4.0},
        {"crosswalk_width_m": 4.0},
        {"grid_size": 3},
        {"grid_size": 8},
    ],
)
def test_town_geometry_range_ends_build_towns(fields):
    env = gym.make("roadgym/Town-v0", **fields)
    env.reset(seed=0)
    for _ in range(3):
        env.step(env.action_space.sample())


# ---------------------------------------------------------------- town actors


@pytest.mark.parametrize(
    "fields",
    [{"num_vehicles": 0}, {"num_pedestrians": 0}, {"num_vehicles": 0, "num_pedestrians": 0}],
)
def test_towns_without_vehicles_or_pedestrians_run_single_vector_and_expert(fields):
    from roadgym.drivers.expert import ExpertDriver

    env = gym.make("roadgym/Town-v0", render_mode="rgb_array", **fields)
    env.reset(seed=0)
    expert = ExpertDriver(env)
    for _ in range(20):
        _, _, terminated, _, info = env.step(expert.predict()[0])
        assert not terminated
    assert env.render().ndim == 3
    assert info["labels"]["object_ahead"] in (0, 1, 2)
    envs = gym.make_vec("roadgym/Town-v0", num_envs=2, **VECTOR, **fields)
    envs.reset(seed=0)
    for _ in range(5):
        envs.step(ExpertDriver(envs).predict()[0])


def _npc_overlaps(world: TownWorld) -> int:
    xy, heading = world.veh_xy[0], world.veh_heading[0]
    overlap = boxes_overlap(xy, heading, xy, heading, world.config)
    return int(np.triu(overlap, k=1).sum())


def test_crowded_towns_never_spawn_overlapping_cars():
    world = TownWorld(TownConfig(grid_size=3, num_vehicles=40), batch_size=1)
    for seed in range(3):
        world.reset_world(0, np.random.default_rng(seed))
        assert _npc_overlaps(world) == 0


def test_a_town_too_small_for_its_cars_raises_naming_the_field():
    world = TownWorld(TownConfig(grid_size=3, num_vehicles=128), batch_size=1)
    with pytest.raises(SpawnError, match=r"num_vehicles = 128 do not fit.*grid_size = 3"):
        world.reset_world(0, np.random.default_rng(0))
    assert issubclass(SpawnError, ConfigError)


def test_box_overlap_test_agrees_with_geometry():
    config = TownConfig()  # cars 4.5 x 2.0 m
    xy = np.array([[0.0, 0.0], [4.4, 0.0], [4.6, 0.0], [0.0, 1.9], [0.0, 2.1], [3.0, 3.0]])
    heading = np.array([0.0, 0.0, 0.0, 0.0, 0.0, np.pi / 2])
    overlap = boxes_overlap(xy[:1], heading[:1], xy[1:], heading[1:], config)[0]
    # touching end to end, apart end to end, side by side, apart side by side, crosswise
    assert overlap.tolist() == [True, False, True, False, True]


def test_unreachable_route_lengths_warn_naming_the_fields():
    config = TownConfig(grid_size=3, route_length_min_m=4000.0, route_length_max_m=5000.0)
    world = TownWorld(config, batch_size=1)
    with pytest.warns(RouteLengthWarning, match="route_length_min_m/route_length_max_m"):
        world.reset_world(0, np.random.default_rng(0))
    with warnings.catch_warnings():
        warnings.simplefilter("error", RouteLengthWarning)
        # Seed 227's nearest default route misses [150, 300] m by 2 m: no warning for that.
        TownWorld(TownConfig(), batch_size=1).reset_world(0, np.random.default_rng(227))


# ---------------------------------------------------------------- envs


@pytest.mark.parametrize("env_id", ["roadgym/Track-v0", "roadgym/Town-v0"])
def test_single_env_refuses_to_step_after_termination(env_id):
    env = gym.make(env_id)
    env.reset(seed=0)
    terminated = False
    for _ in range(400):  # full reverse steering off the road ends the episode
        _, _, terminated, truncated, _ = env.step(np.array([1.0, 1.0], np.float32))
        if terminated or truncated:
            break
    assert terminated
    with pytest.raises(RuntimeError, match="after the episode terminated; call env.reset"):
        env.step(np.zeros(2, np.float32))
    env.reset()
    env.step(np.zeros(2, np.float32))  # a new episode steps again


def test_vector_env_with_autoreset_disabled_refuses_ended_worlds():
    envs = gym.make_vec("roadgym/Track-v0", num_envs=2, autoreset_mode="Disabled", **VECTOR)
    envs.reset(seed=0)
    for _ in range(400):
        _, _, terminated, truncated, _ = envs.step(np.tile([1.0, 1.0], (2, 1)).astype(np.float32))
        if (terminated | truncated).any():
            break
    with pytest.raises(RuntimeError, match="autoreset_mode DISABLED on ended world"):
        envs.step(np.zeros((2, 2), np.float32))


@pytest.mark.parametrize(
    "seed", [[1.99, 2], ["1", "2"], [True, 2], [-1, 2], 1.5, "3", [1, 2, 3], -4]
)
def test_vector_env_rejects_seeds_that_are_not_non_negative_ints(seed):
    envs = gym.make_vec("roadgym/Track-v0", num_envs=2, **VECTOR)
    with pytest.raises(ValueError, match="seed = .* is not allowed"):
        envs.reset(seed=seed)


def test_vector_env_accepts_numpy_int_seeds_like_python_ints():
    envs = gym.make_vec("roadgym/Track-v0", num_envs=2, **VECTOR)
    a, _ = envs.reset(seed=np.array([3, 4]))
    b, _ = envs.reset(seed=[np.int64(3), 4])
    c, _ = envs.reset(seed=3)
    assert np.array_equal(a, b) and np.array_equal(a, c)


@pytest.mark.parametrize("action_type", ["continuous", "discrete"])
def test_complex_actions_are_rejected(action_type):
    env = gym.make("roadgym/Track-v0", action_type=action_type)
    env.reset(seed=0)
    action = np.array([0.5 + 1j, 0.5]) if action_type == "continuous" else np.complex64(1)
    with pytest.raises(ValueError, match="action = "):
        env.step(action)


@pytest.mark.parametrize("env_id", ["roadgym/Track-v0", "roadgym/Town-v0"])
def test_flat_labels_put_each_label_at_the_top_level(env_id):
    env = gym.make(env_id, flat_labels=True)
    _, info = env.reset(seed=0)
    labels = env.unwrapped.get_labels()
    assert "labels" not in info
    assert {f"label_{k}": v for k, v in labels.items()}.items() <= info.items()
    assert all(not isinstance(v, dict) for v in info.values())
    envs = gym.make_vec(env_id, num_envs=2, autoreset_mode="SameStep", flat_labels=True, **VECTOR)
    _, infos = envs.reset(seed=0)
    assert "labels" not in infos and all(not isinstance(v, dict) for v in infos.values())
    for task in labels:
        assert infos[f"label_{task}"].shape == (2,) and infos[f"_label_{task}"].all()


def test_town_vector_env_errors_name_the_town_vector_env():
    envs = gym.make_vec("roadgym/Town-v0", num_envs=2, **VECTOR)
    with pytest.raises(RuntimeError, match=r"^TownVectorEnv\.step\(\) called before reset"):
        envs.step(np.zeros((2, 2), np.float32))


# ---------------------------------------------------------------- windows and play


def test_the_window_opens_only_the_display_not_audio(monkeypatch):
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    import pygame

    env = gym.make("roadgym/Track-v0", render_mode="human")
    env.reset(seed=0)
    assert pygame.display.get_init()
    assert not pygame.mixer.get_init()  # pygame.init() would have opened audio (ALSA)
    env.close()
    assert not pygame.display.get_init()


@pytest.mark.parametrize("action_type", ["continuous", "discrete"])
def test_gymnasium_play_drives_with_the_arrow_keys(monkeypatch, action_type):
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    import pygame
    from gymnasium.utils.play import play

    from roadgym.envs.core.spaces import DISCRETE_ACTIONS

    env = gym.make("roadgym/Track-v0", render_mode="rgb_array", action_type=action_type)
    actions = []

    def callback(obs_t, obs_tp1, action, reward, terminated, truncated, info):
        actions.append(np.asarray(action))
        if len(actions) == 2:  # the up arrow is held from the second frame on
            pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_UP))
        if len(actions) == 6:
            pygame.event.post(pygame.event.Event(pygame.QUIT))

    noop = np.zeros(2, np.float32) if action_type == "continuous" else 0
    play(env, callback=callback, noop=noop, seed=0, fps=1000)
    if action_type == "discrete":
        actions = [DISCRETE_ACTIONS[int(a)] for a in actions]
    assert np.allclose(actions[0], [0.0, 0.0])  # nothing held: coast
    assert np.allclose(actions[-1], [0.0, 1.0])  # up: full throttle


def test_keys_to_action_covers_every_arrow_combination():
    import pygame

    from roadgym.envs.core.manual_control import keys_to_action

    mapping = keys_to_action("continuous")
    assert (
        len(mapping) == 15
        and () not in mapping
        and all(key == tuple(sorted(key)) for key in mapping)
    )
    up_left = tuple(sorted((pygame.K_UP, pygame.K_LEFT)))
    assert np.allclose(mapping[up_left], [-1.0, 1.0])
    assert np.allclose(mapping[tuple(sorted((pygame.K_LEFT, pygame.K_RIGHT)))], [0.0, 0.0])
    discrete = keys_to_action("discrete")
    meta = keys_to_action("meta")  # LANE_LEFT, IDLE, LANE_RIGHT, FASTER, SLOWER
    assert meta[(pygame.K_UP,)] == 3 and meta[(pygame.K_LEFT,)] == 0 and meta[(pygame.K_DOWN,)] == 4
    assert discrete[(pygame.K_UP,)] == 1 and discrete[(pygame.K_DOWN,)] == 2


def test_pyproject_uses_the_spdx_license_string():
    from pathlib import Path

    import tomllib

    pyproject = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    assert pyproject["project"]["license"] == "MIT"  # the table form is deprecated
    assert any(r.startswith("setuptools>=77") for r in pyproject["build-system"]["requires"])


@pytest.mark.parametrize(
    ("env_id", "fields", "named"),
    [
        (
            "roadgym/Town-v0",
            {"grid_size": 8, "block_min_m": 300.0, "block_max_m": 300.0, "meters_per_pixel": 0.05},
            "grid_size, block_max_m",
        ),
        (
            "roadgym/Track-v0",
            {"track_length_min_m": 3000.0, "track_length_max_m": 3000.0, "meters_per_pixel": 0.05},
            "track_length_max_m",
        ),
    ],
)
def test_rasters_that_need_gigabytes_raise_a_clear_config_error(env_id, fields, named):
    with pytest.raises(ConfigError, match=rf"GiB.*meters_per_pixel.*{named}"):
        gym.make_vec(env_id, num_envs=16, **VECTOR, **fields)
