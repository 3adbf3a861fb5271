"""An untrained PPO policy with the Town student's architecture, to start PPO from.

The PPO comparison of this folder (RESULTS.md) changes only how the network starts: every
arm trains the student's network (a NatureCNN over the newest camera frame joined with
the ``nav`` vector, 256-unit actor and critic layers) on the same observation
(``observation='rgb+nav'``, ``frame_stack=4``) with the same hyperparameters. This module
writes the arms' common starting point, a *random* student::

    python experiments/pretraining/init_policy.py --out runs/compare-init/scratch-s0.zip --seed 0
    roadgym train --algo ppo --env roadgym/Town-v0 --init-from runs/compare-init/scratch-s0.zip
    # + --pretrained perception/checkpoint.pt [--freeze]: the encoder from a classifier

The weights are SB3's usual initialisation (orthogonal, ``log_std`` 0: an action std of
1, as PPO from scratch), not the student's (which starts its ``log_std`` at -1.6 for
behaviour cloning). A ``config.yaml`` beside the zip names the env settings, which
``--init-from`` reads.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym
import yaml
from stable_baselines3 import PPO

from roadgym.perception.atomic import atomic_write_text

__all__ = ["STUDENT_ENV_KWARGS", "save_random_student"]

STUDENT_ENV_KWARGS: dict[str, Any] = {"observation": "rgb+nav", "frame_stack": 4}
"""What the comparison's arms see: the round-10 student's observation (4 speeds). The
student shipped now sees 10 (``roadgym/agents/pretrained/town-student.json``)."""


def save_random_student(
    path: str | Path,
    *,
    seed: int = 0,
    env_id: str = "roadgym/Town-v0",
    env_kwargs: dict[str, Any] | None = None,
    template: str | Path | None = None,
    log_std_init: float = 0.0,
    ortho_init: bool = True,
) -> Path:
    """Write an untrained PPO zip with the student's architecture (and its ``config.yaml``).

    :param path: the zip to write; ``config.yaml`` goes beside it (one init per folder).
    :param seed: seeds the weights.
    :param template: a student zip whose ``policy_kwargs`` give the architecture; None takes
        the shipped ``town-student``.
    :param log_std_init: initial log std of the Gaussian policy (0: SB3's default).
    :param ortho_init: SB3's orthogonal initialisation (its default for PPO).
    """
    from stable_baselines3.common.vec_env import DummyVecEnv

    import roadgym  # noqa: F401  (registers the env ids)
    from roadgym.agents.imitation.finetune import load_student

    if template is None:
        from roadgym.agents.pretrained import __file__ as pretrained_init

        template = Path(pretrained_init).with_name("town-student.zip")
    env_kwargs = dict(STUDENT_ENV_KWARGS if env_kwargs is None else env_kwargs)
    policy_kwargs = dict(load_student(template).policy_kwargs)
    policy_kwargs.update(log_std_init=float(log_std_init), ortho_init=bool(ortho_init))
    venv = DummyVecEnv([lambda: gym.make(env_id, **env_kwargs)])
    try:
        model = PPO("MultiInputPolicy", venv, seed=seed, device="cpu", policy_kwargs=policy_kwargs)
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.stem}.partial.zip")
        model.save(temporary)  # SB3 writes in place; the rename makes it atomic
        temporary.replace(path)
    finally:
        venv.close()
    document = {
        "algo": "ppo",
        "env_id": env_id,
        "seed": seed,
        "source": "experiments/pretraining/init_policy.py (untrained)",
        env_id: {"policy": "MultiInputPolicy", "env_kwargs": env_kwargs},
    }
    atomic_write_text(
        path.with_name("config.yaml"),
        "# An untrained student-shaped policy.\n" + yaml.safe_dump(document, sort_keys=False),
    )
    return path


def main(argv: Sequence[str] | None = None) -> int:
    """``python experiments/pretraining/init_policy.py --out ZIP [--seed N]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="zip to write")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--template", type=Path, help="student zip (default: town-student)")
    parser.add_argument("--log-std-init", type=float, default=0.0)
    args = parser.parse_args(argv)
    path = save_random_student(
        args.out, seed=args.seed, template=args.template, log_std_init=args.log_std_init
    )
    print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
