"""Right of way that always resolves: queued cars do not hold a left-turner, a waiting
left-turner clears on the start of the yellow, and pedestrians do not step in front of
a car on their crossing."""

import numpy as np

from roadgym.envs.town import TownConfig, TownWorld
from roadgym.envs.town.generator import CONTROL_LIGHT, TURN_LEFT, TURN_STRAIGHT
from roadgym.envs.town.junctions import (
    LIGHT_GREEN,
    clearing_left_turn,
    left_turn_yield,
    movements,
    queued,
)
from roadgym.envs.town.sidewalks import EDGE_CROSSWALK

BRAKE = np.array([[0.0, -1.0]])


def test_a_car_standing_behind_another_before_the_same_line_is_queued():
    mv = {
        "road_lane": np.array([[5, 5, 5, 6, -1]]),
        "to_line_m": np.array([[0.5, 7.4, 30.0, 7.4, -3.0]]),
        "speed": np.array([[0.0, 0.0, 8.0, 0.0, 0.0]]),
    }
    # Only the car standing 7 m behind the car at the line waits in a queue; the moving
    # one, the one alone on lane 6 and the one inside the junction do not.
    assert queued(mv).tolist() == [[False, True, False, False, False]]


def _light_junction_setup(world: TownWorld):
    """A light junction's approach q with a left-turn connector, the opposite approach's
    left and straight connectors, and their road lanes (world 0)."""
    lane_from, turn = world.lane_from_approach[0], world.lane_turn[0]
    mv = movements(world)
    ego_source = world.lane_from_approach[0, mv["lane"][0, -1]]
    for q in np.flatnonzero(world.approach_kind[0] == CONTROL_LIGHT):
        opposite = world.approach_opposite[0, q]
        if opposite < 0 or ego_source in (q, opposite):
            continue
        left = np.flatnonzero((lane_from == q) & (turn == TURN_LEFT))
        their_left = np.flatnonzero((lane_from == opposite) & (turn == TURN_LEFT))
        their_straight = np.flatnonzero((lane_from == opposite) & (turn == TURN_STRAIGHT))
        if len(left) and len(their_left) and len(their_straight):
            return q, left[0], their_left[0], their_straight[0]
    raise AssertionError("no light junction with opposing left and straight movements")


def _place(world: TownWorld, n: int, connector: int, to_line_m: float, speed_mps: float):
    """NPC ``n`` on the road lane feeding ``connector``, ``to_line_m`` before its line."""
    road = int(np.flatnonzero((world.lane_successors[0] == connector).any(1))[0])
    world.veh_lane[0, n] = (road, connector, world.lane_successors[0, connector, 0])
    half = 0.5 * world.config.car_length_m
    world.veh_s[0, n] = world.lane_length_m[0, road] - half - to_line_m
    world.veh_speed[0, n] = speed_mps


def test_left_turner_waits_for_oncoming_traffic_but_not_for_a_queue():
    world = TownWorld(TownConfig(num_vehicles=3), 1)
    world.reset_world(0, np.random.default_rng(4))
    q, left, their_left, their_straight = _light_junction_setup(world)
    green = np.full_like(world.light_state, LIGHT_GREEN)
    # Car 2 waits at its line to turn left. Opposite: car 0 also waits to turn left (no
    # conflict: opposing left turns pass each other) and car 1, going straight, stands
    # behind it: it cannot come before car 0 goes, so car 2 may go.
    _place(world, 2, left, 0.5, 0.0)
    _place(world, 0, their_left, 0.5, 0.0)
    _place(world, 1, their_straight, 7.4, 0.0)
    assert not left_turn_yield(world, green)[0][0, 2]
    # The same straight-on car moving in, nobody in front of it: car 2 yields.
    _place(world, 0, their_left, 40.0, 0.0)  # out of the way, far back on its lane
    _place(world, 1, their_straight, 12.0, 8.0)
    assert left_turn_yield(world, green)[0][0, 2]


def test_an_oncoming_car_past_the_turn_no_longer_holds_a_left_turner():
    # 5400006: an oncoming car entering the junction at the end of the green held a
    # waiting left-turner until it left the junction, past the clearing yellow, every
    # cycle; once its rear is past the turn's path it is going away.
    world = TownWorld(TownConfig(num_vehicles=3), 1)
    world.reset_world(0, np.random.default_rng(4))
    _, left, their_left, their_straight = _light_junction_setup(world)
    green = np.full_like(world.light_state, LIGHT_GREEN)
    _place(world, 2, left, 0.5, 0.0)  # waits at its line to turn left
    _place(world, 0, their_left, 40.0, 0.0)  # far back, out of the way
    half, length = 0.5 * world.config.car_length_m, world.lane_length_m[0, their_straight]
    successor = world.lane_successors[0, their_straight, 0]
    world.veh_lane[0, 1] = (their_straight, successor, world.lane_successors[0, successor, 0])
    world.veh_speed[0, 1] = 6.0
    world.veh_s[0, 1] = half  # just in: it crosses the turn's path ahead
    assert left_turn_yield(world, green)[0][0, 2]
    world.veh_s[0, 1] = length - 0.5  # about to leave: its rear is past the turn's path
    assert not left_turn_yield(world, green)[0][0, 2]


def test_a_waiting_left_turner_clears_on_the_start_of_the_yellow_only():
    world = TownWorld(TownConfig(num_vehicles=3), 1)
    world.reset_world(0, np.random.default_rng(4))
    q, left, _, their_straight = _light_junction_setup(world)
    cycle, offset = world.approach_cycle[0, q], world.approach_offset[0, q]
    start = world.approach_slot[0, q] * world.phase_steps + world.green_steps
    world.step_count[0] = (start - offset) % cycle  # the first step of q's yellow

    def clears(connector: int, line_m: float) -> bool:
        return bool(
            clearing_left_turn(world, np.array([q]), np.array([connector]), np.array([line_m]))[0]
        )

    assert clears(left, 0.5)
    assert not clears(left, 10.0)  # not waiting at the line: stops for the yellow
    assert not clears(their_straight, 0.5)  # only left turns clear
    world.step_count[0] += 15  # 1.5 s into the yellow: too late to start
    assert not clears(left, 0.5)


def _crosswalk_at_stop_sign(world: TownWorld) -> tuple[int, int, int]:
    kind, junction = world.walk_kind[0], world.walk_junction[0]
    for a, slot in zip(*np.nonzero(kind == EDGE_CROSSWALK), strict=True):
        j = junction[a, slot]
        if not world.junction_is_light[0, j]:
            return int(a), int(world.walk_neighbours[0, a, slot]), int(j)
    raise AssertionError("no crosswalk at a stop-sign junction")


def test_pedestrian_does_not_step_in_front_of_a_car_on_the_crosswalk():
    world = TownWorld(TownConfig(num_vehicles=0, num_pedestrians=1), 1)
    world.reset_world(0, np.random.default_rng(2))
    a, b, j = _crosswalk_at_stop_sign(world)
    start, end = world.walk_xy[0, a], world.walk_xy[0, b]
    world.ped_from[0, 0], world.ped_to[0, 0] = a, b
    world.ped_kind[0, 0], world.ped_junction[0, 0] = EDGE_CROSSWALK, j
    world.ped_edge_length_m[0, 0] = np.hypot(*(end - start))
    world.ped_progress_m[0, 0] = 0.0
    world.ped_waiting[0, 0], world.ped_jaywalker[0, 0] = True, False
    # The ego car stands on the middle of the crossing: no gap rule sees a standing car,
    # but nobody walks into it.
    world.car.x_m[0], world.car.y_m[0] = 0.5 * (start + end)
    world.car.speed_mps[0] = 0.0
    for _ in range(20):
        world.step(BRAKE)
        assert world.ped_waiting[0, 0] and world.ped_progress_m[0, 0] == 0.0
    # The car gone, the pedestrian crosses.
    world.car.x_m[0] += 500.0
    world.step(BRAKE)
    assert not world.ped_waiting[0, 0] and world.ped_progress_m[0, 0] > 0.0
