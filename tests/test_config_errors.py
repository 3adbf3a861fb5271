"""One validation style: every config names the field, the value and what is allowed, and
raises the one ConfigError (a ValueError), whichever layer it belongs to."""

from __future__ import annotations

import importlib

import pytest

from roadgym.envs import ConfigError

CASES = [
    ("roadgym.envs.track.config", "TrackConfig", {"num_lanes": 9}, "num_lanes = 9"),
    ("roadgym.envs.town.config", "TownConfig", {"idm_accel_mps2": 0.0}, "idm_accel_mps2 = 0.0"),
    ("roadgym.perception.encoders", "NatureCNNConfig", {"features_dim": 0}, "features_dim = 0"),
    ("roadgym.perception.trainer", "TrainConfig", {"lr": 0.0}, "lr = 0.0"),
    ("roadgym.perception.augment", "AugmentConfig", {"crop_padding": -1}, "crop_padding = -1"),
    ("roadgym.perception.distill", "DistillConfig", {"alpha": 2.0}, "alpha = 2.0"),
    ("roadgym.perception.multitask", "MultiTaskConfig", {"tasks": ()}, "tasks = ()"),
    ("roadgym.perception.labelled", "LabelledDatasetConfig", {"num_envs": 0}, "num_envs = 0"),
    ("roadgym.perception.gan.config", "GanConfig", {"lr_g": 0.0}, "lr_g = 0.0"),
    ("roadgym.agents.imitation.config", "ImitationConfig", {"beta": 2.0}, "beta = 2.0"),
    ("roadgym.agents.imitation.final", "FinalFit", {"samples": -1}, "samples = -1"),
]


@pytest.mark.parametrize(("module", "name", "fields", "shown"), CASES, ids=[c[1] for c in CASES])
def test_bad_value_names_field_value_and_allowed(module, name, fields, shown):
    config_class = getattr(importlib.import_module(module), name)
    with pytest.raises(ConfigError, match=rf"^{name}\.{shown}.*allowed: ") as error:
        config_class(**fields)
    assert isinstance(error.value, ValueError)
