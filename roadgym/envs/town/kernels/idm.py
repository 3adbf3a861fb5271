"""numba kernel of the NPC cars' speed update: IDM against the three constraints.

The twin of the IDM block of :func:`roadgym.envs.town.traffic.step_vehicles` (three
:func:`roadgym.envs.town.traffic.idm_accel` calls, their minimum, the clamp and the
integration): some 40 numpy calls a step, whatever the batch size. The free-road term
``1 - (v / v0) ** 4`` stays in numpy (``pow`` is not an IEEE-exact operation; it is the
same for the three constraints, so it is computed once); the rest is +, -, *, / and
comparisons in numpy's order, and ``x ** 2`` is numpy's ``square``, ``x * x``.
"""

from __future__ import annotations

import numpy as np

from roadgym.envs.core.kernels import njit


@njit
def _maximum(a, b):
    """``np.maximum`` of two floats (NaN propagates from ``a``)."""
    return a if (a >= b or a != a) else b


@njit
def _minimum(a, b):
    """``np.minimum`` of two floats (NaN propagates from ``a``)."""
    return a if (a <= b or a != a) else b


@njit
def _idm(v, free, gap, dv, min_gap, headway, two_sqrt_ab, a):
    s_star = min_gap + _maximum(0.0, v * headway + v * dv / two_sqrt_ab)
    ratio = s_star / _maximum(gap, 0.1)
    return a * (free - ratio * ratio)


@njit
def idm_advance(
    s,
    v,
    free,
    leader_gap,
    leader_speed,
    corridor_gap,
    line_gap,
    min_gap,
    headway,
    two_sqrt_ab,
    a,
    max_brake,
    dt,
):
    """New arc lengths and speeds (B, N) after one IDM step of the NPC cars."""
    batch, n = s.shape
    new_s = np.empty((batch, n))
    new_v = np.empty((batch, n))
    for b in range(batch):
        for i in range(n):
            vi, f = v[b, i], free[b, i]
            accel = _idm(
                vi, f, leader_gap[b, i], vi - leader_speed[b, i], min_gap, headway, two_sqrt_ab, a
            )
            accel = _minimum(
                accel, _idm(vi, f, corridor_gap[b, i], vi, min_gap, headway, two_sqrt_ab, a)
            )
            accel = _minimum(
                accel, _idm(vi, f, line_gap[b, i], vi, min_gap, headway, two_sqrt_ab, a)
            )
            accel = _minimum(_maximum(accel, -max_brake), a)
            nv = _maximum(vi + accel * dt, 0.0)
            new_v[b, i] = nv
            new_s[b, i] = s[b, i] + 0.5 * (vi + nv) * dt
    return new_s, new_v


def idm_step(cfg, s, v, v0, leader_gap, leader_speed, corridor_gap, line_gap):
    """New arc lengths and speeds (B, N) of the NPC cars: the IDM block of
    :func:`roadgym.envs.town.traffic.step_vehicles` with its constants from ``cfg``
    (a ``TownConfig``); the free-road term, :func:`~roadgym.envs.town.traffic.idm_accel`'s
    ``1 - (v / max(v0, 0.1)) ** 4``, in numpy, once for the three constraints."""
    a, b = cfg.idm_accel_mps2, cfg.idm_comfort_brake_mps2
    free = 1.0 - (v / np.maximum(v0, 0.1)) ** 4
    return idm_advance(
        s,
        v,
        free,
        leader_gap,
        leader_speed,
        corridor_gap,
        line_gap,
        cfg.idm_min_gap_m,
        cfg.idm_time_headway_s,
        2.0 * np.sqrt(a * b),
        a,
        cfg.max_brake_mps2,
        cfg.dt_s,
    )
