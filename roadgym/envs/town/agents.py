"""Several controlled cars in a town: what each sees of the others, and their
collisions with each other (``num_agents`` > 1; see :class:`TownState`)."""

from __future__ import annotations

import numpy as np

from roadgym.envs.town.state import FAR_AWAY_M, TownState


def vehicles_seen(world: TownState) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Positions (C, V, 2), speeds and headings (C, V) of the cars each controlled car
    has around it: the NPCs, then (with several cars a world) the other controlled cars
    (itself and those removed far away)."""
    by_car = world.by_car
    veh_xy, speed, heading = (
        by_car(world.veh_xy),
        by_car(world.veh_speed),
        by_car(world.veh_heading),
    )
    if world.num_agents == 1:
        return veh_xy, speed, heading
    shape = (world.batch_size, world.num_agents)
    own_xy = world.ego_xy().reshape(*shape, 2)[world.agent_world]  # (C, A, 2), a copy
    gone = ~world.present.reshape(shape)[world.agent_world]
    gone[np.arange(world.num_cars), np.arange(world.num_cars) % world.num_agents] = True
    own_xy[gone] = FAR_AWAY_M
    own_speed = world.car.speed_mps.reshape(shape)[world.agent_world]
    own_heading = world.car.heading_rad.reshape(shape)[world.agent_world]
    return (
        np.concatenate([veh_xy, own_xy], axis=1),
        np.concatenate([speed, own_speed], axis=1),
        np.concatenate([heading, own_heading], axis=1),
    )


def agent_collisions(world: TownState) -> np.ndarray:
    """Controlled cars (C,) that newly overlap another controlled car (both in the world,
    one at least still driving); counts them per car and the pairs per world."""
    a, cfg = world.num_agents, world.config
    shape = (world.batch_size, a)
    driving = ~world.finished.reshape(shape)
    present = world.present.reshape(shape)
    xy = world.ego_xy().reshape(*shape, 2)
    heading = world.car.heading_rad.reshape(shape)
    upper = np.triu(np.ones((a, a), dtype=bool), k=1)[None]
    d = xy[:, None, :, :] - xy[:, :, None, :]  # (B, A, A, 2): j from i
    near = upper & (np.square(d).sum(-1) < cfg.car_length_m**2 + cfg.car_width_m**2)
    near &= present[:, :, None] & present[:, None, :]
    near &= driving[:, :, None] | driving[:, None, :]
    bb, ii, jj = np.nonzero(near)
    hit = np.zeros(world.num_cars, dtype=bool)
    if len(bb) == 0:
        return hit
    overlap = _boxes_overlap(xy[bb, ii], heading[bb, ii], xy[bb, jj], heading[bb, jj], cfg)
    bb, ii, jj = bb[overlap], ii[overlap], jj[overlap]
    for side in (ii, jj):  # a parked car is not hit again
        keep = driving[bb, side]
        hit[(bb * a + side)[keep]] = True
    world.agent_collisions += hit
    np.add.at(world.controlled_collisions, bb, 1)
    return hit


def _boxes_overlap(xy_a, heading_a, xy_b, heading_b, cfg) -> np.ndarray:
    """Whether car boxes ``a`` and ``b`` (K pairs) overlap: separating axis test."""
    half_length, half_width = 0.5 * cfg.car_length_m, 0.5 * cfg.car_width_m
    fa = np.stack([np.cos(heading_a), np.sin(heading_a)], -1)
    fb = np.stack([np.cos(heading_b), np.sin(heading_b)], -1)
    la, lb = np.stack([-fa[:, 1], fa[:, 0]], -1), np.stack([-fb[:, 1], fb[:, 0]], -1)
    d = xy_b - xy_a
    separated = np.zeros(len(d), dtype=bool)
    for axis in (fa, la, fb, lb):
        ra = half_length * np.abs((fa * axis).sum(-1)) + half_width * np.abs((la * axis).sum(-1))
        rb = half_length * np.abs((fb * axis).sum(-1)) + half_width * np.abs((lb * axis).sum(-1))
        separated |= np.abs((d * axis).sum(-1)) > ra + rb
    return ~separated
