"""numba kernel of the controlled cars' stop lines: :func:`roadgym.envs.town.ego.stop_line_events`.

Red-light and stop-sign violations and the ego car's place in a stop-sign queue, car by
car and line by line: the numpy code's comparisons, with one subtraction order for the
distance to a line, so the results are identical (some 35 numpy calls a step become one).
"""

from __future__ import annotations

import numpy as np

from roadgym.envs.core.kernels import njit
from roadgym.envs.town.generator import CONTROL_LIGHT, CONTROL_STOP
from roadgym.envs.town.kernels.npc import LIGHT_RED
from roadgym.envs.town.state import BIG_STEP


@njit
def stop_line_events(
    stop_s,
    approach,
    approach_kind,
    lights,
    car_world,
    previous_s,
    s_m,
    speed,
    stop_done,
    claim_event,
    wait_since,
    step_count,
    timeout_steps,
    half,
    reached_m,
    control_light,
    control_stop,
    light_red,
    big_step,
):
    """``(red, stop, claim_event, wait_since)`` (C,) each; updates ``stop_done`` (C, E).

    ``timeout_steps`` is the stop duration plus the ego claim's timeout, in steps.
    """
    cars, events = stop_s.shape
    red = np.zeros(cars, dtype=np.int64)
    stop = np.zeros(cars, dtype=np.int64)
    new_claim = np.empty_like(claim_event)
    new_since = np.empty_like(wait_since)
    for c in range(cars):
        w = car_world[c]
        standing = speed[c] < 0.3
        first_waiting = -1
        for e in range(events):
            line = stop_s[c, e]
            kind = approach_kind[w, approach[c, e]]
            crossed = line > previous_s[c] and line <= s_m[c]
            if crossed and kind == control_light and lights[w, approach[c, e]] == light_red:
                red[c] += 1
            distance = line - s_m[c] - half
            at_line = kind == control_stop and distance > -0.5 and distance < reached_m
            if at_line and standing:
                stop_done[c, e] = True
                if first_waiting < 0:
                    first_waiting = e
            if crossed and kind == control_stop and not stop_done[c, e]:
                stop[c] += 1
        claim = claim_event[c]
        if claim >= 0:
            passed = s_m[c] >= stop_s[c, claim]
            timed_out = standing and step_count[w] - wait_since[c] > timeout_steps
            if passed or timed_out:
                claim = -1
        if claim < 0 and first_waiting >= 0:
            new_claim[c] = first_waiting
            new_since[c] = step_count[w]
        else:
            new_claim[c] = claim
            new_since[c] = wait_since[c] if claim >= 0 else big_step
    return red, stop, new_claim, new_since


def ego_stop_lines(world, previous_s, lights, timeout_steps, reached_m):
    """:func:`roadgym.envs.town.ego.stop_line_events` for ``world`` (a ``TownState``):
    returns ``(red, stop)`` (C,) and updates the ego cars' stop claims and lines done."""
    red, stop, world.ego_claim_event, world.ego_wait_since = stop_line_events(
        world.route_stop_s,
        world.route_stop_approach,
        world.approach_kind,
        lights,
        world.agent_world,
        previous_s,
        world.s_m,
        world.car.speed_mps,
        world.route_stop_done,
        world.ego_claim_event,
        world.ego_wait_since,
        world.step_count,
        timeout_steps,
        0.5 * world.config.car_length_m,
        reached_m,
        CONTROL_LIGHT,
        CONTROL_STOP,
        LIGHT_RED,
        BIG_STEP,
    )
    return red, stop
