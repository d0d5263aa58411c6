r"""What an RL² agent's memory holds: a linear probe from its hidden state to the posterior.

With the U[0, 1] = Beta(1, 1) prior of the tasks, the Bayes posterior of arm ``a`` after
``s`` wins and ``f`` losses is Beta(1 + s, 1 + f), and its mean ``(1 + s) / (2 + s + f)`` is
what a Bayes-optimal player needs to know about the arm (with the counts, the sufficient
statistic). If the GRU has learned to track it, a *linear* map from the hidden state ``h_t``
should recover it: :func:`fit_probe` fits one by ridge regression on some trials and
:func:`r_squared` scores it on others (1 = perfect, 0 = no better than the mean).
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from mini_lib.checks import check_in_range, check_int

__all__ = ["LinearProbe", "fit_probe", "posterior_means", "r_squared"]


def posterior_means(actions: torch.Tensor, rewards: torch.Tensor, n_arms: int) -> torch.Tensor:
    """The Beta(1, 1) posterior mean of every arm *before* each pull: ``(n, B, n_arms)``
    from the ``actions`` and ``rewards`` ``(n, B)`` of a batch of trials (row 0 is the prior
    mean 1/2; row ``t`` counts pulls ``0 … t − 1``)."""
    n_arms = check_int("n_arms", n_arms, 2)
    if actions.ndim != 2 or rewards.shape != actions.shape:
        raise ValueError(f"actions and rewards must both have shape (n, B), got "
                         f"{tuple(actions.shape)} and {tuple(rewards.shape)}")
    pulled = torch.nn.functional.one_hot(actions.long(), n_arms).double()
    wins = pulled * rewards.double()[..., None]
    zero = torch.zeros_like(pulled[:1])
    pulls_before = torch.cat([zero, pulled.cumsum(0)[:-1]])
    wins_before = torch.cat([zero, wins.cumsum(0)[:-1]])
    return (1.0 + wins_before) / (2.0 + pulls_before)


class LinearProbe(NamedTuple):
    """``predict(h) = h @ weight + bias``: hidden states ``(…, H)`` to beliefs ``(…, k)``."""

    weight: torch.Tensor  # (H, k)
    bias: torch.Tensor  # (k,)

    def predict(self, states: torch.Tensor) -> torch.Tensor:
        return states.double() @ self.weight + self.bias


def _flat(states: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    if states.shape[:-1] != targets.shape[:-1]:
        raise ValueError(f"states {tuple(states.shape)} and targets {tuple(targets.shape)} "
                         f"must agree on every axis but the last")
    return (states.reshape(-1, states.shape[-1]).double(),
            targets.reshape(-1, targets.shape[-1]).double())


def fit_probe(states: torch.Tensor, targets: torch.Tensor, ridge: float = 1e-3) -> LinearProbe:
    """Least squares ``targets ≈ states @ W + b`` with an L2 penalty ``ridge · ‖W‖²`` (not on
    ``b``), over all leading axes (e.g. ``(n, B, H)`` and ``(n, B, k)``); float64."""
    ridge = check_in_range("ridge", ridge, 0.0)
    x, y = _flat(states, targets)
    x_mean, y_mean = x.mean(0), y.mean(0)
    xc, yc = x - x_mean, y - y_mean
    gram = xc.T @ xc + ridge * x.shape[0] * torch.eye(x.shape[1], dtype=x.dtype)
    weight = torch.linalg.solve(gram, xc.T @ yc)
    return LinearProbe(weight, y_mean - x_mean @ weight)


def r_squared(predictions: torch.Tensor, targets: torch.Tensor) -> float:
    """Coefficient of determination pooled over all outputs:
    ``1 − Σ (y − ŷ)² / Σ (y − ȳ)²``, with ``ȳ`` the mean of each output column."""
    pred, y = _flat(predictions, targets)
    residual = ((y - pred) ** 2).sum()
    total = ((y - y.mean(0)) ** 2).sum()
    if total == 0:
        raise ValueError("targets are constant: R² is undefined")
    return float(1.0 - residual / total)
