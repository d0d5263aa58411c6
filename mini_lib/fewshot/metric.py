"""Episode logits of the two metric-based few-shot classifiers, and their episode loss.

* ``"protonet"`` (Snell et al. 2017): the logit of class ``c`` is minus the squared Euclidean
  distance from the query's features to the class prototype, the mean support feature of ``c``.
* ``"matching"`` (a Matching Networks variant, Vinyals et al. 2016, without the full-context
  LSTMs): cosine similarity to every support sample, a softmax over the support set as
  attention, and the class probability the sum of the attention on that class's samples. Its
  "logits" are these log-probabilities.

Every function takes features ``(…, n, d)`` and labels ``(…, n)`` with optional leading
(episode) axes shared by support and query.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from mini_lib.fewshot.episodes import Episode

__all__ = ["METHODS", "episode_logits", "episode_loss", "matching_logits", "prototype_logits"]

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
