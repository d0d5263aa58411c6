r"""Returns and discounting: what an agent maximises.

The return from time ``t`` is :math:`G_t = \sum_{k \ge 0} \gamma^k r_{t+k+1}`. A discount γ < 1
makes rewards about ``1/(1−γ)`` steps away count much less: the *effective horizon*.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mini_lib.checks import check_probability

__all__ = ["discounted_return", "effective_horizon"]


def discounted_return(rewards: Sequence[float] | np.ndarray, gamma: float) -> float:
    """``G_0 = r_1 + γ r_2 + γ² r_3 + …`` for one episode's reward sequence."""
    gamma = check_probability("gamma", gamma)
    rewards = np.asarray(rewards, dtype=float)
    if rewards.ndim != 1:
        raise ValueError(f"rewards must be a 1-D sequence, got shape {rewards.shape}")
    return float(np.sum(rewards * gamma ** np.arange(rewards.size)))


def effective_horizon(gamma: float) -> float:
    """``1 / (1 − γ)``: the sum of all discount weights, ``inf`` for γ = 1."""
    gamma = check_probability("gamma", gamma)
    return np.inf if gamma == 1.0 else 1.0 / (1.0 - gamma)
