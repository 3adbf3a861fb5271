"""One more fit of a finished imitation run's last student, with the stopping frames weighted.

Usage: ``python experiments/town_student/stop_fit.py runs/imitate-v2-s600 --seed 600``
(writes ``runs/imitate-v2-s600-stopfit/student.zip`` and its ``config.yaml``).

The run's last round's student is fitted once more, as a round would be (3 passes, at
most 120,000 frames drawn from all its rounds' data, the recipe's loss), with
``bc.stopping_weight`` 5: the frames where the expert brakes at 0.3 to 2 m/s, the last
metres into a stop, weigh as much as the transition frames. It answers the student's
main loss on the new world: it rolled over stop-sign lines at 0.3-0.56 m/s.

``student.yaml`` now makes this fit itself, as its ``final`` step (``final.stopping_weight``
5), inside the ``roadgym imitate`` run; this script is kept for the runs made before
(training seeds 500 and 600).
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

import numpy as np
import torch

from roadgym.agents.callbacks import save_model_atomic
from roadgym.agents.imitation.bc import fit_student, stopping_frames
from roadgym.agents.imitation.cli import config_from_args, imitate_parser
from roadgym.agents.imitation.collect import AggregatedData
from roadgym.agents.imitation.dagger import _load_npz, build_student, write_student_config
from roadgym.agents.model_zip import read_model_zip

RECIPE = Path(__file__).with_name("student.yaml")


def main() -> None:
    """Load the run's data and last student, fit, save beside the run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="a finished `roadgym imitate` run of student.yaml")
    parser.add_argument("--seed", type=int, required=True, help="the run's training seed")
    parser.add_argument("--stopping-weight", type=float, default=5.0)
    parser.add_argument("--torch-threads", type=int, default=2)
    args = parser.parse_args()
    start = time.perf_counter()
    torch.set_num_threads(args.torch_threads)
    config = config_from_args(
        imitate_parser().parse_args(["--config", str(RECIPE), "--seed", str(args.seed)])
    )
    config = dataclasses.replace(
        config, bc=dataclasses.replace(config.bc, stopping_weight=args.stopping_weight)
    )
    model = build_student(config)
    last = config.rounds
    state = read_model_zip(args.run / f"student_round_{last:02d}.zip").policy_state_dict()
    model.policy.load_state_dict(state)
    aggregate = AggregatedData(config.bc_frames + config.rounds * config.frames_per_round)
    for round_index in range(last + 1):
        aggregate.append(_load_npz(args.run / f"round_{round_index:02d}.npz"))
    data = aggregate.data()
    print(f"{len(data)} frames, {stopping_frames(data).mean():.1%} stopping frames")
    fit_start = time.perf_counter()
    losses = fit_student(model.policy, data, config.bc, np.random.default_rng([args.seed, 99]))
    fit_s = time.perf_counter() - fit_start
    out = args.run.with_name(args.run.name + "-stopfit")
    out.mkdir(exist_ok=True)
    save_model_atomic(model, out / "student.zip")
    write_student_config(config, out / "config.yaml")
    print(
        f"{out / 'student.zip'}: loss {losses['loss']:.4f}; fit {fit_s:.0f} s, "
        f"{time.perf_counter() - start:.0f} s in all"
    )


if __name__ == "__main__":
    main()
