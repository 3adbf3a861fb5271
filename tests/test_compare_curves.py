"""The comparison figure: several runs' TensorBoard logs drawn into one PNG."""

from __future__ import annotations

import numpy as np
import pytest

from roadgym.tools.compare_curves import _running_mean, plot_comparison


def _log(folder, slope):
    from torch.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(str(folder))
    for step in range(0, 5000, 500):
        writer.add_scalar("driving/route_completion", slope * step / 5000, step)
    writer.close()
    return folder


def test_two_runs_make_one_png(tmp_path):
    pytest.importorskip("matplotlib")
    runs = {"a": _log(tmp_path / "a", 1.0), "b": _log(tmp_path / "b", 0.5)}
    out = plot_comparison(runs, tmp_path / "fig.png", tags={"driving/route_completion": "rc"})
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_running_mean_is_causal():
    values = np.array([0.0, 2.0, 4.0, 6.0])
    np.testing.assert_allclose(_running_mean(values, 2), [0.0, 1.0, 3.0, 5.0])
