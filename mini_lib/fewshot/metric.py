"""Episode logits of the two metric-based few-shot classifiers, and their episode loss.

* ``"protonet"`` (Snell et al. 2017): the logit of class ``c`` is minus the squared Euclidean
  distance from the query's features to the class prototype, the mean support feature of ``c``.
* ``"matching"`` (a Matching Networks variant, Vinyals et al. 2016, without the full-context
  LSTMs): cosine similarity to every support sample, a softmax over the support set as
  attention, and the class probability the sum of the attention on that class's samples. Its
  "logits" are these log-probabilities.

:func:`nearest_prototype_accuracy` scores the nearest-prototype classifier on raw pixels (or
any embedding), the floor every learner must beat; :func:`indexed_accuracies` scores episodes
drawn as indices (:func:`~mini_lib.fewshot.episodes.sample_episode_indices`) on features of
the whole data set computed once — how the notebook's sliders stay fast.

Every logit function takes features ``(…, n, d)`` and labels ``(…, n)`` with optional leading
(episode) axes shared by support and query.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from mini_lib.fewshot.episodes import Episode

__all__ = ["METHODS", "episode_logits", "episode_loss", "indexed_accuracies", "matching_logits",
           "nearest_prototype_accuracy", "prototype_logits"]

#: The methods that :func:`episode_logits` and :func:`episode_loss` accept.
METHODS = ("protonet", "matching")


def _one_hot(labels: torch.Tensor, n_way: int, dtype: torch.dtype) -> torch.Tensor:
    return F.one_hot(labels, n_way).to(dtype)


def prototype_logits(support_features: torch.Tensor, support_labels: torch.Tensor,
                     query_features: torch.Tensor, n_way: int) -> torch.Tensor:
    """Minus the squared Euclidean distance of each query to each prototype: ``(…, q, n_way)``."""
    one_hot = _one_hot(support_labels, n_way, support_features.dtype)  # (…, s, n_way)
    counts = one_hot.sum(-2).unsqueeze(-1)  # (…, n_way, 1)
    prototypes = one_hot.transpose(-1, -2) @ support_features / counts
    difference = query_features.unsqueeze(-2) - prototypes.unsqueeze(-3)
    return -(difference**2).sum(-1)


def matching_logits(support_features: torch.Tensor, support_labels: torch.Tensor,
                    query_features: torch.Tensor, n_way: int) -> torch.Tensor:
    """Log class probabilities ``(…, q, n_way)``: cosine attention summed per class."""
    support = F.normalize(support_features, dim=-1)
    query = F.normalize(query_features, dim=-1)
    attention = torch.softmax(query @ support.transpose(-1, -2), dim=-1)  # (…, q, s)
    probabilities = attention @ _one_hot(support_labels, n_way, attention.dtype)
    return torch.log(probabilities.clamp_min(torch.finfo(probabilities.dtype).tiny))


_CHUNK_ELEMENTS = 2**21

_LOGITS: dict[str, Callable[..., torch.Tensor]] = {"protonet": prototype_logits,
                                                   "matching": matching_logits}


def check_method(method: str) -> str:
    """``method`` if it is one of :data:`METHODS`, else ``ValueError``."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    return method


def episode_logits(method: str, embed: Callable[[torch.Tensor], torch.Tensor],
                   episode: Episode) -> torch.Tensor:
    """Query logits ``([episodes,] q, n_way)`` of one episode or a batch of episodes."""
    logits_of = _LOGITS[check_method(method)]
    support, query = episode.support, episode.query
    # One forward pass over support and query (of every episode): shared batch statistics.
    features = embed(torch.cat([support.flatten(0, -4), query.flatten(0, -4)]))
    n_support = support.shape[:-3].numel()
    support_features = features[:n_support].reshape(*support.shape[:-3], -1)
    query_features = features[n_support:].reshape(*query.shape[:-3], -1)
    n_way = int(episode.support_labels.max()) + 1
    return logits_of(support_features, episode.support_labels, query_features, n_way)


def episode_loss(method: str, embed: Callable[[torch.Tensor], torch.Tensor],
                 episode: Episode) -> torch.Tensor:
    """Mean cross-entropy of the query set (all episodes of a batch), a 0-d tensor."""
    logits = episode_logits(method, embed, episode)
    return F.cross_entropy(logits.flatten(0, -2), episode.query_labels.flatten())


def indexed_accuracies(method: str, features: torch.Tensor, episodes: Episode) -> torch.Tensor:
    """Query accuracy of each episode ``(episodes,)`` of a batch drawn as indices, given the
    ``features`` ``(N, d)`` of the flattened data set (in its order)."""
    logits_of = _LOGITS[check_method(method)]
    if features.dim() != 2:
        raise ValueError(f"features must have shape (N, d), got {tuple(features.shape)}")
    n_way = int(episodes.support_labels.max()) + 1
    # A few episodes at a time: ProtoNet's (episodes, q, n_way, d) differences stay ~8 MB
    # (one pass over 200 20-way episodes allocated 400 MB and ran 17x slower; same bits).
    per_episode = episodes.query.shape[-1] * n_way * features.shape[1]
    chunk = max(1, _CHUNK_ELEMENTS // per_episode)
    accuracies = []
    for start in range(0, len(episodes.support), chunk):
        part = slice(start, start + chunk)
        logits = logits_of(features[episodes.support[part]], episodes.support_labels[part],
                           features[episodes.query[part]], n_way)
        accuracies.append((logits.argmax(-1) == episodes.query_labels[part]).float().mean(-1))
    return torch.cat(accuracies)


def nearest_prototype_accuracy(
    episodes: Episode, embed: Callable[[torch.Tensor], torch.Tensor] | None = None
) -> torch.Tensor:
    """Accuracy of the nearest-prototype classifier on each episode's query set.

    A prototype is the mean embedding of a class's support samples; a query is labelled by the
    prototype nearest in squared Euclidean distance (:func:`prototype_logits`). ``embed`` maps
    images ``(n, 1, H, W)`` to features ``(n, d)`` (default: the raw pixels). Takes one episode
    (returns a 0-d tensor) or a batch from
    :func:`~mini_lib.fewshot.episodes.sample_episodes` (one accuracy per episode).
    """
    single = episodes.support.dim() == 4
    batch = Episode(*(t.unsqueeze(0) for t in episodes)) if single else episodes
    if batch.support.dim() != 5:
        raise ValueError(f"episodes.support must have shape ([episodes,] n, 1, H, W), "
                         f"got {tuple(episodes.support.shape)}")
    embed = embed or (lambda images: images.flatten(1))
    support = embed(batch.support.flatten(0, 1)).reshape(*batch.support.shape[:2], -1)
    query = embed(batch.query.flatten(0, 1)).reshape(*batch.query.shape[:2], -1)
    n_way = int(batch.support_labels.max()) + 1
    logits = prototype_logits(support, batch.support_labels, query, n_way)
    accuracy = (logits.argmax(-1) == batch.query_labels).float().mean(-1)
    return accuracy[0] if single else accuracy
