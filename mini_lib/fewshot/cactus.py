"""Meta-learning without labels: tasks built from clusters of unlabelled data (CACTUs).

Hsu, Levine & Finn 2019, "Unsupervised Learning via Meta-Learning": embed the unlabelled pool
with a self-supervised encoder, cluster the embeddings, and treat each cluster as a class —
then any episodic meta-learner (here ProtoNet, :func:`~mini_lib.fewshot.training.train_metric`)
trains on N-way K-shot episodes of these pseudo-classes. No label is read anywhere.

* :func:`kmeans`: Lloyd's algorithm with k-means++ seeding, in torch, deterministic per seed.
* :func:`pseudo_classes`: the clusters with at least ``min_size`` members, ``min_size`` of
  each, as an array ``(clusters, min_size, H, W)`` that
  :func:`~mini_lib.fewshot.episodes.sample_episode` accepts.
* :func:`cluster_purity`: how well clusters match hidden labels (for reporting only).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

from mini_lib.checks import check_int

__all__ = ["KMeansResult", "cluster_purity", "kmeans", "pseudo_classes"]


class KMeansResult(NamedTuple):
    """``centres (k, d)``, ``assignments (n,)`` and the objective (mean squared distance of
    each point to its centre) after every iteration."""

    centres: torch.Tensor
    assignments: torch.Tensor
    objective: list[float]


def _squared_distances(points: torch.Tensor, centres: torch.Tensor) -> torch.Tensor:
    return torch.cdist(points, centres).square()


def kmeans(features: torch.Tensor, k: int, seed: int = 0, iterations: int = 30) -> KMeansResult:
    """Cluster ``features`` ``(n, d)`` into ``k`` clusters (k-means++ seeding, then Lloyd).

    An empty cluster keeps its centre. Stops early when no assignment changes.
    """
    if not isinstance(features, torch.Tensor) or features.dim() != 2:
        shape = tuple(features.shape) if isinstance(features, torch.Tensor) else type(features)
        raise ValueError(f"features must be a tensor of shape (n, d), got {shape}")
    n = features.shape[0]
    k = check_int("k", k, 1, n)
    seed = check_int("seed", seed, 0)
    iterations = check_int("iterations", iterations, 1)
    points = features.detach().double()
    generator = torch.Generator().manual_seed(seed)
    chosen = [int(torch.randint(n, (1,), generator=generator))]
    nearest = _squared_distances(points, points[chosen]).squeeze(1)
    for _ in range(1, k):
        total = float(nearest.sum())
        probabilities = nearest / total if total > 0 else torch.full((n,), 1.0 / n,
                                                                      dtype=points.dtype)
        index = int(torch.multinomial(probabilities, 1, generator=generator))
        chosen.append(index)
        nearest = torch.minimum(nearest, _squared_distances(points, points[[index]]).squeeze(1))
    centres = points[chosen].clone()
    assignments = torch.full((n,), -1, dtype=torch.long)
    objective: list[float] = []
    for _ in range(iterations):
        distances = _squared_distances(points, centres)
        new = distances.argmin(1)
        objective.append(float(distances.gather(1, new[:, None]).mean()))
        if torch.equal(new, assignments):
            break
        assignments = new
        counts = torch.bincount(assignments, minlength=k)
        sums = torch.zeros_like(centres).index_add_(0, assignments, points)
        filled = counts > 0
        centres[filled] = sums[filled] / counts[filled, None]
    return KMeansResult(centres.to(features.dtype), assignments, objective)


def pseudo_classes(images: np.ndarray, assignments: torch.Tensor, min_size: int,
                   seed: int = 0) -> np.ndarray:
    """Every cluster with ≥ ``min_size`` members as a pseudo-class: ``min_size`` of its members
    (drawn without replacement), an array ``(clusters, min_size, H, W)``."""
    images = np.asarray(images)
    assignments = torch.as_tensor(assignments)
    if assignments.dim() != 1 or len(assignments) != len(images):
        raise ValueError(f"assignments must have one entry per image ({len(images)}), got "
                         f"shape {tuple(assignments.shape)}")
    min_size = check_int("min_size", min_size, 2)
    rng = np.random.default_rng(check_int("seed", seed, 0))
    labels = assignments.numpy()
    kept = []
    for cluster in np.unique(labels):
        members = np.flatnonzero(labels == cluster)
        if len(members) >= min_size:
            kept.append(images[np.sort(rng.choice(members, min_size, replace=False))])
    if len(kept) < 2:
        raise ValueError(f"only {len(kept)} cluster(s) have min_size = {min_size} members; "
                         f"lower min_size or the number of clusters")
    return np.stack(kept)


def cluster_purity(assignments: torch.Tensor, labels: torch.Tensor) -> float:
    """The fraction of points whose cluster's most common label is their own label."""
    assignments, labels = torch.as_tensor(assignments), torch.as_tensor(labels)
    if assignments.shape != labels.shape:
        raise ValueError(f"assignments {tuple(assignments.shape)} and labels "
                         f"{tuple(labels.shape)} must have the same shape")
    agreeing = 0
    for cluster in torch.unique(assignments):
        agreeing += int(torch.bincount(labels[assignments == cluster]).max())
    return agreeing / len(labels)
