"""fewshot.cactus: k-means recovers separated clusters, its objective never rises, and
clusters become pseudo-classes that episodes can be drawn from."""

from itertools import pairwise

import numpy as np
import pytest
import torch

from mini_lib.fewshot.cactus import cluster_purity, kmeans, pseudo_classes
from mini_lib.fewshot.episodes import sample_episode


def blobs(k: int = 6, per: int = 30, spread: float = 0.05, seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    centres = torch.randn(k, 5, generator=generator) * 3
    labels = torch.arange(k).repeat_interleave(per)
    return centres[labels] + spread * torch.randn(k * per, 5, generator=generator), labels


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_kmeans_recovers_well_separated_blobs_exactly(seed):
    points, labels = blobs(seed=seed)
    result = kmeans(points, 6, seed=seed)
    assert cluster_purity(result.assignments, labels) == 1.0
    # a one-to-one match: every true blob is exactly one cluster
    assert len(torch.unique(torch.stack([labels, result.assignments]), dim=1).T) == 6


def test_kmeans_objective_never_increases_and_matches_the_centres():
    points, _ = blobs(k=10, per=20, spread=1.5)
    result = kmeans(points, 10, seed=3, iterations=50)
    objective = result.objective
    assert all(b <= a + 1e-12 for a, b in pairwise(objective))
    final = torch.cdist(points.double(), result.centres.double()).square().min(1).values.mean()
    assert float(final) == pytest.approx(result.objective[-1], rel=1e-6)
    # each centre is the mean of its members
    for cluster in torch.unique(result.assignments):
        members = points[result.assignments == cluster]
        torch.testing.assert_close(result.centres[cluster], members.mean(0), atol=1e-5, rtol=0)


def test_pseudo_classes_keep_big_clusters_only_and_feed_episodes():
    images = np.arange(12 * 4, dtype=np.float32).reshape(12, 2, 2)
    assignments = torch.tensor([0, 0, 0, 1, 1, 1, 1, 2, 2, 3, 3, 3])
    classes = pseudo_classes(images, assignments, min_size=3)
    assert classes.shape == (3, 3, 2, 2)  # cluster 2 (2 members) dropped
    for members, cluster in zip(classes, (0, 1, 3), strict=True):
        rows = {int(m[0, 0]) // 4 for m in members}
        assert rows <= set(np.flatnonzero(assignments.numpy() == cluster))
        assert len(rows) == 3  # without replacement
    episode = sample_episode(classes, n_way=2, k_shot=1, n_query=2, rng=0)
    assert episode.support.shape[-2:] == (2, 2)


def test_cluster_purity_counts_the_majority_label():
    assert cluster_purity(torch.tensor([0, 0, 0, 1]), torch.tensor([5, 5, 6, 6])) == 0.75


@pytest.mark.parametrize("call, name", [
    (lambda: kmeans(torch.zeros(5), 2), "features"),
    (lambda: kmeans(torch.zeros(5, 2), 6), "k"),
    (lambda: kmeans(torch.zeros(5, 2), 2, iterations=0), "iterations"),
    (lambda: pseudo_classes(np.zeros((4, 2, 2)), torch.zeros(3, dtype=torch.long), 2),
     "assignments"),
    (lambda: pseudo_classes(np.zeros((4, 2, 2)), torch.arange(4), 2), "min_size"),
    (lambda: cluster_purity(torch.zeros(3), torch.zeros(4)), "assignments"),
])
def test_bad_input_names_the_parameter(call, name):
    with pytest.raises(ValueError, match=name):
        call()
