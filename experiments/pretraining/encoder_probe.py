"""What a camera encoder's features hold for driving: scale, spread and a linear probe.

Used in this folder's study (RESULTS.md, NOTES.md) to explain why a perception-pretrained
encoder does or does not help PPO on Town-v0. For each encoder (taken from a policy zip,
optionally with a classifier checkpoint's weights loaded into it) on frames the expert
labelled (a ``round_XX.npz`` of ``roadgym imitate``):

- feature statistics: mean L2 norm, mean activation, share of dead units (zero on every
  frame), participation ratio (the effective number of dimensions of the covariance);
- a ridge probe: how much of the expert's steering and throttle a linear map of the
  frozen features explains (R^2 on frames from another round, so other towns);
- how a fresh PPO head reacts: the share of the first tanh layer's units that saturate
  (|tanh| > 0.99) when the features enter SB3's orthogonally initialised layer.

``NAME=ZIP:CHECKPOINT`` loads a classifier checkpoint's encoder weights into the zip's
encoder (``CHECKPOINT``: e.g. ``runs/compare-perception/multitask/checkpoint.pt``).

    python experiments/pretraining/encoder_probe.py --train runs/imitate-final/round_13.npz \\
        --test runs/imitate-final/round_14.npz \\
        --encoder random=runs/compare-init/s0/scratch.zip \\
        --encoder multitask=runs/compare-init/s0/scratch.zip:CHECKPOINT \\
        --encoder student=roadgym/agents/pretrained/town-student.zip
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

__all__ = ["encoder_features", "probe_encoder", "ridge_r2"]


@torch.no_grad()
def encoder_features(encoder: torch.nn.Module, frames: np.ndarray, batch: int = 512) -> np.ndarray:
    """``(N, F)`` features of uint8 ``(N, H, W, 3)`` frames."""
    encoder.eval()
    parts = [
        encoder(torch.from_numpy(frames[i : i + batch])).numpy()
        for i in range(0, len(frames), batch)
    ]
    return np.concatenate(parts)


def ridge_r2(
    train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray, test_y: np.ndarray, alpha: float
) -> np.ndarray:
    """R^2 per target column of a ridge regression fitted on train and scored on test."""
    mean, std = train_x.mean(0), train_x.std(0) + 1e-6
    a, b = (train_x - mean) / std, (test_x - mean) / std  # (N, F)
    a = np.hstack([a, np.ones((len(a), 1))])
    b = np.hstack([b, np.ones((len(b), 1))])
    weights = np.linalg.solve(a.T @ a + alpha * np.eye(a.shape[1]), a.T @ train_y)  # (F+1, T)
    residual = ((b @ weights - test_y) ** 2).sum(0)
    total = ((test_y - test_y.mean(0)) ** 2).sum(0)
    return 1.0 - residual / total


def _statistics(features: np.ndarray) -> dict[str, float]:
    covariance = np.cov(features, rowvar=False)
    eigenvalues = np.clip(np.linalg.eigvalsh(covariance), 0.0, None)
    return {
        "mean_l2_norm": float(np.linalg.norm(features, axis=1).mean()),
        "mean_activation": float(features.mean()),
        "dead_share": float((features.max(0) <= 0.0).mean()),
        "participation_ratio": float(eigenvalues.sum() ** 2 / max((eigenvalues**2).sum(), 1e-12)),
    }


@torch.no_grad()
def _tanh_saturation(policy: Any, features: np.ndarray, nav: np.ndarray) -> float:
    """Share of a *fresh* PPO first layer's tanh units beyond 0.99 on these features."""
    extractor = policy.features_extractor
    joined = torch.from_numpy(features)
    if extractor.nav is not None:
        joined = torch.cat([joined, extractor.nav(torch.from_numpy(nav))], dim=1)  # (N, F+32)
    first = policy.mlp_extractor.policy_net[0]
    return float((torch.tanh(first(joined)).abs() > 0.99).float().mean())


def probe_encoder(
    policy_zip: str | Path,
    checkpoint: str | Path | None,
    train: dict[str, np.ndarray],
    test: dict[str, np.ndarray],
    fresh_policy: Any,
    alpha: float = 10.0,
) -> dict[str, Any]:
    """Statistics, probe R^2 and head saturation of one encoder (see the module doc)."""
    from roadgym.agents.imitation.finetune import load_student
    from roadgym.perception.checkpoint import load_encoder_weights

    encoder = load_student(policy_zip, device="cpu").policy.features_extractor.encoder
    if checkpoint is not None:
        load_encoder_weights(encoder, checkpoint)
    train_features = encoder_features(encoder, train["frames"])
    test_features = encoder_features(encoder, test["frames"])
    r2 = ridge_r2(train_features, train["actions"], test_features, test["actions"], alpha)
    return {
        **_statistics(test_features),
        "probe_r2_steer": float(r2[0]),
        "probe_r2_throttle": float(r2[1]),
        "fresh_head_tanh_saturated": _tanh_saturation(fresh_policy, test_features, test["nav"]),
    }


def _load_round(path: str | Path, limit: int) -> dict[str, np.ndarray]:
    with np.load(path) as data:
        return {key: data[key][:limit] for key in ("frames", "actions", "nav")}


def main(argv: Sequence[str] | None = None) -> int:
    """Print (and with ``--out`` write) one JSON row per ``--encoder NAME=ZIP[:CKPT]``."""
    from roadgym.agents.imitation.finetune import load_student

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=Path, required=True, help="round_XX.npz to fit on")
    parser.add_argument("--test", type=Path, required=True, help="another round to score on")
    parser.add_argument("--encoder", action="append", required=True, metavar="NAME=ZIP[:CKPT]")
    parser.add_argument("--fresh", type=Path, help="untrained policy zip (default: first one)")
    parser.add_argument("--frames", type=int, default=10_000, help="frames per round used")
    parser.add_argument("--out", type=Path, help="JSON file to write")
    args = parser.parse_args(argv)
    torch.manual_seed(0)
    train, test = _load_round(args.train, args.frames), _load_round(args.test, args.frames)
    specs = []
    for item in args.encoder:
        name, sep, rest = item.partition("=")
        if not sep:
            parser.error(f"--encoder {item!r}; allowed: NAME=ZIP or NAME=ZIP:CHECKPOINT")
        zip_path, _, checkpoint = rest.partition(":")
        specs.append((name, zip_path, checkpoint or None))
    fresh = load_student(args.fresh or specs[0][1], device="cpu").policy
    rows = {name: probe_encoder(z, c, train, test, fresh) for name, z, c in specs}
    text = json.dumps(rows, indent=2)
    print(text)
    if args.out is not None:
        from roadgym.perception.atomic import atomic_write_text

        atomic_write_text(args.out, text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
