"""How a student runs stop signs: its speeds before each stop-sign line it crosses unstopped.

Usage: ``python experiments/town_student/stop_signs.py [--seed 1000100] [--worlds 32]
[--steps 2000] [--model runs/.../student.zip]`` (default: the shipped ``town-student``).

The student drives ``--worlds`` towns from ``--seed`` (batched, autoresetting) for
``--steps`` steps. A stop counts when the car stands (below 0.3 m/s) with its front
bumper from 2 m before the line to 0.5 m past it. For every stop-sign violation this
prints the slowest speed in the last 8 s before the line and where it happened, and the
slowest speed inside that stretch: a car that stopped short and crept over the line
differs from one that rolled through it.
"""

from __future__ import annotations

import argparse
from collections import deque

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode

from roadgym.agents import load_pretrained
from roadgym.agents.imitation.rollouts import student_actor
from roadgym.agents.loading import load_agent
from roadgym.envs.town.generator import CONTROL_STOP
from roadgym.envs.town.state import gather_rows
from roadgym.envs.town.traffic import STOP_LINE_REACHED_M

HISTORY_STEPS = 80  # 8 s at Town's 0.1 s step


def _next_stop_line_m(world) -> np.ndarray:
    """(B,) front bumper to the nearest stop-sign line not yet passed (inf: none)."""
    kind = gather_rows(world.by_car(world.approach_kind), world.route_stop_approach)
    distance = world.route_stop_s - world.s_m[:, None] - 0.5 * world.config.car_length_m
    distance = np.where((kind == CONTROL_STOP) & (distance > -1.0), distance, np.inf)
    return distance.min(axis=1)


def main() -> None:
    """Drive, record, print one line per violation and a summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1_000_100)
    parser.add_argument("--worlds", type=int, default=32)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--model", help="a student zip (default: the shipped town-student)")
    args = parser.parse_args()
    agent = load_agent(args.model) if args.model else load_pretrained("town-student")
    act = student_actor(agent.model.policy)
    envs = gym.make_vec(
        agent.env_id,
        num_envs=args.worlds,
        vectorization_mode="vector_entry_point",
        autoreset_mode=AutoresetMode.SAME_STEP,
        **dict(agent.env_kwargs),
    )
    observations, _ = envs.reset(seed=args.seed)
    world = envs.world
    history = [deque(maxlen=HISTORY_STEPS) for _ in range(args.worlds)]
    kinds = {"stopped short, crept over": 0, "rolled through": 0}
    for _ in range(args.steps):
        before = world.metrics["stop_sign_violations"].copy()
        distance, speed = _next_stop_line_m(world), world.car.speed_mps.copy()
        for b in range(args.worlds):
            history[b].append((distance[b], speed[b]))
        observations, _, terminated, truncated, _ = envs.step(act(observations))
        violated = (world.metrics["stop_sign_violations"] > before) & ~(terminated | truncated)
        for b in np.flatnonzero(violated):
            track = np.array(history[b])  # (T, 2): distance to the line (m), speed (m/s)
            near = track[:, 0] < 12.0
            if not near.any():
                continue
            slowest = int(np.argmin(np.where(near, track[:, 1], np.inf)))
            zone = near & (track[:, 0] < STOP_LINE_REACHED_M)
            in_zone = track[zone, 1].min() if zone.any() else float("nan")
            short = track[slowest, 1] < 0.3 and track[slowest, 0] >= STOP_LINE_REACHED_M
            kinds["stopped short, crept over" if short else "rolled through"] += 1
            print(
                f"world {b}: slowest {track[slowest, 1]:.2f} m/s at {track[slowest, 0]:.1f} m "
                f"before the line; slowest within {STOP_LINE_REACHED_M:.0f} m of it "
                f"{in_zone:.2f} m/s"
            )
            history[b].clear()
        for b in np.flatnonzero(terminated | truncated):
            history[b].clear()
    envs.close()
    print(kinds)


if __name__ == "__main__":
    main()
