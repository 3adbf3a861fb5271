"""The stall rule (Track and Town) and Town's light plan: shared phases, permissive lefts."""

import gymnasium as gym
import numpy as np
import pytest

import roadgym  # noqa: F401  (registers the env ids)
from roadgym.drivers.expert import ExpertDriver
from roadgym.envs.core.config import ConfigError
from roadgym.envs.town import TownConfig, TownWorld
from roadgym.envs.town.generator import CONTROL_LIGHT, TURN_LEFT, TURN_STRAIGHT
from roadgym.envs.town.traffic import LIGHT_RED, light_states

BRAKE = np.array([0.0, -1.0], np.float32)
# A light plan with a 5 s cycle, so that the shortest allowed stall timeout is 10 s.
FAST_LIGHTS = {"green_s": 1.0, "yellow_s": 0.5, "all_red_s": 0.0, "walk_s": 2.0}


def make_world(batch: int, seeds, **fields) -> TownWorld:
    world = TownWorld(TownConfig(**fields), batch)
    for i, seed in enumerate(seeds):
        world.reset_world(i, np.random.default_rng(seed))
    return world


def _stand_until_end(env, max_steps: int):
    for step in range(1, max_steps + 1):
        _, reward, terminated, truncated, info = env.step(BRAKE)
        if terminated or truncated:
            return step, reward, terminated, info
    return None, None, None, None


@pytest.mark.parametrize(
    ("env_id", "fields", "timeout_steps"),
    [
        ("roadgym/Track-v0", {"stall_timeout_s": 3.0}, 30),
        ("roadgym/Town-v0", {**FAST_LIGHTS, "stall_timeout_s": 10.0}, 100),
    ],
)
def test_standing_still_ends_the_episode_at_the_timeout_with_the_penalty(
    env_id, fields, timeout_steps
):
    env = gym.make(env_id, observation="state", **fields)
    env.reset(seed=4)
    step, reward, terminated, info = _stand_until_end(env, 3 * timeout_steps)
    config = env.unwrapped.config
    assert step == timeout_steps and terminated and info["stalled"]
    assert reward == pytest.approx(-config.step_penalty - config.stall_penalty)
    # The vector env ends every standing world on the same step, with the same reward.
    envs = gym.make_vec(
        env_id, num_envs=3, vectorization_mode="vector_entry_point", observation="state", **fields
    )
    envs.reset(seed=4)
    for k in range(1, timeout_steps + 1):
        _, rewards, terminated, _, infos = envs.step(np.tile(BRAKE, (3, 1)))
        assert terminated.all() == (k == timeout_steps) and terminated.any() == terminated.all()
    assert infos["stalled"].all()
    np.testing.assert_allclose(rewards, reward)


@pytest.mark.parametrize("env_id", ["roadgym/Track-v0", "roadgym/Town-v0"])
def test_a_zero_timeout_disables_the_stall_rule(env_id):
    env = gym.make(env_id, observation="state", stall_timeout_s=0.0)
    env.reset(seed=4)
    step, *_ = _stand_until_end(env, 150)
    assert step is None


def test_waiting_then_moving_restarts_the_clock():
    # Stand 8.5 s, drive on 1.5 m, stand 9 s again: never 10 s without 1 m of progress.
    world = make_world(1, [4], stall_timeout_s=10.0, num_vehicles=0, **FAST_LIGHTS)
    for _ in range(85):
        assert not world.step(BRAKE[None])[1][0]
    start = world.s_m[0]
    while world.s_m[0] < start + 1.5:
        assert not world.step(np.array([[0.0, 1.0]]))[1][0]
    for _ in range(90):
        assert not world.step(BRAKE[None])[1][0]
    assert not world.infos()["stalled"][0]
    # Standing on, the rule ends it within the next second.
    ends = [world.step(BRAKE[None])[1][0] for _ in range(10)]
    assert any(ends) and world.infos()["stalled"][0]


def test_the_expert_waits_at_red_lights_and_is_never_ended_by_the_stall_rule():
    # The shortest timeout allowed under the default lights: two cycles (64 s).
    envs = gym.make_vec(
        "roadgym/Town-v0",
        num_envs=4,
        vectorization_mode="vector_entry_point",
        observation="state",
        stall_timeout_s=64.0,
        autoreset_mode=gym.vector.AutoresetMode.SAME_STEP,
    )
    envs.reset(seed=30)
    world, expert = envs.world, ExpertDriver(envs)
    done = np.zeros(4, dtype=bool)
    red_wait_steps = 0
    b = np.arange(4)
    for _ in range(800):
        event = np.argmax(world.route_stop_s - world.s_m[:, None] > -0.5, axis=1)
        app = world.route_stop_approach[b, event]
        at_red = (world.light_state[b, app] == LIGHT_RED) & (world.car.speed_mps < 0.05)
        red_wait_steps += int((at_red & ~done).sum())
        action, _ = expert.predict(None)
        _, _, terminated, truncated, infos = envs.step(action)
        assert not infos["stalled"][~done].any()
        ended = (terminated | truncated) & ~done
        if ended.any():
            assert infos["final_info"]["success"][ended].all()
        done |= ended
    assert done.sum() >= 2
    assert red_wait_steps > 100  # it did stand at red lights, for over 10 s in all


def test_a_timeout_shorter_than_two_light_cycles_is_rejected():
    with pytest.raises(ConfigError, match="stall_timeout_s = 50.0 is shorter than two light"):
        TownConfig(stall_timeout_s=50.0)
    TownConfig(stall_timeout_s=0.0)  # off is fine


def _perpendicular(world: TownWorld, i: int) -> np.ndarray:
    """(Q, Q): approaches of one junction whose stop lines are perpendicular (from geometry)."""
    town = world.towns[i]
    line = town.approach_stop_line[:, 1] - town.approach_stop_line[:, 0]
    line /= np.linalg.norm(line, axis=1, keepdims=True)
    cross = np.abs(line[:, None, 0] * line[None, :, 1] - line[:, None, 1] * line[None, :, 0])
    same = town.approach_junction[:, None] == town.approach_junction[None, :]
    return same & (cross > 0.9)


def test_perpendicular_approaches_are_never_green_together_and_a_cycle_is_at_most_35_s():
    seeds = range(40, 60)
    world = make_world(len(seeds), seeds, num_vehicles=0, num_pedestrians=0)
    cycle_steps = int(world.approach_cycle.max())
    go = []  # (T, B, Q): the light lets cars go (green or yellow)
    for t in range(cycle_steps):
        world.step_count[:] = t
        go.append(light_states(world) > LIGHT_RED)
    go = np.array(go)
    checked = 0
    for i in range(len(seeds)):
        q = world.towns[i].num_approaches
        lit = world.approach_kind[i, :q] == CONTROL_LIGHT
        perpendicular = _perpendicular(world, i) & lit[:, None] & lit[None, :]
        both = go[:, i, :q, None] & go[:, i, None, :q]
        assert not (both & perpendicular).any()
        checked += perpendicular.sum()
        # Every light has its green in each cycle; opposing approaches share it.
        assert go[:, i, :q][:, lit].any(axis=0).all()
        degree = world.towns[i].junction_degree[world.towns[i].approach_junction[:q]]
        four_way = lit & (degree == 4)
        cycle_s = world.approach_cycle[i, :q][four_way] * world.config.dt_s
        assert (cycle_s <= 35.0).all()
    assert checked > 50


def _left_turn_scene(world: TownWorld):
    """Lanes for NPC 0 turning left at a light and NPC 1 coming straight the other way."""
    b = 0
    q = world.towns[b].num_approaches
    for a in range(q):
        o = int(world.approach_opposite[b, a])
        if world.approach_kind[b, a] != CONTROL_LIGHT or o < 0:
            continue
        lanes = np.arange(len(world.towns[b].lane_graph))
        src = lanes[world.lane_approach[b, lanes] == a]
        opp = lanes[world.lane_approach[b, lanes] == o]
        graph = world.towns[b].lane_graph
        turn = world.lane_turn[b]
        left = [(r, c) for r in src for c in graph[r].successors if turn[c] == TURN_LEFT]
        straight = [(r, c) for r in opp for c in graph[r].successors if turn[c] == TURN_STRAIGHT]
        if left and straight:
            return a, left[0], straight[0]
    raise AssertionError("no light junction with a left turn and an oncoming straight")


def _run_left_turn(oncoming: bool, steps: int = 90):
    world = make_world(1, [7], num_vehicles=2, num_pedestrians=0)
    a, (left_road, left_conn), (opp_road, opp_conn) = _left_turn_scene(world)
    graph = world.towns[0].lane_graph
    half = 0.5 * world.config.car_length_m
    world.veh_lane[0, 0] = (left_road, left_conn, graph[left_conn].successors[0])
    world.veh_s[0, 0] = world.lane_length_m[0, left_road] - half - 1.0
    world.veh_speed[0, 0] = 0.0
    if oncoming:
        world.veh_lane[0, 1] = (opp_road, opp_conn, graph[opp_conn].successors[0])
        world.veh_s[0, 1] = max(world.lane_length_m[0, opp_road] - half - 22.0, 0.0)
        world.veh_speed[0, 1] = 9.0
    else:  # the second car stands at the start of the left-turner's lane, behind it
        world.veh_lane[0, 1] = world.veh_lane[0, 0]
        world.veh_s[0, 1] = 0.0
        world.veh_speed[0, 1] = 0.0
    # Start the shared green of approach a on the next step.
    phase, slot = world.phase_steps, int(world.approach_slot[0, a])
    offset, cycle = int(world.approach_offset[0, a]), int(world.approach_cycle[0, a])
    world.step_count[0] = (slot * phase - offset - 1) % cycle
    world._place_actors()
    entered, oncoming_cleared = None, None
    for t in range(steps):
        world.step(BRAKE[None].astype(np.float64))
        if entered is None and world.veh_lane[0, 0, 0] == left_conn:
            entered = t
        lane1 = world.veh_lane[0, 1, 0]
        if oncoming and oncoming_cleared is None and lane1 not in (opp_road, opp_conn):
            oncoming_cleared = t
    return entered, oncoming_cleared


def test_an_npc_left_turner_yields_to_an_oncoming_car_then_turns():
    alone, _ = _run_left_turn(oncoming=False)
    assert alone is not None and alone < 30  # with nobody coming it turns at once
    entered, cleared = _run_left_turn(oncoming=True)
    assert cleared is not None  # the oncoming car went straight through
    assert entered is None or entered > cleared  # the left-turner waited for it
