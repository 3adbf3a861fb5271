"""Trace one town driven by the expert with several controlled cars: what each car
waits for in the last steps before a car fails (a stall or a collision), and, for a
collision with an NPC car, that car's state.

    python experiments/multiagent/trace_town.py 5400017 --agents 8 --watch 3,6

World ``i`` of ``town_expert_all_cars.py --seed S`` is town ``S + i``, run here alone (the
same rollout: a world's episode does not depend on the other worlds of a vector env).
Each row: the car's arc length ``s``, speed ``v``, the object ahead on its route and
which car it is (``npcK`` or ``carK``), the next stop line (distance, kind 1 light /
2 stop sign, light state), the merge rival's gap, whether it is its turn at a stop sign,
whether it yields left, its stop-sign claim, and the expert's throttle.
"""

from __future__ import annotations

import argparse
import collections

import numpy as np

from roadgym.drivers.expert import ExpertDriver
from roadgym.envs.multiagent import make_multi_agent_vector_env
from roadgym.envs.town import ego as town_ego
from roadgym.envs.town import junctions
from roadgym.envs.town.agents import vehicles_seen
from roadgym.envs.town.state import distance_sq
from roadgym.envs.town.traffic import left_turn_yield

CAUSES = (
    "success",
    "collisions_vehicle",
    "collisions_pedestrian",
    "agent_collisions",
    "stalled",
    "off_road",
    "off_route",
    "red_light_violations",
)


def _rows(world, expert: ExpertDriver, actions: np.ndarray) -> list[dict]:
    """One row per controlled car of town 0: what the expert sees and does."""
    agents, n = world.num_agents, world.veh_s.shape[1]
    scene = town_ego.scene_ahead(world)
    half = 0.5 * world.config.car_length_m
    points = town_ego.route_points(world, world.s_m[:, None] + half + town_ego.SCENE_AHEAD_M)
    seen, _, _ = vehicles_seen(world)
    near = distance_sq(points[:, :, None, :], seen[:, None]) < town_ego.VEHICLE_CORRIDOR_M**2
    any_k = near.any(2)
    k = np.argmax(any_k, 1)
    who = np.where(any_k.any(1), np.argmax(near[np.arange(agents), k], 1), -1)
    merge_gap, _ = expert._merge_leader(world)  # noqa: SLF001
    turn = expert._my_turn(world)  # noqa: SLF001
    _, yield_left = left_turn_yield(world, world.light_state)
    mv = junctions.movements(world)
    rows = []
    for c in range(agents):
        name = "-" if who[c] < 0 else (f"npc{who[c]}" if who[c] < n else f"car{who[c] - n}")
        rows.append(
            {
                "car": c,
                "s": round(float(world.s_m[c]), 1),
                "v": round(float(world.car.speed_mps[c]), 2),
                "xy": (round(float(world.car.x_m[c]), 1), round(float(world.car.y_m[c]), 1)),
                "ahead": f"{name}@{float(scene['object_distance_m'][c]):.1f}",
                "line": (
                    round(float(scene["line_distance_m"][c]), 1),
                    int(scene["line_kind"][c]),
                    int(scene["line_light"][c]),
                ),
                "merge": round(float(merge_gap[c]), 1),
                "turn": bool(turn[c]),
                "yield_left": bool(yield_left[c]),
                "connector": int(mv["lane"][0, n + c]),
                "to_connector": round(float(mv["to_line_m"][0, n + c]), 1),
                "claim": int(world.ego_claim_event[c]),
                "throttle": round(float(actions[c, 1]), 2),
                "done": bool(world.finished[c] or not world.present[c]),
            }
        )
    return rows


def _npc_report(world, car: int) -> str:
    """The NPC car nearest controlled car ``car``: where it is, its lanes, its speed."""
    x, y = world.car.x_m[car], world.car.y_m[car]
    j = int(np.argmin(np.hypot(world.veh_xy[0, :, 0] - x, world.veh_xy[0, :, 1] - y)))
    return (
        f"npc{j} xy {world.veh_xy[0, j].round(1)} heading {world.veh_heading[0, j]:.2f} "
        f"speed {world.veh_speed[0, j]:.2f} lanes {world.veh_lane[0, j]} "
        f"s {world.veh_s[0, j]:.1f}; car {car} xy ({x:.1f}, {y:.1f}) heading "
        f"{world.car.heading_rad[car]:.2f} speed {world.car.speed_mps[car]:.2f}"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("seed", type=int, help="the town's seed")
    parser.add_argument("--agents", type=int, default=8)
    parser.add_argument("--watch", default="", help="cars to print (default: every car)")
    parser.add_argument("--history", type=int, default=6, help="rows kept before a failure")
    parser.add_argument("--every", type=int, default=5, help="steps between kept rows")
    parser.add_argument("--max-steps", type=int, default=3000)
    args = parser.parse_args(argv)
    env = make_multi_agent_vector_env("roadgym/Town-v0", 1, args.agents)
    observation, _ = env.reset(seed=args.seed)
    expert = ExpertDriver(env)
    world = env.world
    watch = {int(c) for c in args.watch.split(",") if c}
    history: collections.deque = collections.deque(maxlen=args.history)
    done = np.zeros(args.agents, dtype=bool)
    for step in range(args.max_steps):
        actions, _ = expert.predict(observation)
        if step % args.every == 0:
            history.append((step, _rows(world, expert, actions)))
        observation, _, terminated, truncated, info = env.step(actions)
        ending = info["agent_active"] & ~done & (terminated | truncated)
        for c in np.flatnonzero(ending):
            causes = [key for key in CAUSES if info[key][c] > 0]
            print(f"step {step} car {c}: {causes} completion {info['route_completion'][c]:.2f}")
            if info["success"][c]:
                continue
            for at, rows in history:
                print(f"  step {at}")
                for row in rows:
                    if (not watch or row["car"] in watch or row["car"] == c) and not row["done"]:
                        print("   ", row)
            if info["collisions_vehicle"][c] and not info["agent_collisions"][c]:
                print("  ", _npc_report(world, c))
        done |= ending
        if done.all():
            break
    print(f"end step {step}, controlled pairs {int(info['controlled_collisions'][0])}")


if __name__ == "__main__":
    main()
