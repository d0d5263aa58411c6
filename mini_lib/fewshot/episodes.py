"""N-way K-shot episodes from a data set of classes, and the raw-pixel prototype baseline.

A data set is an array shaped ``(classes, samples per class, H, W)``, e.g.
:func:`mini_lib.fewshot.glyphs.make_glyphs` or one half of
:func:`~mini_lib.fewshot.glyphs.glyph_split`. An *episode* picks ``n_way`` classes without
replacement, relabels them ``0 … n_way − 1`` in the order drawn, and from each class draws
``k_shot + n_query`` different samples without replacement: the first ``k_shot`` form the
*support* set, the rest the *query* set, so support and query never share a sample. Both sets
are class-major (``support[i * k_shot:(i + 1) * k_shot]`` is class ``i``), so
``support.view(n_way, k_shot, -1).mean(1)`` are the class prototypes.

:func:`sample_episodes` draws many episodes in one NumPy pass (a leading episode axis on every
tensor); :func:`sample_episode` is its first episode.
:func:`nearest_prototype_accuracy` scores the nearest-prototype classifier (squared Euclidean
distance, Snell et al. 2017) on raw pixels, or on any embedding, per episode.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import torch

from mini_lib.checks import check_int

__all__ = ["Episode", "nearest_prototype_accuracy", "sample_episode", "sample_episodes"]


class Episode(NamedTuple):
    """Support and query images ``(…, n, 1, H, W)`` float32 and labels ``(…, n)`` int64.

    From :func:`sample_episode` the tensors have no leading axis; from :func:`sample_episodes`
    they have one, the episode (``batch.take(i)`` is episode ``i``).
    """

    support: torch.Tensor
    support_labels: torch.Tensor
    query: torch.Tensor
    query_labels: torch.Tensor

    def take(self, index: int) -> Episode:
        """Episode ``index`` of a batch from :func:`sample_episodes`."""
        return Episode(*(tensor[index] for tensor in self))


def _check_data(data: np.ndarray) -> np.ndarray:
    data = np.asarray(data)
    if data.ndim != 4 or 0 in data.shape:
        raise ValueError(f"data must have shape (classes, samples per class, H, W), "
                         f"got {data.shape}")
    if not (np.issubdtype(data.dtype, np.floating) or data.dtype == np.uint8):
        raise ValueError(f"data must be floating-point or uint8 images, got dtype {data.dtype}")
    return data


def _as_rng(rng: np.random.Generator | int) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    return np.random.default_rng(check_int("rng", rng, 0))


def sample_episodes(data: np.ndarray, n_episodes: int, n_way: int, k_shot: int, n_query: int,
                    rng: np.random.Generator | int) -> Episode:
    """``n_episodes`` independent episodes, each tensor with a leading episode axis.

    ``data`` is ``(classes, samples, H, W)``, floating-point or ``uint8`` (divided by 255);
    ``rng`` a ``numpy.random.Generator`` (advanced) or a seed. Needs ``n_way ≤ classes`` and
    ``k_shot + n_query ≤ samples``.
    """
    data = _check_data(data)
    n_classes, n_samples = data.shape[:2]
    n_episodes = check_int("n_episodes", n_episodes, 1)
    n_way = check_int("n_way", n_way, 1, n_classes)
    k_shot = check_int("k_shot", k_shot, 1, max(1, n_samples - 1))
    try:
        n_query = check_int("n_query", n_query, 1, n_samples - k_shot)
    except ValueError as error:
        raise ValueError(f"{error} (k_shot + n_query must be at most the {n_samples} samples "
                         f"per class; k_shot = {k_shot})") from None
    rng = _as_rng(rng)
    classes = rng.random((n_episodes, n_classes)).argsort(axis=1)[:, :n_way]
    picks = rng.random((n_episodes, n_way, n_samples)).argsort(axis=2)[..., :k_shot + n_query]
    images = data[classes[..., None], picks]  # (episodes, n_way, k_shot + n_query, H, W)
    images = torch.from_numpy(np.ascontiguousarray(images))
    images = images.float() / 255 if data.dtype == np.uint8 else images.float()
    height, width = data.shape[2:]

    def flat(part: torch.Tensor) -> torch.Tensor:
        return part.reshape(n_episodes, -1, 1, height, width)

    def labels(per_class: int) -> torch.Tensor:
        return torch.arange(n_way).repeat_interleave(per_class).expand(n_episodes, -1).clone()

    return Episode(flat(images[:, :, :k_shot]), labels(k_shot), flat(images[:, :, k_shot:]),
                   labels(n_query))


def sample_episode(data: np.ndarray, n_way: int, k_shot: int, n_query: int,
                   rng: np.random.Generator | int) -> Episode:
    """One episode: support ``(n_way·k_shot, 1, H, W)`` and query ``(n_way·n_query, 1, H, W)``.

    Labels are ``0 … n_way − 1``, class-major; the same episode as
    ``sample_episodes(data, 1, …).take(0)`` from the same ``rng`` state.
    """
    return sample_episodes(data, 1, n_way, k_shot, n_query, rng).take(0)


def nearest_prototype_accuracy(
    episodes: Episode, embed: Callable[[torch.Tensor], torch.Tensor] | None = None
) -> torch.Tensor:
    """Accuracy of the nearest-prototype classifier on each episode's query set.

    A prototype is the mean embedding of a class's support samples; a query is labelled by the
    prototype nearest in squared Euclidean distance. ``embed`` maps images ``(n, 1, H, W)`` to
    features ``(n, d)`` (default: the raw pixels). Takes one episode (returns a 0-d tensor) or
    a batch from :func:`sample_episodes` (returns one accuracy per episode).
    """
    single = episodes.support.dim() == 4
    batch = Episode(*(t.unsqueeze(0) for t in episodes)) if single else episodes
    if batch.support.dim() != 5:
        raise ValueError(f"episodes.support must have shape ([episodes,] n, 1, H, W), "
                         f"got {tuple(episodes.support.shape)}")
    n_episodes, n_support = batch.support.shape[:2]
    n_query = batch.query.shape[1]
    embed = embed or (lambda images: images.flatten(1))
    support = embed(batch.support.flatten(0, 1)).reshape(n_episodes, n_support, -1)
    query = embed(batch.query.flatten(0, 1)).reshape(n_episodes, n_query, -1)
    n_way = int(batch.support_labels.max()) + 1
    one_hot = torch.nn.functional.one_hot(batch.support_labels, n_way).to(support.dtype)
    prototypes = one_hot.transpose(1, 2) @ support / one_hot.sum(1)[..., None]
    distance = ((query**2).sum(-1, keepdim=True) - 2 * query @ prototypes.transpose(1, 2)
                + (prototypes**2).sum(-1)[:, None, :])
    accuracy = (distance.argmin(-1) == batch.query_labels).float().mean(-1)
    return accuracy[0] if single else accuracy
