"""Episodic training of the graph-network few-shot learner, and its per-episode accuracy.

The same recipe as :func:`~mini_lib.fewshot.training.train_metric` (Adam, one episode per
step from a seeded ``numpy`` generator, the network initialised after ``torch.manual_seed``),
with the loss the cross-entropy of :class:`~mini_lib.fewshot.graph.GraphFewShot`'s query logits.
"""

from __future__ import annotations

import dataclasses
import math
import time
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from mini_lib.checks import check_finite, check_in_range, check_int
from mini_lib.fewshot.episodes import Episode, sample_episode
from mini_lib.fewshot.graph import GraphFewShot

__all__ = ["GraphConfig", "GraphResult", "graph_accuracies", "train_graph"]


@dataclasses.dataclass(frozen=True)
class GraphConfig:
    """Hyper-parameters of :func:`train_graph` (episodes are n_way-way k_shot-shot)."""

    episodes: int = 1000
    n_way: int = 5
    k_shot: int = 1
    n_query: int = 5
    rounds: int = 2
    hidden: int = 64
    lr: float = 1e-3

    def __post_init__(self) -> None:
        check_int("episodes", self.episodes, 1)
        check_int("n_way", self.n_way, 2)
        check_int("k_shot", self.k_shot, 1)
        check_int("n_query", self.n_query, 1)
        check_int("rounds", self.rounds, 1, 8)
        check_int("hidden", self.hidden, 1)
        check_in_range("lr", self.lr, 0.0, math.inf, low_open=True, high_open=True)


class GraphResult(NamedTuple):
    """The trained ``model`` (eval mode), the loss of every episode, and wall seconds."""

    model: GraphFewShot
    losses: list[float]
    seconds: float


def train_graph(config: GraphConfig, data: np.ndarray, seed: int = 0,
                progress: bool = False) -> GraphResult:
    """Train a :class:`GraphFewShot` on episodes of ``data`` (classes, samples, H, W)."""
    if not isinstance(config, GraphConfig):
        raise ValueError(f"config must be a GraphConfig, got {type(config).__name__}")
    seed = check_int("seed", seed, 0)
    start = time.perf_counter()
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = GraphFewShot(config.n_way, config.rounds, config.hidden)
    optimiser = torch.optim.Adam(model.parameters(), lr=config.lr)
    model.train()
    losses: list[float] = []
    bar = tqdm(range(config.episodes), disable=not progress, desc=f"graph ({config.rounds})")
    for step in bar:
        episode = sample_episode(data, config.n_way, config.k_shot, config.n_query, rng)
        loss = F.cross_entropy(model(episode), episode.query_labels)
        value = float(loss.detach())
        check_finite(f"graph learner training diverged at episode {step}: the loss became "
                     f"{value}", value, [f"the learning rate lr = {config.lr:g} is too large"])
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        losses.append(value)
        if progress and step % 50 == 0:
            bar.set_postfix(loss=f"{value:.3f}")
    model.eval()
    return GraphResult(model, losses, time.perf_counter() - start)


def graph_accuracies(model: GraphFewShot, episodes: Episode) -> torch.Tensor:
    """Query accuracy of each episode ``(episodes,)`` of a batch (eval mode, no gradients),
    one episode at a time (the edges of a batch would take ``episodes · n² · d`` floats)."""
    model.eval()
    with torch.no_grad():
        return torch.stack([(model(episodes.take(i)).argmax(-1) == episodes.query_labels[i])
                            .float().mean() for i in range(len(episodes.support))])
