import numpy as np
import pytest

from roadgym.envs.core.config import ConfigError
from roadgym.envs.town import TownConfig, generate_town, plan_route, sample_route
from roadgym.envs.town.generator import CONTROL_NONE, TURN_LEFT, TURN_RIGHT, TURN_STRAIGHT
from roadgym.envs.town.sidewalks import EDGE_CROSSWALK, MAX_DEGREE


def town(seed: int, **fields):
    return generate_town(np.random.default_rng(seed), TownConfig(**fields))


def reachable(graph, start: int, reverse: bool = False) -> set[int]:
    edges = {lane.lane_id: list(lane.successors) for lane in graph.lanes}
    if reverse:
        back: dict[int, list[int]] = {k: [] for k in edges}
        for a, succs in edges.items():
            for b in succs:
                back[b].append(a)
        edges = back
    seen, stack = {start}, [start]
    while stack:
        for nxt in edges[stack.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return seen


def test_same_seed_same_town_and_different_seeds_differ():
    a, b, c = town(3), town(3), town(4)
    assert len(a.lane_graph) == len(b.lane_graph)
    for la, lb in zip(a.lane_graph.lanes, b.lane_graph.lanes, strict=True):
        np.testing.assert_array_equal(la.centreline.vertices, lb.centreline.vertices)
    assert len(a.lane_graph) != len(c.lane_graph) or not np.allclose(a.junction_xy, c.junction_xy)


@pytest.mark.parametrize("seed", range(6))
def test_every_lane_reaches_every_other_and_streets_were_removed(seed):
    t = town(seed)
    graph = t.lane_graph
    assert len(reachable(graph, 0)) == len(graph) == len(reachable(graph, 0, reverse=True))
    full_grid_streets = 2 * 5 * 4
    assert len(t.streets) < full_grid_streets
    # Connectors join a road lane's end to the next road lane's start, within a junction.
    for lane in graph.lanes:
        if t.lane_is_connector[lane.lane_id]:
            (succ,) = lane.successors
            assert not t.lane_is_connector[succ]
            np.testing.assert_allclose(
                lane.centreline.vertices[-1], graph[succ].centreline.vertices[0], atol=1e-6
            )
        else:
            assert all(t.lane_is_connector[s] for s in lane.successors)
    assert set(t.lane_turn[t.lane_is_connector]) <= {TURN_LEFT, TURN_STRAIGHT, TURN_RIGHT}


def test_two_way_streets_have_one_or_two_lanes_each_way_and_junctions_have_control():
    t = town(1, two_lane_fraction=0.5)
    widths = {round(half / 3.5) for _, _, half in t.streets}
    assert widths == {1, 2}
    controlled = t.junction_control != CONTROL_NONE
    assert (t.junction_degree[controlled] >= 3).all()
    assert (t.junction_degree[~controlled] == 2).all()
    assert t.num_approaches == t.junction_degree[controlled].sum()


def test_sidewalk_graph_is_a_fixed_width_table_with_crosswalks_at_controlled_junctions():
    t = town(2)
    net = t.sidewalks
    assert net.neighbours.shape == (len(net), MAX_DEGREE)
    crossing = net.edge_kind == EDGE_CROSSWALK
    junctions = net.edge_junction[crossing]
    assert crossing.any() and (t.junction_control[junctions] != CONTROL_NONE).all()
    # Edges are symmetric.
    for a, row in enumerate(net.neighbours):
        for b in row[row >= 0]:
            assert a in net.neighbours[b]


def test_a_star_route_is_a_valid_chain_and_shortest():
    t = town(5)
    graph = t.lane_graph
    road = np.flatnonzero(~t.lane_is_connector)
    start, goal = int(road[0]), int(road[-1])
    lanes = plan_route(graph, start, goal)
    assert lanes[0] == start and lanes[-1] == goal
    for a, b in zip(lanes, lanes[1:], strict=False):
        assert b in graph[a].successors
    # Dijkstra by brute force agrees on the cost (A*'s heuristic is admissible).
    lengths = np.array([lane.centreline.length for lane in graph.lanes])
    best = {start: 0.0}
    frontier = [start]
    while frontier:
        lane = frontier.pop()
        for succ in graph[lane].successors:
            cost = best[lane] + lengths[lane]
            if cost < best.get(succ, np.inf) - 1e-9:
                best[succ] = cost
                frontier.append(succ)
    assert lengths[lanes[:-1]].sum() == pytest.approx(best[goal])


def test_sampled_route_is_within_the_length_range_with_events_in_order():
    config = TownConfig()
    t = town(7)
    route = sample_route(np.random.default_rng(0), t, 150.0, 300.0)
    assert config.route_length_min_m <= route.length_m <= config.route_length_max_m
    assert np.all(np.diff(route.stop_s) > 0) and np.all(route.stop_s < route.length_m)
    assert np.all(route.connector_end_s > route.connector_start_s)
    assert len(route.segment_lane) == route.line.num_segments


def test_config_errors_name_the_field_value_and_what_is_allowed():
    with pytest.raises(ConfigError, match=r"TownConfig.grid_size = 2 is out of range"):
        TownConfig(grid_size=2)
    with pytest.raises(ConfigError, match="unknown TownConfig field"):
        TownConfig.build(lanes=3)
    with pytest.raises(ConfigError, match="block_min_m = 80.0 is larger than block_max_m"):
        TownConfig(block_min_m=80.0, block_max_m=60.0)
    with pytest.raises(ConfigError, match="observation = 'lidar' is not allowed"):
        TownConfig(observation="lidar")


def test_a_town_and_its_reset_world_are_a_pure_function_of_the_seed():
    # Caches (street links, scratch images) must not carry anything from one town to the
    # next: the same seed gives the same arrays whatever was generated in between.
    import dataclasses

    from roadgym.envs.town.world import TownWorld

    def arrays(t):
        out = {}
        for f in dataclasses.fields(t):
            value = getattr(t, f.name)
            if dataclasses.is_dataclass(value):
                out.update({f"{f.name}.{k}": v for k, v in arrays(value).items()})
            elif isinstance(value, np.ndarray):
                out[f.name] = value
        return out

    def reset(world, seed):
        world.reset_world(0, np.random.default_rng(seed))
        names = ("rasters", "light_pixels", "route_xy", "veh_lane", "veh_s", "ped_progress_m")
        return {name: getattr(world, name).copy() for name in names}

    first = arrays(town(7))
    world = TownWorld(TownConfig(), batch_size=1)
    state = reset(world, 7)
    for seed in (8, 9):
        town(seed, grid_size=8, two_lane_fraction=0.9)
        reset(world, seed)
    again = arrays(town(7))
    assert first.keys() == again.keys()
    for name, value in first.items():
        np.testing.assert_array_equal(value, again[name], err_msg=name)
    assert town(7).lanes.successors == town(7).lanes.successors
    for name, value in reset(world, 7).items():  # arrays padded to the largest town since
        crop = tuple(slice(0, n) for n in state[name].shape)
        np.testing.assert_array_equal(value[crop], state[name], err_msg=name)
