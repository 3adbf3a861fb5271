"""The numba kernels of a Town reset (street lanes, junction movements, lane table, sidewalk
graph, A*, connectivity checks, NPC spawns, light bar pixels) against numpy.

The rollouts of ``test_town_kernels.py`` reset worlds on both backends too; these check
the towns and routes themselves, on the configs that shape them most differently, and
the answers a default town never asks for (no route, a graph that is not connected).
"""

from __future__ import annotations

import numpy as np
import pytest

from roadgym.envs.core import kernels
from roadgym.envs.town import generator, routing
from roadgym.envs.town.config import TownConfig

pytestmark = pytest.mark.skipif(not kernels.numba_available(), reason="numba not installed")

CONFIGS = [
    {},
    {"grid_size": 3},
    {"grid_size": 8, "two_lane_fraction": 0.7},
    {"meters_per_pixel": 1.0, "street_removal_fraction": 0.4, "grid_size": 6},
]
FLOATS = ("xy", "heading", "cum_s", "length_m", "speed_limit_mps")


def _town_and_route(backend: str, config: dict, seed: int):
    with kernels.use_backend(backend):
        cfg = TownConfig(**config)
        rng = np.random.default_rng(seed)
        town = generator.generate_town(rng, cfg)
        route = routing.sample_route(rng, town, cfg.route_length_min_m, cfg.route_length_max_m)
    return town, route


@pytest.mark.parametrize("config", CONFIGS, ids=["default", "grid3", "grid8", "coarse"])
def test_towns_and_routes_are_the_numpy_ones(config: dict) -> None:
    for seed in range(6):
        want, want_route = _town_and_route("numpy", config, seed)
        got, got_route = _town_and_route("numba", config, seed)
        np.testing.assert_array_equal(got.lanes.num_segments, want.lanes.num_segments)
        for name in ("street_start", "street_end", "street_half_width_m", "marking_xy"):
            np.testing.assert_allclose(getattr(got, name), getattr(want, name), atol=1e-12)
        np.testing.assert_array_equal(got.marking_dashed, want.marking_dashed)
        for name in ("lane_is_connector", "lane_junction", "lane_turn", "lane_from_approach"):
            np.testing.assert_array_equal(getattr(got, name), getattr(want, name), err_msg=name)
        for name in ("neighbours", "edge_kind", "edge_junction", "crosswalk_along"):
            np.testing.assert_array_equal(
                getattr(got.sidewalks, name), getattr(want.sidewalks, name), err_msg=name
            )
        for name in ("node_xy", "crosswalk_centre", "crosswalk_half_width_m"):
            np.testing.assert_allclose(
                getattr(got.sidewalks, name), getattr(want.sidewalks, name), atol=1e-12
            )
        assert got.lanes.successors == want.lanes.successors
        for name in FLOATS:
            np.testing.assert_allclose(
                getattr(got.lanes, name),
                getattr(want.lanes, name),
                rtol=0,
                atol=1e-12,
                err_msg=f"{name}, seed {seed}",
            )
        assert got_route.lanes == want_route.lanes, f"seed {seed}"
        assert all(type(lane) is int for lane in got_route.lanes)
        np.testing.assert_allclose(got_route.line.vertices, want_route.line.vertices, atol=1e-12)
        # The speed limits of turns come from the curves: some must be below the limit.
        assert (want.lanes.speed_limit_mps < TownConfig(**config).speed_limit_mps).any()


def test_a_star_kernel_finds_the_python_routes_and_reports_none() -> None:
    from roadgym.envs.town.kernels.lane_search import shortest_lanes

    with kernels.use_backend("numpy"):
        town = generator.generate_town(np.random.default_rng(7), TownConfig())
    table = town.lanes
    starts, lengths = table.xy[:, 0], table.length_m
    successors, number = table.successor_table()
    rng = np.random.default_rng(0)
    for start, goal in rng.integers(len(lengths), size=(150, 2)).tolist():
        if start == goal:
            continue
        want = routing._shortest_lanes(starts, lengths.tolist(), table.successors, start, goal)
        heuristic = np.hypot(*(starts - starts[goal]).T)
        got = shortest_lanes(heuristic, lengths, successors, number, start, goal)
        assert got.tolist() == want
    # Lane 1 leads nowhere: no route from it to lane 0.
    dead_end = np.array([[1], [0]]), np.array([1, 0])
    assert len(shortest_lanes(np.zeros(2), np.ones(2), *dead_end, 1, 0)) == 0


def test_connectivity_kernel_says_what_python_says() -> None:
    from roadgym.envs.town.kernels.lane_search import strongly_connected

    graphs = [
        [[1], [2], [0]],  # a cycle: connected
        [[1], [2], []],  # a dead end
        [[1, 2], [0], [1]],  # 2 is reached from 0 and leads back through 1: connected
        [[1], [0], [0]],  # nothing reaches 2
        [[1], [0], [3], [2]],  # two cycles apart
    ]
    answers = [strongly_connected(*_table(successors)) for successors in graphs]
    assert answers == [generator._lanes_strongly_connected(g) for g in graphs]
    assert answers == [True, False, True, False, False]


def _table(successors: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    number = np.array([len(row) for row in successors])
    table = np.zeros((len(successors), max(number)), dtype=np.int64)
    for lane, row in enumerate(successors):
        table[lane, : len(row)] = row
    return table, number


def test_street_connectivity_kernel_says_what_python_says() -> None:
    from roadgym.envs.town.kernels.lane_search import arms_strongly_connected

    rng = np.random.default_rng(0)
    answers = []
    for n in range(3, 8):
        full = np.zeros((n, n, 4), dtype=bool)
        full[:, :-1, 0] = full[:, 1:, 2] = True
        full[:-1, :, 1] = full[1:, :, 3] = True
        for _ in range(40):  # streets removed at random (one way only, too)
            arms = full & (rng.random(full.shape) > rng.uniform(0.0, 0.3))
            present = generator._arm_bits(arms)
            if not any(present):
                continue
            want = generator._arms_strongly_connected(present, n)
            assert arms_strongly_connected(*present, n) == want, (n, present)
            answers.append(want)
    assert any(answers) and not all(answers)


def _spawned(backend: str, seed: int, **config) -> tuple | str:
    from roadgym.envs.town.spawn import SpawnError
    from roadgym.envs.town.world import TownWorld

    with kernels.use_backend(backend):
        world = TownWorld(TownConfig(**config), 1)
        rng = np.random.default_rng(seed)
        try:
            world.reset_world(0, rng)
        except SpawnError as error:
            return str(error)
    return world.veh_lane.copy(), world.veh_s.copy(), world.ped_from.copy(), rng.random()


def test_npc_spawns_are_the_numpy_ones_in_a_crowded_town() -> None:
    """40 cars in a 3x3 town need the box test and the systematic search; 90 do not fit."""
    for seed in range(4):
        want = _spawned("numpy", seed, grid_size=3, num_vehicles=40)
        got = _spawned("numba", seed, grid_size=3, num_vehicles=40)
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_allclose(got[1], want[1], rtol=0, atol=1e-12)
        np.testing.assert_array_equal(got[2], want[2])  # the pedestrians drawn after them
        assert got[3] == want[3]  # the generator left in the same state
    refused = _spawned("numba", 0, grid_size=3, num_vehicles=90)
    assert refused == _spawned("numpy", 0, grid_size=3, num_vehicles=90)
    assert "TownConfig.num_vehicles = 90" in refused


def test_light_bar_pixels_are_the_numpy_ones() -> None:
    from roadgym.envs.town import raster

    cfg = TownConfig(traffic_light_fraction=1.0, meters_per_pixel=0.25)
    side_px = int(np.ceil(generator.max_town_extent_m(cfg) / cfg.meters_per_pixel)) + 8
    for seed in range(4):
        town = generator.generate_town(np.random.default_rng(seed), cfg)
        frame = raster.town_frame(town, side_px, cfg.meters_per_pixel)
        with kernels.use_backend("numpy"):
            want, want_count = raster.light_bar_table(town, frame, side_px)
        with kernels.use_backend("numba"):
            got, got_count = raster.light_bar_table(town, frame, side_px)
        np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(got_count, want_count)
        assert want_count.sum() > 0
