"""Episodic training of a metric-based few-shot learner, and its evaluation.

:func:`train_metric` trains a :class:`~mini_lib.fewshot.embedding.GlyphEmbedding` with Adam on
``config.episodes`` training episodes, one episode per step, drawn from the training classes
with a ``numpy.random.Generator`` seeded with ``seed`` (the network is initialised after
``torch.manual_seed(seed)``), so a seed fixes the run on one machine. :func:`episode_accuracies`
scores a trained model per episode (:func:`mini_lib.evaluation.mean_interval` summarises
the scores).
"""

from __future__ import annotations

import dataclasses
import math
import time
from typing import NamedTuple

import numpy as np
import torch
from tqdm.auto import tqdm

from mini_lib.checks import check_finite, check_in_range, check_int
from mini_lib.fewshot.embedding import GlyphEmbedding
from mini_lib.fewshot.episodes import Episode, sample_episode
from mini_lib.fewshot.metric import METHODS, episode_logits, episode_loss

__all__ = ["MetricConfig", "MetricResult", "episode_accuracies", "train_metric"]


@dataclasses.dataclass(frozen=True)
class MetricConfig:
    """Hyper-parameters of :func:`train_metric` (training episodes are n_way-way k_shot-shot)."""

    method: str = "protonet"
    episodes: int = 1000
    n_way: int = 20
    k_shot: int = 1
    n_query: int = 5
    lr: float = 1e-3
    channels: int = 64
    blocks: int = 3

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {self.method!r}")
        check_int("episodes", self.episodes, 1)
        check_int("n_way", self.n_way, 2)
        check_int("k_shot", self.k_shot, 1)
        check_int("n_query", self.n_query, 1)
        check_in_range("lr", self.lr, 0.0, math.inf, low_open=True, high_open=True)
        check_int("channels", self.channels, 1)
        check_int("blocks", self.blocks, 1, 4)


class MetricResult(NamedTuple):
    """The trained ``model`` (in eval mode), the loss of every episode, and wall seconds."""

    model: GlyphEmbedding
    losses: list[float]
    seconds: float


def train_metric(config: MetricConfig, data: np.ndarray, seed: int = 0,
                 progress: bool = False,
                 initial_state: dict[str, torch.Tensor] | None = None) -> MetricResult:
    """Train an embedding episodically on ``data`` (classes, samples, H, W); see module doc.

    ``initial_state`` (a :class:`GlyphEmbedding` state dict, e.g. a self-supervised one from
    :mod:`~mini_lib.fewshot.contrastive`) replaces the random initialisation.
    """
    if not isinstance(config, MetricConfig):
        raise ValueError(f"config must be a MetricConfig, got {type(config).__name__}")
    seed = check_int("seed", seed, 0)
    start = time.perf_counter()
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = GlyphEmbedding(config.channels, config.blocks)
    if initial_state is not None:
        model.load_state_dict(initial_state)
    optimiser = torch.optim.Adam(model.parameters(), lr=config.lr)
    model.train()
    losses: list[float] = []
    bar = tqdm(range(config.episodes), disable=not progress, desc=config.method)
    for step in bar:
        episode = sample_episode(data, config.n_way, config.k_shot, config.n_query, rng)
        loss = episode_loss(config.method, model, episode)
        value = float(loss.detach())
        check_finite(f"{config.method} training diverged at episode {step}: the loss became "
                     f"{value}", value, [f"the learning rate lr = {config.lr:g} is too large"])
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        losses.append(value)
        if progress and step % 50 == 0:
            bar.set_postfix(loss=f"{value:.3f}")
    model.eval()
    return MetricResult(model, losses, time.perf_counter() - start)


def episode_accuracies(model: torch.nn.Module, method: str, episodes: Episode,
                       chunk: int = 100) -> torch.Tensor:
    """Query accuracy of each episode of a batch ``(episodes,)`` (eval mode, no gradients).

    The episodes are embedded ``chunk`` at a time; in eval mode BatchNorm uses its running
    statistics, so the result does not depend on ``chunk``.
    """
    chunk = check_int("chunk", chunk, 1)
    if episodes.support.dim() == 4:
        episodes = Episode(*(t.unsqueeze(0) for t in episodes))
    model.eval()
    parts = []
    with torch.no_grad():
        for lo in range(0, len(episodes.support), chunk):
            batch = Episode(*(t[lo:lo + chunk] for t in episodes))
            logits = episode_logits(method, model, batch)
            parts.append((logits.argmax(-1) == batch.query_labels).float().mean(-1))
    return torch.cat(parts)
