r"""Advantage estimates for actor-critic: n-step returns and GAE(λ).

Time is the *first* axis (a rollout, ``(T,)`` or ``(T, n_envs)``). Only *termination* stops
bootstrapping: when an episode is *truncated* by a time limit, the value of the state it
stopped in still counts (Gymnasium's ``terminated``/``truncated``).
"""

from __future__ import annotations

import torch

from mini_lib.checks import check_int, check_probability
from mini_lib.returns import TensorLike, float_tensor

__all__ = ["gae_advantages", "n_step_returns"]


def _shift(x: torch.Tensor, k: int, fill: float | bool) -> torch.Tensor:
    """``x[t + k]`` at row ``t``; rows past the end hold ``fill``."""
    if k == 0:
        return x
    return torch.cat([x[k:], torch.full_like(x[:k], fill)])


def n_step_returns(rewards: TensorLike, next_values: TensorLike, terminated: TensorLike,
                   truncated: TensorLike, gamma: float, n: int) -> torch.Tensor:
    r"""``G_t^{(n)} = Σ_{k<m} γ^k r_{t+k+1} + γ^m (1 − terminated) V(s_{t+m})`` per step.

    Time is the *first* axis (a rollout, ``(T,)`` or ``(T, n_envs)``). ``next_values[t]`` is
    ``V`` of the observation reached by step ``t`` (the final observation when the episode
    ended there). The window of ``m ≤ n`` steps stops early at the end of an episode or of the
    rollout; it bootstraps from the last next state unless that step *terminated*.
    """
    gamma = check_probability("gamma", gamma)
    n = check_int("n", n, 1)
    rewards = float_tensor(rewards)
    next_values = torch.as_tensor(next_values, dtype=rewards.dtype)
    terminated = torch.as_tensor(terminated, dtype=torch.bool)
    ended = terminated | torch.as_tensor(truncated, dtype=torch.bool)
    T = rewards.shape[0]
    at_rollout_end = torch.zeros_like(ended)
    at_rollout_end[-1] = True

    returns = torch.zeros_like(rewards)
    discount = torch.ones_like(rewards)
    open_ = torch.ones_like(ended)  # is the window of step t still collecting rewards?
    for k in range(min(n, T)):
        returns += torch.where(open_, discount * _shift(rewards, k, 0.0), 0.0)
        discount = torch.where(open_, discount * gamma, discount)
        closes = open_ & (_shift(ended, k, True) | _shift(at_rollout_end, k, True)
                          | (k == n - 1))
        bootstrap = torch.where(_shift(terminated, k, True), 0.0, _shift(next_values, k, 0.0))
        returns += torch.where(closes, discount * bootstrap, 0.0)
        open_ = open_ & ~closes
    return returns


def gae_advantages(rewards: TensorLike, values: TensorLike, next_values: TensorLike,
                   terminated: TensorLike, truncated: TensorLike, gamma: float,
                   lam: float) -> torch.Tensor:
    r"""GAE(λ): ``Â_t = Σ_k (γλ)^k δ_{t+k}`` within the episode, time on the first axis.

    ``δ_t = r_{t+1} + γ (1 − terminated_t) V(s_{t+1}) − V(s_t)``: a truncated step bootstraps
    from its final observation; the sum stops at the end of an episode (terminated or
    truncated) and at the end of the rollout. λ = 0 gives the TD error, λ = 1 the discounted
    return (bootstrapped at the end) minus ``V(s_t)``.
    """
    gamma = check_probability("gamma", gamma)
    lam = check_probability("lam", lam)
    rewards = float_tensor(rewards)
    values = torch.as_tensor(values, dtype=rewards.dtype)
    next_values = torch.as_tensor(next_values, dtype=rewards.dtype)
    terminated = torch.as_tensor(terminated, dtype=torch.bool)
    ended = terminated | torch.as_tensor(truncated, dtype=torch.bool)
    delta = rewards + gamma * (~terminated) * next_values - values
    carry = gamma * lam * (~ended).to(rewards.dtype)
    advantages = torch.zeros_like(rewards)
    running = torch.zeros_like(rewards[0])
    for t in range(rewards.shape[0] - 1, -1, -1):
        running = delta[t] + carry[t] * running
        advantages[t] = running
    return advantages
