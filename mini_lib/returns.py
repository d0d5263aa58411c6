r"""Returns and discounting: what an agent maximises.

The return from time ``t`` is :math:`G_t = \sum_{k \ge 0} \gamma^k r_{t+k+1}`. A discount γ < 1
makes rewards about ``1/(1−γ)`` steps away count much less: the *effective horizon*.

The course computes it in one place, as two pairs:

* NumPy references for one episode: :func:`discounted_return` (``G_0``) and
  :func:`returns_to_go` (``G_t`` at every step);
* torch, batched over padded episodes (time on the last axis, one matrix product, no Python
  loop): :func:`discounted_returns` and :func:`reward_to_go`. Tests check them against the
  references.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from mini_lib.checks import check_probability

__all__ = [
    "TensorLike",
    "discounted_return",
    "discounted_returns",
    "effective_horizon",
    "float_tensor",
    "returns_to_go",
    "reward_to_go",
]

# Anything torch.as_tensor accepts: a tensor, a NumPy array, a list of numbers.
TensorLike = torch.Tensor | np.ndarray | Sequence


def discounted_return(rewards: Sequence[float] | np.ndarray, gamma: float) -> float:
    """``G_0 = r_1 + γ r_2 + γ² r_3 + …`` for one episode's reward sequence."""
    gamma = check_probability("gamma", gamma)
    rewards = np.asarray(rewards, dtype=float)
    if rewards.ndim != 1:
        raise ValueError(f"rewards must be a 1-D sequence, got shape {rewards.shape}")
    return float(np.sum(rewards * gamma ** np.arange(rewards.size)))


def returns_to_go(rewards: Sequence[float] | np.ndarray, gamma: float) -> np.ndarray:
    """``G_t = r_{t+1} + γ G_{t+1}`` for every step of one episode (``G`` after the end is 0)."""
    gamma = check_probability("gamma", gamma)
    out = np.zeros(len(rewards))
    running = 0.0
    for t in range(len(rewards) - 1, -1, -1):
        running = rewards[t] + gamma * running
        out[t] = running
    return out


def effective_horizon(gamma: float) -> float:
    """``1 / (1 − γ)``: the sum of all discount weights, ``inf`` for γ = 1."""
    gamma = check_probability("gamma", gamma)
    return np.inf if gamma == 1.0 else 1.0 / (1.0 - gamma)


def float_tensor(x: TensorLike) -> torch.Tensor:
    """``x`` as a tensor, in torch's default float type unless it is already floating point."""
    x = torch.as_tensor(x)
    return x if x.is_floating_point() else x.to(torch.get_default_dtype())


def reward_to_go(rewards: TensorLike, gamma: float, mask: TensorLike | None = None
                 ) -> torch.Tensor:
    """``G_t = Σ_{k≥t} γ^{k−t} r_{k+1}`` at every step (``rewards[k]`` is ``r_{k+1}``, the
    reward that followed action ``a_k``); time is the *last* axis.

    ``rewards`` is one episode ``(T,)`` or a padded batch ``(B, T)`` whose ``mask`` is 1 on
    an episode's steps (up to and including the one that ended it) and 0 on padding; padded
    steps get 0. One matrix product with the ``(T, T)`` discount matrix, no Python loop.
    """
    gamma = check_probability("gamma", gamma)
    rewards = float_tensor(rewards)
    if mask is not None:
        mask = torch.as_tensor(mask, dtype=rewards.dtype)
        rewards = rewards * mask
    steps = torch.arange(rewards.shape[-1])
    lag = steps[None, :] - steps[:, None]  # lag[t, k] = k − t
    discount = torch.where(lag >= 0, torch.tensor(gamma, dtype=rewards.dtype) ** lag.clamp(min=0),
                           torch.zeros((), dtype=rewards.dtype))
    returns = rewards @ discount.T
    return returns if mask is None else returns * mask


def discounted_returns(rewards: TensorLike, gamma: float, mask: TensorLike | None = None
                       ) -> torch.Tensor:
    """``G_0 = Σ_t γ^t r_{t+1}`` of one episode ``(T,)`` (a scalar) or of each row of ``(B, T)``."""
    gamma = check_probability("gamma", gamma)
    rewards = float_tensor(rewards)
    if mask is not None:
        rewards = rewards * torch.as_tensor(mask, dtype=rewards.dtype)
    discount = torch.tensor(gamma, dtype=rewards.dtype) ** torch.arange(rewards.shape[-1])
    return rewards @ discount
