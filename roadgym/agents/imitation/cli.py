"""``roadgym imitate``: behaviour cloning then DAgger from the privileged expert."""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence

from roadgym.agents.imitation.bc import BCSettings
from roadgym.agents.imitation.config import ImitationConfig
from roadgym.agents.imitation.final import FinalFit

__all__ = ["config_from_args", "imitate_main", "imitate_parser"]

_DEFAULT = ImitationConfig()


def imitate_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="roadgym imitate",
        description=(
            "Teach a pixel student (camera + speed + next turn) from the privileged expert: "
            "behaviour cloning, then DAgger rounds in which the student drives and the expert "
            "labels every frame it visits. Writes student.zip (an SB3 PPO model: roadgym "
            "evaluate / watch / train --init-from take it) and manifest.json to --out; run "
            "again with the same options to resume after the last finished round."
        ),
    )
    add = parser.add_argument
    add("--env", default=_DEFAULT.env_id, help="env id (default %(default)s)")
    add("--out", default=None, help="output dir (default runs/imitate-{env}-s{seed})")
    add(
        "--frame-stack",
        type=int,
        default=int(_DEFAULT.env_kwargs["frame_stack"]),
        help="steps of history in the student's observation: the nav vector keeps the last k "
        "speeds (k * 0.1 s), the encoder still sees the newest frame (default %(default)s)",
    )
    add("--num-envs", type=int, default=_DEFAULT.num_envs, help="worlds driven at once")
    add("--seed", type=int, default=_DEFAULT.seed, help="first training seed (and torch seed)")
    add("--rounds", type=int, default=_DEFAULT.rounds, help="DAgger rounds after BC")
    add("--bc-frames", type=int, default=_DEFAULT.bc_frames, help="frames of the BC round")
    add("--frames-per-round", type=int, default=_DEFAULT.frames_per_round)
    add("--beta", type=float, default=_DEFAULT.beta, help="expert share in DAgger round 1")
    add("--beta-decay", type=float, default=_DEFAULT.beta_decay, help="beta factor per round")
    add("--expert-noise-std", type=float, default=_DEFAULT.expert_noise_std)
    add("--encoder", default=_DEFAULT.encoder, help="roadgym encoder name")
    add(
        "--encoder-options",
        type=json.loads,
        default=dict(_DEFAULT.encoder_options),
        help='JSON, e.g. \'{"features_dim": 256, "channels": [16, 32, 32]}\'',
    )
    add("--nav-scale", type=float, default=_DEFAULT.nav_scale, help="factor on the nav vector")
    add("--nav-features", type=int, default=_DEFAULT.nav_features, help="width of the nav layer")
    add("--epochs", type=int, default=_DEFAULT.bc.epochs, help="epochs per round")
    add("--batch-size", type=int, default=_DEFAULT.bc.batch_size)
    add("--lr", type=float, default=_DEFAULT.bc.learning_rate)
    add("--action-loss", choices=("l1", "mse"), default=_DEFAULT.bc.action_loss)
    add("--transition-weight", type=float, default=_DEFAULT.bc.transition_weight)
    add("--aux-weight", type=float, default=_DEFAULT.bc.aux_weight, help="perception heads' weight")
    add(
        "--pedestrian-weight",
        type=float,
        default=_DEFAULT.bc.pedestrian_weight,
        help="weight of the frames with a pedestrian on the route ahead (throttle and heads)",
    )
    add(
        "--max-samples-per-round",
        type=int,
        default=_DEFAULT.bc.max_samples_per_round,
        help="cap on frames each round trains on, drawn from all data (default: epochs passes)",
    )
    add("--selection-episodes", type=int, default=_DEFAULT.selection_episodes)
    add(
        "--final-average-rounds",
        type=int,
        default=_DEFAULT.final.average_rounds,
        help="final step: average the students of the last this many rounds (0: none)",
    )
    add(
        "--final-fit-samples",
        type=int,
        default=_DEFAULT.final.samples,
        help="final step: fit the (averaged) student once more on this many frames (0: none)",
    )
    add("--final-fit-lr", type=float, default=_DEFAULT.final.learning_rate)
    add("--torch-threads", type=int, default=None, help="torch threads (default: 1 on <= 4 cores)")
    add("--device", default="auto", help="torch device: auto (cuda when present), cpu, cuda")
    add("--no-progress", action="store_true", help="no progress bars")
    return parser


def config_from_args(args: argparse.Namespace) -> ImitationConfig:
    """The :class:`ImitationConfig` that parsed ``roadgym imitate`` arguments describe."""
    return ImitationConfig(
        env_id=args.env,
        env_kwargs={**_DEFAULT.env_kwargs, "frame_stack": args.frame_stack},
        num_envs=args.num_envs,
        seed=args.seed,
        rounds=args.rounds,
        bc_frames=args.bc_frames,
        frames_per_round=args.frames_per_round,
        beta=args.beta,
        beta_decay=args.beta_decay,
        expert_noise_std=args.expert_noise_std,
        encoder=args.encoder,
        encoder_options=args.encoder_options,
        nav_scale=args.nav_scale,
        nav_features=args.nav_features,
        bc=BCSettings(
            epochs=args.epochs,
            batch_size=args.batch_size,
            learning_rate=args.lr,
            aux_weight=args.aux_weight,
            action_loss=args.action_loss,
            transition_weight=args.transition_weight,
            pedestrian_weight=args.pedestrian_weight,
            max_samples_per_round=args.max_samples_per_round,
        ),
        selection_episodes=args.selection_episodes,
        final=FinalFit(
            average_rounds=args.final_average_rounds,
            samples=args.final_fit_samples,
            learning_rate=args.final_fit_lr,
        ),
    )


def imitate_main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv``, run :func:`roadgym.agents.imitation.run_imitation`, print the rounds."""
    args = imitate_parser().parse_args(argv)
    import torch

    from roadgym.agents.imitation.dagger import run_imitation
    from roadgym.agents.training import env_short_name
    from roadgym.perception.device import default_torch_threads, pick_device

    torch.set_num_threads(args.torch_threads or default_torch_threads())
    device = str(pick_device(args.device))
    config = config_from_args(args)
    out = args.out or f"runs/imitate-{env_short_name(args.env)}-s{args.seed}"
    start = time.perf_counter()
    result = run_imitation(config, out, device=device, progress=not args.no_progress)
    print(
        f"student: {result.student_path} (selected: round {result.best_round}); "
        f"{time.perf_counter() - start:.0f} s this call"
    )
    return 0
