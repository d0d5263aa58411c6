"""Glyph episodes as chapter 05's task family: the classifier, its loss, adapted accuracies."""

import numpy as np
import pytest
import torch
from torch.func import functional_call

from mini_lib.fewshot.episodes import Episode, sample_episodes
from mini_lib.fewshot.glyph_tasks import (
    GlyphClassifier,
    GlyphFamily,
    adapted_accuracies,
    cross_entropy,
)
from mini_lib.fewshot.glyphs import make_glyphs
from mini_lib.meta.functional import params_of
from mini_lib.meta.training import MAMLConfig, train_meta


@pytest.fixture(scope="module")
def data():
    return make_glyphs(12, 6, seed=3)


def test_the_classifier_maps_leading_axes_to_logits():
    torch.manual_seed(0)
    model = GlyphClassifier(n_way=4, channels=8)
    images = torch.rand(3, 7, 1, 16, 16)
    logits = model(images)
    assert logits.shape == (3, 7, 4)
    assert torch.allclose(logits[1], model(images[1]), atol=1e-6)
    with pytest.raises(ValueError, match="n_way"):
        GlyphClassifier(n_way=1)


def test_the_loss_is_cross_entropy_of_the_params_given():
    torch.manual_seed(0)
    model = GlyphClassifier(n_way=3, channels=4)
    params = {k: v + 0.1 for k, v in params_of(model).items()}
    images, labels = torch.rand(6, 1, 16, 16), torch.tensor([0, 1, 2, 0, 1, 2])
    expected = torch.nn.functional.cross_entropy(functional_call(model, params, (images,)),
                                                 labels)
    assert torch.allclose(cross_entropy(model)(params, (images, labels)), expected)


def test_the_family_samples_episodes_as_support_and_query_batches(data):
    family = GlyphFamily(data, n_way=3, k_shot=2, n_query=4, channels=4)
    (xs, ys), (xq, yq) = family.sample(5, np.random.default_rng(0))
    assert xs.shape == (5, 6, 1, 16, 16) and ys.shape == (5, 6)
    assert xq.shape == (5, 12, 1, 16, 16) and yq.shape == (5, 12)
    with pytest.raises(ValueError, match="k_shot"):
        GlyphFamily(data, k_shot=0)


def test_adapted_accuracies_without_steps_are_the_classifier_s_own(data):
    torch.manual_seed(0)
    model = GlyphClassifier(n_way=3, channels=4)
    params = params_of(model)
    episodes = sample_episodes(data, 7, 3, 1, 3, 1)
    accuracy = adapted_accuracies(model, params, episodes, alpha=0.5, steps=0, chunk=3)
    guesses = model(episodes.query).argmax(-1)
    assert torch.equal(accuracy, (guesses == episodes.query_labels).float().mean(-1))


def test_steps_on_the_support_set_fit_it(data):
    """Scored on its own support set, 10 steps on it take the classifier from chance (3-way)
    to at least 5 of 6 right on every episode."""
    torch.manual_seed(0)
    model = GlyphClassifier(n_way=3, channels=16)
    episodes = sample_episodes(data, 4, 3, 2, 1, 2)
    on_support = Episode(episodes.support, episodes.support_labels, episodes.support,
                         episodes.support_labels)
    before = adapted_accuracies(model, params_of(model), on_support, alpha=1.0, steps=0)
    after = adapted_accuracies(model, params_of(model), on_support, alpha=1.0, steps=10)
    assert before.mean() < 0.5 and (after >= 5 / 6 - 1e-6).all()


def test_maml_runs_on_the_family_and_is_reproducible(data):
    family = GlyphFamily(data, n_way=3, k_shot=1, n_query=2, channels=4)
    config = MAMLConfig(method="maml", iterations=3, meta_batch_size=2, alpha=0.4)
    first, second = train_meta(config, family, seed=0), train_meta(config, family, seed=0)
    assert first.losses == second.losses and np.isfinite(first.losses).all()
