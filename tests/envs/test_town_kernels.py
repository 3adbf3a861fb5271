"""The numba kernels of the Town step against the numpy reference (``roadgym[fast]``).

Both backends step the same worlds; discrete outcomes (lanes, ends, collisions, lights,
labels, pixels) must be equal and floats equal to a tight tolerance.
"""

from __future__ import annotations

import copy as copy_module
import subprocess
import sys

import numpy as np
import pytest

from roadgym.envs.core import kernels
from roadgym.envs.town.config import TownConfig
from roadgym.envs.town.world import TownWorld


def _rollout(backend: str, steps: int, **config) -> list[dict[str, np.ndarray]]:
    with kernels.use_backend(backend):
        world = TownWorld(TownConfig(observation="rgb+semantic+state", **config), 4)
        for index in range(4):
            world.reset_world(index, np.random.default_rng(300 + index))
        rng = np.random.default_rng(1)
        trace = []
        for _ in range(steps):
            controls = rng.uniform(-1.0, 1.0, (world.num_cars, 2))
            controls[:, 0] *= 0.2
            controls[:, 1] = 0.5 * controls[:, 1] + 0.5
            reward, terminated = world.step(controls)
            record = {"reward": reward, "terminated": terminated, "lights": world.light_state}
            record.update({f"obs_{k}": v for k, v in world.observe().items()})
            record.update({f"label_{k}": v for k, v in world.labels().items()})
            record.update({f"info_{k}": v for k, v in world.infos().items()})
            for name in ("veh_lane", "veh_s", "veh_speed", "veh_xy", "veh_heading"):
                record[name] = getattr(world, name)
            for name in ("veh_committed", "veh_waiting_since", "ped_xy", "ped_waiting"):
                record[name] = getattr(world, name)
            for name in ("route_stop_done", "ego_claim_event", "ego_wait_since"):
                record[name] = getattr(world, name)
            for name in ("s_m", "lateral_offset_m", "route_segment", "heading_error_rad"):
                record[name] = getattr(world, name)
            record.update({f"metric_{k}": v for k, v in world.metrics.items()})
            record["stall_anchor_m"] = world.stall.anchor_m
            record["stall_steps"] = world.stall.steps_since_progress
            trace.append({k: np.array(v, copy=True) for k, v in record.items()})
    return trace


def assert_same_rollouts(
    reference: list[dict[str, np.ndarray]], other: list[dict[str, np.ndarray]]
) -> None:
    """Every array of every step equal (floats within 1e-9), naming the first that is not."""
    for step, (want, got) in enumerate(zip(reference, other, strict=True)):
        for name, value in want.items():
            if value.dtype.kind == "f":
                np.testing.assert_allclose(
                    got[name], value, rtol=1e-9, atol=1e-9, err_msg=f"{name} at step {step}"
                )
            else:
                np.testing.assert_array_equal(got[name], value, err_msg=f"{name} at step {step}")


@pytest.mark.skipif(not kernels.numba_available(), reason="numba not installed")
@pytest.mark.parametrize("config", [{}, {"num_agents": 3}], ids=["one-car", "three-cars"])
def test_numba_kernels_step_the_town_as_numpy_does(config: dict) -> None:
    reference = _rollout("numpy", 100, **config)
    compiled = _rollout("numba", 100, **config)
    assert_same_rollouts(reference, compiled)
    # The rollout must exercise the kernels: cars moving, some of them following others.
    assert reference[-1]["veh_speed"].max() > 1.0


@pytest.mark.skipif(not kernels.numba_available(), reason="numba not installed")
def test_outcome_kernel_finds_the_collisions_numpy_finds() -> None:
    # Random driving rarely hits anyone: put NPC cars and pedestrians around the ego
    # cars at random headings, then compare one reward_and_end on each backend.
    from roadgym.envs.town import ego

    world = TownWorld(TownConfig(), 16)
    for index in range(16):
        world.reset_world(index, np.random.default_rng(500 + index))
    rng = np.random.default_rng(3)
    centre = np.stack([world.car.x_m, world.car.y_m], -1)[:, None]
    world.ped_xy[:, :6] = centre + rng.uniform(-3.5, 3.5, (16, 6, 2))
    world.veh_xy[:, :4] = centre + rng.uniform(-7.0, 7.0, (16, 4, 2))
    world.veh_heading[:, :4] = rng.uniform(-np.pi, np.pi, (16, 4))
    world.car.heading_rad[:] = rng.uniform(-np.pi, np.pi, 16)
    previous_s = world.s_m - rng.uniform(0.0, 1.0, 16)
    red, stop = rng.integers(0, 2, 16), rng.integers(0, 2, 16)
    results = []
    for backend in ("numpy", "numba"):
        copy = copy_module.deepcopy(world)
        with kernels.use_backend(backend):
            reward, terminated = ego.reward_and_end(copy, previous_s, red, stop)
        results.append((reward, terminated, copy.metrics, copy.stall.steps_since_progress))
    (reward, terminated, metrics, stall), (reward2, terminated2, metrics2, stall2) = results
    np.testing.assert_array_equal(reward2, reward)
    np.testing.assert_array_equal(terminated2, terminated)
    np.testing.assert_array_equal(stall2, stall)
    for name, value in metrics.items():
        np.testing.assert_array_equal(metrics2[name], value, err_msg=name)
    # The setup must exercise both tests and both outcomes of each.
    assert 0 < metrics["collisions_vehicle"].sum() < 16
    assert 0 < metrics["collisions_pedestrian"].sum() < 16


@pytest.mark.skipif(not kernels.numba_available(), reason="numba not installed")
def test_splat_kernel_draws_the_actors_numpy_draws_even_on_the_reach_line() -> None:
    # The kernel picks the actors in view by squared distance, numpy by hypot: actors
    # placed on the reach line (either side of it by rounding) must leave no pixel.
    from roadgym.envs.core.sprites import ActorSplatter, box_samples

    rng = np.random.default_rng(1)
    splatter = ActorSplatter(64, 0.75, 0.5)
    samples = box_samples(4.5, 2.0, 0.25)
    reach = splatter.view_radius_m + np.abs(samples).max() * 1.5
    drawn = 0
    for _ in range(10):
        ego, heading = rng.uniform(-50, 50, (6, 2)), rng.uniform(-np.pi, np.pi, 6)
        angle, distance = rng.uniform(-np.pi, np.pi, (6, 30)), rng.uniform(0, 1.3 * reach, (6, 30))
        distance[:, :5] = reach * (1 + rng.uniform(-1e-12, 1e-12, (6, 5)))
        centre = ego + splatter.camera_centre_forward_m * np.stack(
            [np.cos(heading), np.sin(heading)], -1
        )
        actors = centre[:, None] + distance[..., None] * np.stack(
            [np.cos(angle), np.sin(angle)], -1
        )
        actor_heading, valid = rng.uniform(-np.pi, np.pi, (6, 30)), rng.random((6, 30)) < 0.8
        views = []
        for backend in ("numpy", "numba"):
            view = np.zeros((6, 64, 64), np.uint8)
            with kernels.use_backend(backend):
                splatter.splat(view, ego, heading, actors, actor_heading, samples, 7, valid)
            views.append(view)
        np.testing.assert_array_equal(views[1], views[0])
        drawn += int((views[0] == 7).sum())
    assert drawn > 0


def test_backend_setting_is_validated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kernels, "_from_env", None)  # read the variable again
    monkeypatch.setenv(kernels.ENV_VAR, "fortran")
    with pytest.raises(ValueError, match="ROADGYM_KERNELS = 'fortran'; allowed"):
        kernels.use_numba()
    monkeypatch.setenv(kernels.ENV_VAR, "numpy")
    assert not kernels.use_numba()
    with pytest.raises(ValueError, match="backend = 'gpu'"):
        with kernels.use_backend("gpu"):
            pass


def test_import_roadgym_does_not_import_numba() -> None:
    # numba costs ~0.5 s to import: only the first step that uses a kernel pays it.
    code = (
        "import sys, roadgym, gymnasium; gymnasium.make('roadgym/Town-v0'); "
        "print('numba' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
