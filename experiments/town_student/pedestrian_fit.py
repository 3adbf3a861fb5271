"""How well a trained student fits its own pedestrian frames: perception and throttle.

Usage: ``python experiments/town_student/pedestrian_fit.py runs/s27c/waiting-s900``
(an imitation run's folder; ``--rounds 15 19`` the rounds whose data to read). Over the
frames labelled "pedestrian on the route ahead" (``object_ahead`` = 2) of those rounds,
plus 300 others per round, it prints the recall and precision of the student's
``object_ahead`` head and, per situation (moving; standing at a red light; standing at a
green one), the expert's mean throttle against the student's.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from roadgym.agents.imitation.bc import PEDESTRIAN_AHEAD
from roadgym.agents.imitation.student import student_forward
from roadgym.agents.loading import load_agent

TOP_SPEED_MPS = 20.0  # Town's; nav holds speed / top speed
RED, GREEN = 1, 3  # light_state


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--rounds", type=int, nargs=2, default=(15, 19))
    args = parser.parse_args()
    policy = load_agent(args.run / "student.zip").model.policy.eval()
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("frames", "nav", "ahead", "act", "light")}
    for r in range(args.rounds[0], args.rounds[1] + 1):
        data = np.load(args.run / f"round_{r:02d}.npz")
        ahead = data["label_object_ahead"]
        others = np.flatnonzero(ahead != PEDESTRIAN_AHEAD)
        others = np.random.default_rng(r).choice(others, min(300, len(others)), replace=False)
        index = np.sort(np.concatenate([np.flatnonzero(ahead == PEDESTRIAN_AHEAD), others]))
        parts["frames"].append(data["frames"][index])
        parts["nav"].append(data["nav"][index])
        parts["ahead"].append(ahead[index])
        parts["act"].append(data["actions"][index, 1])
        parts["light"].append(data["label_light_state"][index])
    d = {k: np.concatenate(v) for k, v in parts.items()}
    with torch.no_grad():
        mean, _, logits = student_forward(
            policy, torch.from_numpy(d["frames"]), torch.from_numpy(d["nav"])
        )
    said = logits["object_ahead"].argmax(1).numpy() == PEDESTRIAN_AHEAD
    ped = d["ahead"] == PEDESTRIAN_AHEAD
    print(
        f"{ped.sum()} pedestrian frames: head recall {said[ped].mean():.3f}, "
        f"precision {(said & ped).sum() / max(said.sum(), 1):.3f}"
    )
    speed_mps = d["nav"].reshape(len(ped), -1)[:, -3] * TOP_SPEED_MPS
    throttle = mean[:, 1].numpy()
    for name, where in (
        ("moving", ped & (speed_mps >= 0.5)),
        ("standing, red light", ped & (speed_mps < 0.5) & (d["light"] == RED)),
        ("standing, green light", ped & (speed_mps < 0.5) & (d["light"] == GREEN)),
    ):
        if where.any():
            print(
                f"  {name}: {where.sum()} frames, expert throttle {d['act'][where].mean():+.2f}, "
                f"student {throttle[where].mean():+.2f}"
            )


if __name__ == "__main__":
    main()
