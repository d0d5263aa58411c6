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
:func:`sample_episode_indices` draws the same episodes as positions in the flattened data set.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

from mini_lib.checks import check_int

__all__ = ["Episode", "sample_episode", "sample_episode_indices", "sample_episodes"]


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


def sample_episode_indices(n_classes: int, n_samples: int, n_episodes: int, n_way: int,
                           k_shot: int, n_query: int, rng: np.random.Generator | int) -> Episode:
    """The episodes :func:`sample_episodes` draws, as *indices*: ``support`` and ``query`` are
    int64 ``(episodes, n)`` positions in the flattened data set (``class · n_samples +
    sample``), the labels as there. With the same ``rng`` state both draw the same episodes,
    so features of the whole data set, computed once, can be indexed instead of re-embedding
    every episode's images."""
    n_classes = check_int("n_classes", n_classes, 1)
    n_samples = check_int("n_samples", n_samples, 1)
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
    index = torch.from_numpy(classes[..., None] * n_samples + picks)  # (episodes, way, k + q)

    def labels(per_class: int) -> torch.Tensor:
        return torch.arange(n_way).repeat_interleave(per_class).expand(n_episodes, -1).clone()

    return Episode(index[:, :, :k_shot].reshape(n_episodes, -1), labels(k_shot),
                   index[:, :, k_shot:].reshape(n_episodes, -1), labels(n_query))


def sample_episodes(data: np.ndarray, n_episodes: int, n_way: int, k_shot: int, n_query: int,
                    rng: np.random.Generator | int) -> Episode:
    """``n_episodes`` independent episodes, each tensor with a leading episode axis.

    ``data`` is ``(classes, samples, H, W)``, floating-point or ``uint8`` (divided by 255);
    ``rng`` a ``numpy.random.Generator`` (advanced) or a seed. Needs ``n_way ≤ classes`` and
    ``k_shot + n_query ≤ samples``.
    """
    data = _check_data(data)
    n_classes, n_samples, height, width = data.shape
    index = sample_episode_indices(n_classes, n_samples, n_episodes, n_way, k_shot, n_query, rng)
    images = torch.from_numpy(np.ascontiguousarray(data.reshape(-1, height, width)))
    images = images.float() / 255 if data.dtype == np.uint8 else images.float()

    def gather(positions: torch.Tensor) -> torch.Tensor:
        return images[positions].unsqueeze(-3)  # (episodes, n, 1, H, W)

    return Episode(gather(index.support), index.support_labels, gather(index.query),
                   index.query_labels)


def sample_episode(data: np.ndarray, n_way: int, k_shot: int, n_query: int,
                   rng: np.random.Generator | int) -> Episode:
    """One episode: support ``(n_way·k_shot, 1, H, W)`` and query ``(n_way·n_query, 1, H, W)``.

    Labels are ``0 … n_way − 1``, class-major; the same episode as
    ``sample_episodes(data, 1, …).take(0)`` from the same ``rng`` state.
    """
    return sample_episodes(data, 1, n_way, k_shot, n_query, rng).take(0)
