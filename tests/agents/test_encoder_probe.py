"""The linear probe behind the pretraining study (experiments/pretraining/)."""

from __future__ import annotations

import numpy as np

from tests.experiment_scripts import load_experiment

_probe = load_experiment("pretraining/encoder_probe.py")
_statistics, ridge_r2 = _probe._statistics, _probe.ridge_r2


def test_ridge_probe_finds_a_linear_target_and_not_noise():
    rng = np.random.default_rng(0)
    x_train, x_test = rng.normal(size=(400, 8)), rng.normal(size=(400, 8))
    weights = rng.normal(size=(8, 1))
    linear = ridge_r2(x_train, x_train @ weights, x_test, x_test @ weights, alpha=1e-3)
    noise = ridge_r2(x_train, rng.normal(size=(400, 1)), x_test, rng.normal(size=(400, 1)), 1.0)
    assert linear[0] > 0.999
    assert noise[0] < 0.05


def test_statistics_see_scale_dead_units_and_rank():
    rng = np.random.default_rng(0)
    features = np.zeros((500, 6))
    features[:, :2] = np.abs(rng.normal(size=(500, 2))) * 10.0  # 2 live units, 4 dead
    stats = _statistics(features)
    assert stats["dead_share"] == 4 / 6
    assert 1.5 < stats["participation_ratio"] < 2.01
    assert stats["mean_l2_norm"] > 10.0
