r"""Glyph episodes as a task family for chapter 05's MAML: the optimisation-based row.

Prototypical and Matching networks learn a metric and never adapt a weight; MAML (Finn et al.
2017, §5.2, their Omniglot experiment) learns an initialisation of an N-way classifier and
adapts all of it by a few SGD steps on the support set. :class:`GlyphFamily` turns N-way K-shot
glyph episodes (:mod:`mini_lib.fewshot.episodes`) into what
:func:`mini_lib.meta.training.train_meta` takes: a model, a cross-entropy loss of a parameter
dict, and per task the support and query ``(images, labels)``, so MAML, FOMAML and pretraining
run unchanged. The classifier is a small convolutional net *without* batch normalisation
(:class:`GlyphClassifier`): batch statistics would mix the samples of a task inside ``vmap``.

:func:`adapted_accuracies` scores the adapted classifiers on the query sets of a batch of
episodes — the same episodes the metric learners are scored on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, vmap

from mini_lib.checks import check_int, check_positive
from mini_lib.fewshot.episodes import Episode, sample_episodes
from mini_lib.meta.functional import Batch, LossFn, Params, adapt

__all__ = ["GlyphClassifier", "GlyphFamily", "adapted_accuracies", "cross_entropy"]


class GlyphClassifier(nn.Module):
    """Images ``(…, n, 1, 16, 16)`` → ``n_way`` logits: 3 stride-2 3×3 convolutions of
    ``channels`` (ReLU) → 2×2 → global mean → a linear head. No batch normalisation."""

    def __init__(self, n_way: int = 5, channels: int = 32) -> None:
        super().__init__()
        n_way, channels = check_int("n_way", n_way, 2), check_int("channels", channels, 1)
        self.features = nn.Sequential(
            nn.Conv2d(1, channels, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(channels, channels, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(channels, channels, 3, stride=2, padding=1), nn.ReLU())
        self.head = nn.Linear(channels, n_way)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        leading = images.shape[:-3]
        features = self.features(images.reshape(-1, *images.shape[-3:])).mean(dim=(-2, -1))
        return self.head(features).reshape(*leading, -1)


def cross_entropy(model: nn.Module) -> LossFn:
    """``loss_fn(params, (images, labels))``: the mean cross-entropy of ``model`` with
    ``params`` (``model`` only lends its structure)."""
    def loss_fn(params: Params, batch: Batch) -> torch.Tensor:
        images, labels = batch
        logits = functional_call(model, params, (images,))
        return nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                           labels.reshape(-1))
    return loss_fn


@dataclass(frozen=True)
class GlyphFamily:
    """``n_way``-way ``k_shot``-shot episodes of ``data`` (``(classes, samples, H, W)``, e.g.
    the training half of :func:`~mini_lib.fewshot.glyphs.glyph_split`), ``n_query`` query
    samples per class, a :class:`GlyphClassifier` of ``channels``."""

    data: np.ndarray
    n_way: int = 5
    k_shot: int = 1
    n_query: int = 5
    channels: int = 32
    steep_tasks: ClassVar[str] = "episodes whose classes look alike (a large inner step)"

    def __post_init__(self) -> None:
        check_int("n_way", self.n_way, 2)
        check_int("k_shot", self.k_shot, 1)
        check_int("n_query", self.n_query, 1)
        check_int("channels", self.channels, 1)

    def make_model(self) -> GlyphClassifier:
        """A freshly initialised classifier (from torch's global random stream)."""
        return GlyphClassifier(self.n_way, self.channels)

    @property
    def loss(self) -> LossFn:
        """Cross-entropy of the episode's labels."""
        return cross_entropy(GlyphClassifier(self.n_way, self.channels).to("meta"))

    def sample(self, n_tasks: int, rng: np.random.Generator) -> tuple[Batch, Batch]:
        """``n_tasks`` fresh episodes: their support and query ``(images, labels)``."""
        episodes = sample_episodes(self.data, n_tasks, self.n_way, self.k_shot, self.n_query,
                                   rng)
        return ((episodes.support, episodes.support_labels),
                (episodes.query, episodes.query_labels))


def adapted_accuracies(model: GlyphClassifier, params: Params, episodes: Episode, alpha: float,
                       steps: int, chunk: int = 250) -> torch.Tensor:
    """Query accuracy per episode after ``steps`` SGD steps of size ``alpha`` on each
    episode's support set (a batch from :func:`~mini_lib.fewshot.episodes.sample_episodes`),
    in chunks of ``chunk`` episodes (memory)."""
    steps = check_int("steps", steps, 0)
    check_positive("alpha", alpha)
    loss_fn = cross_entropy(model)

    def one(support: Batch, query_images: torch.Tensor) -> torch.Tensor:
        adapted = adapt(params, loss_fn, support, alpha, steps, first_order=True)
        return functional_call(model, adapted, (query_images,)).argmax(-1)

    out = []
    with torch.no_grad():
        for start in range(0, len(episodes.support), check_int("chunk", chunk, 1)):
            part = slice(start, start + chunk)
            guesses = vmap(one)((episodes.support[part], episodes.support_labels[part]),
                                episodes.query[part])
            out.append((guesses == episodes.query_labels[part]).float().mean(-1))
    return torch.cat(out)
