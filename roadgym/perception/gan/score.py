"""Scores of a generator in a roadgym classifier's feature space (no Inception weights).

- :func:`frechet_distance`: ``|mu1 - mu2|^2 + tr(S1 + S2 - 2 (S1 S2)^(1/2))`` between
  Gaussians fitted to two feature sets (the FID formula of Heusel et al. 2017, on a
  roadgym encoder instead of Inception).
- :func:`kernel_distance`: unbiased MMD^2 with the cubic polynomial kernel
  ``(x.y / d + 1)^3`` averaged over random subsets (KID, Binkowski et al. 2018); it has
  no bias from the sample size, so small sets compare fairly.
- :func:`label_consistency`: a trained classifier's accuracy on generated frames
  against the labels they were conditioned on.

:func:`score_generator` reports each for the trained EMA generator beside two
references: the **floor**, train-split real frames against the held-out real frames
(what a perfect generator of the training distribution would score), and the
**ceiling**, the same generator at initialisation (what no training scores).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from roadgym.perception.checkpoint import ImageClassifier, load_classifier
from roadgym.perception.gan.checkpoint import build_networks, load_generator
from roadgym.perception.gan.data import LabelledFrames, load_labelled_frames
from roadgym.perception.gan.losses import recalibrate_batchnorm
from roadgym.perception.gan.models import Generator, to_uint8_frames

__all__ = [
    "encoder_features",
    "frechet_distance",
    "generate_frames",
    "kernel_distance",
    "label_consistency",
    "score_generator",
]


@torch.no_grad()
def encoder_features(
    classifier: ImageClassifier, frames: np.ndarray, batch_size: int = 256
) -> np.ndarray:
    """The classifier encoder's features ``(N, F)`` (float64) of uint8 frames ``(N, H, W, 3)``."""
    device = next(classifier.parameters()).device
    out = []
    for start in range(0, len(frames), batch_size):
        batch = torch.from_numpy(frames[start : start + batch_size]).to(device)
        out.append(classifier.encoder(batch).double().cpu().numpy())  # (b, F)
    return np.concatenate(out)


@torch.no_grad()
def predict(classifier: ImageClassifier, frames: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Class ids ``(N,)`` the classifier gives uint8 frames ``(N, H, W, 3)``."""
    device = next(classifier.parameters()).device
    out = []
    for start in range(0, len(frames), batch_size):
        batch = torch.from_numpy(frames[start : start + batch_size]).to(device)
        out.append(classifier(batch).argmax(dim=1).cpu().numpy())
    return np.concatenate(out)


def _sqrt_psd(matrix: np.ndarray) -> np.ndarray:
    values, vectors = np.linalg.eigh((matrix + matrix.T) / 2)
    return (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T


def frechet_distance(features_a: np.ndarray, features_b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to ``(N, F)`` and ``(M, F)`` features.

    ``tr((S1 S2)^(1/2))`` is computed as ``tr((A S2 A)^(1/2))`` with ``A = S1^(1/2)``: the
    same number, from symmetric matrices only, so it never goes complex.
    """
    if features_a.ndim != 2 or features_b.ndim != 2 or features_a.shape[1] != features_b.shape[1]:
        raise ValueError(
            f"feature sets must be (N, F) and (M, F); got {features_a.shape} {features_b.shape}"
        )
    if min(len(features_a), len(features_b)) < 2:
        raise ValueError("each feature set needs at least 2 rows")
    mu_a, mu_b = features_a.mean(axis=0), features_b.mean(axis=0)
    cov_a = np.cov(features_a, rowvar=False)
    cov_b = np.cov(features_b, rowvar=False)
    root_a = _sqrt_psd(cov_a)
    cross = np.sqrt(np.clip(np.linalg.eigvalsh(root_a @ cov_b @ root_a), 0, None)).sum()
    value = float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b) - 2 * cross)
    return max(value, 0.0)


def _mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    d = x.shape[1]
    k_xx = (x @ x.T / d + 1) ** 3
    k_yy = (y @ y.T / d + 1) ** 3
    k_xy = (x @ y.T / d + 1) ** 3
    m, n = len(x), len(y)
    return float(
        (k_xx.sum() - np.trace(k_xx)) / (m * (m - 1))
        + (k_yy.sum() - np.trace(k_yy)) / (n * (n - 1))
        - 2 * k_xy.mean()
    )


def kernel_distance(
    features_a: np.ndarray,
    features_b: np.ndarray,
    subsets: int = 20,
    subset_size: int = 500,
    seed: int = 0,
) -> tuple[float, float]:
    """KID: mean and std over ``subsets`` random subsets of the unbiased cubic-kernel MMD^2."""
    size = min(subset_size, len(features_a), len(features_b))
    if size < 2:
        raise ValueError("each feature set needs at least 2 rows")
    rng = np.random.default_rng(seed)
    values = [
        _mmd2_unbiased(
            features_a[rng.choice(len(features_a), size, replace=False)],
            features_b[rng.choice(len(features_b), size, replace=False)],
        )
        for _ in range(subsets)
    ]
    return float(np.mean(values)), float(np.std(values))


@torch.no_grad()
def generate_frames(
    generator: Generator,
    labels: np.ndarray,
    seed: int = 0,
    batch_size: int = 256,
    hard: bool = True,
) -> np.ndarray:
    """uint8 frames ``(N, H, W, 3)`` for labels ``(N, T)``; latents drawn from ``seed``."""
    rng = torch.Generator().manual_seed(seed)
    device = next(generator.parameters()).device
    generator.eval()
    # All latents at once: torch's sampler consumes its stream differently per tensor
    # size, so drawing per batch would tie the frames to the batch size.
    latents = torch.randn(len(labels), generator.z_dim, generator=rng)
    out = []
    for start in range(0, len(labels), batch_size):
        y = torch.from_numpy(np.asarray(labels[start : start + batch_size])).to(device)
        z = latents[start : start + batch_size].to(device)
        out.append(to_uint8_frames(generator(z, y, mode="hard" if hard else "soft")).cpu().numpy())
    return np.concatenate(out)


def label_consistency(
    classifier: ImageClassifier, frames: np.ndarray, labels: np.ndarray, class_names: list[str]
) -> dict[str, Any]:
    """Accuracy and per-class recall of ``classifier`` on ``frames`` against ``labels (N,)``."""
    return _agreement(predict(classifier, frames), labels, class_names)


def _agreement(predicted: np.ndarray, labels: np.ndarray, class_names: list[str]) -> dict:
    recall = {}
    for class_id, name in enumerate(class_names):
        members = labels == class_id
        if members.any():
            recall[name] = float((predicted[members] == class_id).mean())
    return {"accuracy": float((predicted == labels).mean()), "recall": recall}


def score_generator(
    checkpoint: str | Path,
    judge_checkpoint: str | Path,
    dataset: str | Path | None = None,
    num_frames: int = 3000,
    seed: int = 0,
    device: str | torch.device = "cpu",
    hard: bool = True,
    split: str = "test",
) -> dict[str, Any]:
    """FD, KID and label consistency of the checkpoint's EMA generator, floor and ceiling.

    Generated frames are conditioned on label rows drawn from the train split (the
    distribution the generator learnt), compared with ``num_frames`` test-split frames;
    the floor compares as many train-split frames with the same test frames. The judge
    (a classifier checkpoint of ``train_classifier``) gives the features and, for its
    task, the label consistency. ``split="val"`` compares with the validation split
    instead (for choosing a recipe without looking at the test split).
    """
    if split not in ("test", "val"):
        raise ValueError(f"split={split!r} must be 'test' or 'val'")
    generator, meta = load_generator(checkpoint, device)
    dataset = dataset if dataset is not None else meta["dataset"]
    tasks = tuple(meta["tasks"])
    judge, judge_meta = load_classifier(judge_checkpoint, device)
    task = judge_meta["task"]
    if task not in tasks:
        raise ValueError(f"judge task {task!r} is not a conditioning task of the GAN {tasks}")
    column = tasks.index(task)
    train = load_labelled_frames(dataset, "train", tasks)
    test = load_labelled_frames(dataset, split, tasks)
    rng = np.random.default_rng(seed)
    test = test.subset(rng.choice(len(test), min(num_frames, len(test)), replace=False))
    n = len(test)
    train_rows = rng.choice(len(train), n, replace=len(train) < n)
    labels = train.labels[train_rows]  # (n, T) conditioning labels
    untrained = _untrained_generator(meta, train, device)
    fake = generate_frames(generator, labels, seed=seed + 1, hard=hard)
    fake_untrained = generate_frames(untrained, labels, seed=seed + 1, hard=hard)
    features = {
        "test": encoder_features(judge, test.frames),
        "train": encoder_features(judge, train.frames[train_rows]),
        "generated": encoder_features(judge, fake),
        "untrained": encoder_features(judge, fake_untrained),
    }
    names = list(judge_meta["class_names"])

    def row(key: str, frame_labels: np.ndarray) -> dict[str, Any]:
        kid, kid_std = kernel_distance(features[key], features["test"], seed=seed)
        with torch.no_grad():  # the judge's logits are its head on these same features
            logits = judge.head(torch.from_numpy(features[key]).float().to(device))
        predicted = logits.argmax(dim=1).cpu().numpy()
        consistency = _agreement(predicted, frame_labels[:, column], names)
        return {
            "fd": frechet_distance(features[key], features["test"]),
            "kid": kid,
            "kid_std": kid_std,
            "label_consistency": consistency["accuracy"],
            "label_recall": consistency["recall"],
        }

    return {
        "num_frames": n,
        "split": split,
        "seed": seed,
        "steps": int(meta["step"]),
        "feature_space": f"{judge_meta['encoder']['name']} encoder of the {task} judge "
        f"({Path(judge_checkpoint)}), {features['test'].shape[1]} features",
        "judge_task": task,
        "output": "hard palette (argmax)" if hard and generator.uses_palette else "soft",
        "generated": row("generated", labels),
        "floor_real_train": row("train", labels),
        "ceiling_untrained": row("untrained", labels),
    }


def _untrained_generator(meta: dict[str, Any], train: LabelledFrames, device) -> Generator:
    """The generator as training started: same config and seed, batch norm calibrated."""
    torch.manual_seed(int(meta["config"]["seed"]))
    generator, _ = build_networks(meta)
    generator = generator.to(device)
    recalibrate_batchnorm(generator, torch.from_numpy(train.labels), seed=0)
    return generator


def format_scores(report: dict[str, Any]) -> str:
    """The score report as a small text table (one row per set)."""
    rows = [
        ("generated (EMA generator)", report["generated"]),
        ("floor: real train vs test", report["floor_real_train"]),
        ("ceiling: untrained generator", report["ceiling_untrained"]),
    ]
    lines = [
        f"{report['num_frames']} frames per set vs held-out {report.get('split', 'test')} frames; "
        f"{report['feature_space']}",
        f"{'set':<30} {'FD':>10} {'KID':>18} {'label consistency':>18}",
    ]
    for name, row in rows:
        kid = f"{row['kid']:.4f} +- {row['kid_std']:.4f}"
        lines.append(f"{name:<30} {row['fd']:>10.3f} {kid:>18} {row['label_consistency']:>18.4f}")
    return "\n".join(lines)
