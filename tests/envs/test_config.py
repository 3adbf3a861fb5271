import dataclasses

import gymnasium as gym
import pytest

import roadgym  # noqa: F401
from roadgym.envs import ConfigError, TrackConfig
from roadgym.envs.town import TownConfig


def test_defaults_are_valid_and_documented():
    config = TrackConfig()
    for field in dataclasses.fields(config):
        assert field.metadata["doc"], field.name
    assert config.camera_size_px == 64
    assert config.observation == "rgb"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"num_lanes": 5}, r"num_lanes = 5 is out of range; allowed: int in \[1, 3\]"),
        ({"num_lanes": 1.5}, r"num_lanes = 1.5 is not an integer"),
        ({"num_lanes": True}, r"num_lanes = True has type bool"),
        ({"lane_width_m": "wide"}, r"lane_width_m = 'wide' has type str"),
        ({"dt_s": float("nan")}, r"dt_s = nan is out of range"),
        ({"action_type": "joystick"}, r"action_type = 'joystick' is not allowed; allowed: one of"),
        ({"observation": "rgb+lidar"}, r"observation = 'rgb\+lidar' is not allowed"),
        ({"observation": "rgb+rgb"}, r"observation = 'rgb\+rgb' is not allowed"),
        ({"curvature_lookahead_m": (10.0, -1.0)}, r"curvature_lookahead_m\[1\] = -1.0"),
        (
            {"track_length_min_m": 900.0, "track_length_max_m": 500.0},
            r"track_length_min_m = 900.0 is larger than track_length_max_m = 500.0",
        ),
    ],
)
def test_bad_values_name_field_value_and_allowed(fields, message):
    with pytest.raises(ConfigError, match=message):
        TrackConfig(**fields)


def test_unknown_field_lists_allowed_fields():
    with pytest.raises(ConfigError, match=r"unknown TrackConfig field\(s\) 'lanes'.*num_lanes"):
        TrackConfig.build(lanes=2)


def test_ints_are_accepted_for_float_fields():
    assert TrackConfig(lane_width_m=4).lane_width_m == 4.0
    assert isinstance(TrackConfig(lane_width_m=4).lane_width_m, float)


def test_make_accepts_fields_and_config_objects_and_mappings():
    by_fields = gym.make("roadgym/Track-v0", camera_size_px=84, num_lanes=1)
    assert by_fields.observation_space.shape == (84, 84, 3)
    by_config = gym.make("roadgym/Track-v0", config=TrackConfig(camera_size_px=96))
    assert by_config.observation_space.shape == (96, 96, 3)
    merged = gym.make("roadgym/Track-v0", config={"camera_size_px": 96}, camera_size_px=32)
    assert merged.observation_space.shape == (32, 32, 3)


def test_make_rejects_unknown_fields_and_bad_configs():
    with pytest.raises(ConfigError, match="unknown TrackConfig field"):
        gym.make("roadgym/Track-v0", camera_px=84)
    with pytest.raises(ConfigError, match="config = 3 has type int"):
        gym.make("roadgym/Track-v0", config=3)


def _world_configs():
    from roadgym.envs.highway import HighwayConfig, MergeConfig

    return (TrackConfig, TownConfig, HighwayConfig, MergeConfig)


def test_a_field_two_worlds_have_is_declared_once_with_one_range():
    from roadgym.envs.core.config import SHARED_FIELD_GROUPS

    group_of = {
        field.name: (group, field)
        for group in SHARED_FIELD_GROUPS
        for field in dataclasses.fields(group)
    }
    assert len(group_of) == sum(len(dataclasses.fields(g)) for g in SHARED_FIELD_GROUPS)
    worlds = _world_configs()
    for config_class in worlds:
        for field in dataclasses.fields(config_class):
            elsewhere = [
                w
                for w in worlds
                if w is not config_class
                and not issubclass(w, config_class)
                and not issubclass(config_class, w)
                and field.name in {f.name for f in dataclasses.fields(w)}
            ]
            if not elsewhere:
                continue
            assert field.name in group_of, f"{config_class.__name__}.{field.name} is declared twice"
            group, shared = group_of[field.name]
            assert issubclass(config_class, group)
            for key in ("low", "high"):
                assert field.metadata[key] == shared.metadata[key], (field.name, key)
            # A world may add choices (Highway's 'meta' actions), never drop one.
            assert set(shared.metadata["choices"] or ()) <= set(field.metadata["choices"] or ())
            assert field.metadata["doc"].startswith(shared.metadata["doc"]), field.name


@pytest.mark.parametrize(
    ("config_class", "fields", "message"),
    [
        (
            "TownConfig",
            {"idm_min_gap_m": 25.0},
            r"TownConfig.idm_min_gap_m = 25.0 is out of range; allowed: float in \[0.5, 20.0\]",
        ),
        (
            "HighwayConfig",
            {"idm_min_gap_m": 25.0},
            r"HighwayConfig.idm_min_gap_m = 25.0 is out of range; allowed: float in \[0.5, 20.0\]",
        ),
        (
            "TownConfig",
            {"curvature_lookahead_m": (0.0, 600.0)},
            r"TownConfig.curvature_lookahead_m\[1\] = 600.0 is out of range; "
            r"allowed: float in \[0.0, 500.0\]",
        ),
        (
            "TrackConfig",
            {"stall_penalty": -1.0},
            r"TrackConfig.stall_penalty = -1.0 is out of range",
        ),
    ],
)
def test_shared_fields_are_checked_alike_in_every_world(config_class, fields, message):
    classes = {c.__name__: c for c in _world_configs()}
    with pytest.raises(ConfigError, match=message):
        classes[config_class](**fields)


def test_a_world_keeps_its_own_default_and_its_reason_for_it():
    assert TownConfig().stall_timeout_s == 90.0 and TrackConfig().stall_timeout_s == 5.0
    docs = {f.name: f.metadata["doc"] for f in dataclasses.fields(TownConfig)}
    assert "two light cycles" in docs["stall_timeout_s"]
    with pytest.raises(KeyError, match="'lanes' is not a shared config field"):
        from roadgym.envs.core.config import world_default

        world_default("lanes", 3)


def test_one_config_error_for_env_configs_and_run_configs():
    from roadgym.agents.run_config import load_run_config

    # A bad run config is caught by the env's ConfigError, and a bad env config by the
    # agents': one class, so one `except ConfigError` handles either.
    with pytest.raises(ConfigError, match="no_such_key"):
        load_run_config(None, {"algo": "ppo", "no_such_key": 1})
    from roadgym.agents.typed_config import ConfigError as AgentsConfigError

    with pytest.raises(AgentsConfigError, match=r"TrackConfig.num_lanes = 5 is out of range"):
        TrackConfig(num_lanes=5)
