"""Metric-based few-shot learners: ProtoNet and Matching logits, config, training (issue 19)."""

import math

import numpy as np
import pytest
import torch

from mini_lib.evaluation import mean_interval
from mini_lib.fewshot.embedding import GlyphEmbedding
from mini_lib.fewshot.episodes import sample_episodes
from mini_lib.fewshot.glyphs import make_glyphs
from mini_lib.fewshot.metric import (
    METHODS,
    episode_logits,
    episode_loss,
    matching_logits,
    nearest_prototype_accuracy,
    prototype_logits,
)
from mini_lib.fewshot.training import (
    MetricConfig,
    episode_accuracies,
    train_metric,
)


def flat(images: torch.Tensor) -> torch.Tensor:
    """The identity embedding: flattened pixels."""
    return images.flatten(1)


@pytest.fixture(scope="module")
def data():
    return make_glyphs(30, 8, seed=2)


def test_prototype_logits_match_a_hand_computed_example():
    support = torch.tensor([[0.0, 0.0], [2.0, 0.0], [0.0, 4.0]])
    labels = torch.tensor([0, 0, 1])  # prototypes (1, 0) and (0, 4)
    query = torch.tensor([[1.0, 1.0], [0.0, 3.0]])
    logits = prototype_logits(support, labels, query, 2)
    assert torch.allclose(logits, torch.tensor([[-1.0, -10.0], [-10.0, -1.0]]))


def test_prototype_argmax_with_raw_pixels_matches_nearest_prototype_accuracy(data):
    batch = sample_episodes(data, 20, 5, 2, 3, 0)
    logits = episode_logits("protonet", flat, batch)
    assert logits.shape == (20, 15, 5)
    mine = (logits.argmax(-1) == batch.query_labels).float().mean(-1)
    reference = nearest_prototype_accuracy(batch)
    assert torch.allclose(mine, reference)
    assert 0.2 < float(reference.mean()) < 1.0  # neither trivial nor hopeless
    assert torch.equal(episode_accuracies(torch.nn.Flatten(), "protonet", batch, chunk=7), mine)


def test_matching_probabilities_sum_to_one_and_match_a_hand_computed_case():
    support = torch.tensor([[1.0, 0.0], [0.0, 2.0], [3.0, 3.0]])
    labels = torch.tensor([0, 1, 1])
    query = torch.tensor([[2.0, 0.0]])
    cosine = torch.tensor([1.0, 0.0, 1 / math.sqrt(2)])
    attention = torch.exp(cosine) / torch.exp(cosine).sum()
    expected = torch.tensor([[attention[0], attention[1] + attention[2]]])
    probabilities = matching_logits(support, labels, query, 2).exp()
    assert torch.allclose(probabilities, expected, atol=1e-6)
    features = torch.randn(4, 6, 3)  # a batch of 4 episodes, 3 ways
    logits = matching_logits(features, torch.tensor([0, 0, 1, 1, 2, 2]).expand(4, -1),
                             torch.randn(4, 5, 3), 3)
    assert logits.shape == (4, 5, 3)
    assert torch.allclose(logits.exp().sum(-1), torch.ones(4, 5), atol=1e-6)


@pytest.mark.parametrize("logits_of", [prototype_logits, matching_logits])
def test_permuting_the_support_set_does_not_change_the_logits(logits_of):
    generator = torch.Generator().manual_seed(0)
    support = torch.randn(12, 8, generator=generator)
    labels = torch.arange(4).repeat_interleave(3)
    query = torch.randn(7, 8, generator=generator)
    order = torch.randperm(12, generator=generator)
    assert torch.allclose(logits_of(support, labels, query, 4),
                          logits_of(support[order], labels[order], query, 4), atol=1e-5)


def test_batched_episode_logits_equal_single_episode_logits(data):
    batch = sample_episodes(data, 3, 4, 1, 2, 1)
    for method in METHODS:
        together = episode_logits(method, flat, batch)
        for i in range(3):
            assert torch.allclose(together[i], episode_logits(method, flat, batch.take(i)),
                                  atol=1e-5)
        assert episode_loss(method, flat, batch).dim() == 0


def test_embedding_shape():
    assert GlyphEmbedding(8, 3)(torch.zeros(5, 1, 16, 16)).shape == (5, 8 * 2 * 2)
    assert GlyphEmbedding(4, 2)(torch.zeros(2, 1, 16, 16)).shape == (2, 4 * 4 * 4)


@pytest.mark.parametrize(("field", "value", "message"), [
    ("method", "knn", r"method must be one of .*got 'knn'"),
    ("episodes", 0, r"episodes .*\[1, inf\], got 0"),
    ("n_way", 1, r"n_way .*\[2, inf\], got 1"),
    ("k_shot", 0, r"k_shot .*got 0"),
    ("n_query", 0, r"n_query .*got 0"),
    ("lr", 0.0, r"lr must be in \(0, inf\), got 0.0"),
    ("lr", math.inf, r"lr must be in \(0, inf\), got inf"),
    ("channels", 0, r"channels .*got 0"),
    ("blocks", 5, r"blocks .*\[1, 4\], got 5"),
    ("episodes", 2.5, r"episodes must be an integer, got 2.5"),
])
def test_config_validation_names_the_field(field, value, message):
    with pytest.raises(ValueError, match=message):
        MetricConfig(**{field: value})


def test_mean_interval():
    mean, half = mean_interval(np.array([0.0, 1.0, 0.0, 1.0]))
    assert mean == 0.5 and half == pytest.approx(1.96 * np.std([0, 1, 0, 1], ddof=1) / 2)
    with pytest.raises(ValueError, match="values must be 1-D with at least 2 entries"):
        mean_interval([1.0])


@pytest.mark.parametrize("method", METHODS)
def test_short_training_is_reproducible_and_its_loss_falls(data, method):
    torch.set_num_threads(1)
    config = MetricConfig(method=method, episodes=40, n_way=5, n_query=3, channels=8,
                          lr=3e-3)
    first, again = train_metric(config, data, seed=3), train_metric(config, data, seed=3)
    assert first.losses == again.losses
    assert all(torch.equal(a, b) for a, b in zip(first.model.state_dict().values(),
                                                 again.model.state_dict().values(),
                                                 strict=True))
    assert train_metric(config, data, seed=4).losses != first.losses
    early, late = np.mean(first.losses[:10]), np.mean(first.losses[-10:])
    assert late < early, (early, late)
    assert not first.model.training and first.seconds > 0


def test_a_diverging_run_stops_with_a_message(data):
    config = MetricConfig(episodes=3, n_way=3, n_query=2, channels=4, lr=1e-3)
    poisoned = data.copy()
    poisoned[:] = np.nan
    with pytest.raises(RuntimeError, match=r"diverged at episode 0: the loss became nan"):
        train_metric(config, poisoned, seed=0)
