"""The Town expert driving several controlled cars of a town: every rule reads each
car's own town, and the right of way between controlled cars never makes two of them
wait for each other."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from roadgym.drivers.expert import ExpertDriver
from roadgym.envs import town
from roadgym.envs.multiagent import make_multi_agent_vector_env
from roadgym.envs.town import ego as town_ego
from roadgym.envs.town.sidewalks import EDGE_JAYWALK

SMALL_TOWN = {"camera_size_px": 16, "num_vehicles": 6, "num_pedestrians": 4}
CAR_LENGTH_M = 4.5


def test_the_expert_drives_every_car_of_several_towns():
    env = make_multi_agent_vector_env("roadgym/Town-v0", 2, 3, **SMALL_TOWN)
    observation, _ = env.reset(seed=7)
    expert = ExpertDriver(env)
    for _ in range(5):
        actions, _ = expert.predict(observation)
        assert actions.shape == (6, 2) and np.isfinite(actions).all()
        observation, *_ = env.step(actions)


def test_a_crossing_pedestrian_holds_only_the_cars_of_its_own_town():
    env = make_multi_agent_vector_env("roadgym/Town-v0", 2, 2, **SMALL_TOWN)
    env.reset(seed=3)
    w = env.world
    w.ped_waiting[:] = True  # nobody crosses ...
    # ... but person 0 of town 1, across the route of car 1 of town 1 (car 3), 6 m ahead.
    half = 0.5 * w.config.car_length_m
    point, behind = town_ego.route_points(w, w.s_m[3] + half + np.array([[6.0, 5.0]]))[3]
    along = (point - behind) / np.linalg.norm(point - behind)
    normal = np.array([-along[1], along[0]])
    w.walk_xy[1, w.ped_from[1, 0]] = point - 2.0 * normal
    w.walk_xy[1, w.ped_to[1, 0]] = point + 2.0 * normal
    w.ped_kind[1, 0], w.ped_waiting[1, 0] = EDGE_JAYWALK, False
    distance = ExpertDriver._crossing_pedestrian_m(w)  # noqa: SLF001
    assert distance.shape == (4,)
    assert np.isinf(distance[:2]).all()  # town 0's cars: nobody crossing there
    assert 0.0 <= distance[3] < 6.0  # car 3 waits before the crossing


def _join(monkeypatch, to_line_m, speed_mps, connector_m=(20.0, 10.0, 10.0, 10.0)):
    """A town of controlled cars only, car i on connector i, every connector joining
    street lane 4; connectors 0-3 start at stop lines (approaches 0-3)."""
    agents = len(to_line_m)
    world = SimpleNamespace(
        veh_s=np.zeros((1, 0)),
        num_agents=agents,
        num_cars=agents,
        batch_size=1,
        agent_world=np.zeros(agents, dtype=np.int64),
        config=SimpleNamespace(car_length_m=CAR_LENGTH_M),
        lane_successors=np.array([[[4], [4], [4], [4], [0]]]),
        lane_length_m=np.array([[*connector_m, 50.0]]),
        lane_from_approach=np.array([[0, 1, 2, 3, -1]]),
    )
    movements = {
        "lane": np.arange(agents)[None],
        "to_line_m": np.array([to_line_m], dtype=float),
        "speed": np.array([speed_mps], dtype=float),
    }
    monkeypatch.setattr(town.junctions, "movements", lambda _: movements)
    return ExpertDriver._merge_leader(world)  # noqa: SLF001


def test_a_car_in_the_junction_does_not_yield_at_its_exit_to_one_waiting_at_its_line(
    monkeypatch,
):
    # Town 5200055: car 0 turns left through the junction (4.6 m over its line, 15.4 m
    # from the join); car 1 stands at its stop sign 1.2 m before its line (11.2 m from
    # the join) until the junction is empty. Car 0 yielding to it waited for ever.
    gap, _ = _join(monkeypatch, [-4.6, 1.2], [0.0, 0.0])
    assert np.isinf(gap).all()
    # Once car 1 moves past its line it is nearer the join, and car 0 lets it in first.
    gap, speed = _join(monkeypatch, [-4.6, -0.5], [0.0, 2.0])
    assert gap[0] == pytest.approx(15.4 - 9.5 - CAR_LENGTH_M) and speed[0] == 2.0
    assert np.isinf(gap[1])


@pytest.mark.parametrize("to_join_m", [(8.0, 8.0, 8.0, 8.0), (9.0, 6.0, 6.0, 12.0)])
def test_controlled_cars_at_a_join_never_all_wait_for_each_other(monkeypatch, to_join_m):
    # Four cars moving into one lane past their lines; the nearest (ties: the lowest
    # index) goes first and each of the others follows one car nearer the join.
    to_line = [d - length for d, length in zip(to_join_m, (20.0, 10.0, 10.0, 10.0), strict=True)]
    gap, speed = _join(monkeypatch, to_line, [3.0, 3.0, 3.0, 3.0])
    order = sorted(range(4), key=lambda car: (to_join_m[car], car))
    assert np.isinf(gap[order[0]])
    assert np.isfinite(gap[order[1:]]).all() and (speed[order[1:]] == 3.0).all()


@pytest.mark.parametrize("agents", [1, 2])
def test_a_car_at_a_stop_sign_waits_for_an_npc_pulling_into_the_junction(monkeypatch, agents):
    # Towns 2000128, 2000184, 2000248: an NPC went at its stop sign; from its bumper half
    # a metre over the line until its centre reached the connector the world counted it
    # neither waiting nor inside, and the controlled car whose turn came next met it there.
    env = make_multi_agent_vector_env("roadgym/Town-v0", 1, agents, **SMALL_TOWN)
    env.reset(seed=5)
    w = env.world
    street = np.flatnonzero(~w.lane_is_connector[0])
    w.veh_lane[0] = street[:, None][: w.veh_lane.shape[1]]  # every NPC out of the junctions
    w.veh_committed[:] = False
    w.veh_stop_junction[:] = -1
    w.veh_stop_key[:] = np.iinfo(np.int64).max // 4
    approach = next(
        lane
        for lane in street
        if w.lane_approach[0, lane] >= 0 and w.lane_is_connector[0, w.lane_successors[0, lane, 0]]
    )
    connector = w.lane_successors[0, approach, 0]
    junction = int(w.lane_junction[0, connector])
    claim = np.full(agents, -1)
    claim[0] = junction
    monkeypatch.setattr(w, "ego_stop_claim", lambda: (claim, np.zeros(agents, dtype=np.int64)))
    monkeypatch.setattr(
        w, "car_in_junction", lambda: np.zeros((agents, w.junction_cycle.shape[1]), dtype=np.int64)
    )
    assert ExpertDriver._my_turn(w)[0]  # noqa: SLF001
    w.veh_lane[0, 0] = [approach, connector, w.lane_successors[0, connector, 0]]
    w.veh_s[0, 0] = w.lane_length_m[0, approach] - 1.0  # bumper over the line
    w.veh_committed[0, 0] = True
    assert not ExpertDriver._my_turn(w)[0]  # noqa: SLF001
