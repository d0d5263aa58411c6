r"""The A3C advantage of the source article, kept to show what it does (chapter 04's box).

The article's pseudocode computes ``advantage = reward + gamma * max(Q(s')) - reward``: it
subtracts the reward it has just added, where A3C subtracts the critic's :math:`V(s_t)`. What
is left is :math:`\gamma V(s_{t+1})` (with our critic in place of its max over a policy's
output): it no longer contains the reward, and it has no baseline for the state the action
was taken in, so how good the *state* is — not the action — drives the update.
"""

from __future__ import annotations

import torch

from mini_lib.policy_gradient.advantages import n_step_returns
from mini_lib.policy_gradient.config import PolicyGradientConfig
from mini_lib.policy_gradient.losses import PolicyGradientLoss, combine_losses
from mini_lib.policy_gradient.networks import CategoricalPolicy, ValueNetwork
from mini_lib.policy_gradient.rollouts import Rollout

__all__ = ["source_advantage_loss", "source_advantages"]


def source_advantages(rewards: torch.Tensor, next_values: torch.Tensor,
                      terminated: torch.Tensor, gamma: float) -> torch.Tensor:
    """The article's ``r + γ V(s') − r``, i.e. ``γ (1 − terminated) V(s')``, per step."""
    td_target = rewards + gamma * (~terminated) * next_values
    return td_target - rewards


def source_advantage_loss(policy: CategoricalPolicy, value_fn: ValueNetwork, rollout: Rollout,
                          config: PolicyGradientConfig) -> PolicyGradientLoss:
    """:func:`~mini_lib.policy_gradient.losses.actor_critic_loss` with the article's advantage
    in the policy term; the critic is still fitted to the n-step returns."""
    dist = policy(rollout.observations)
    values = value_fn(rollout.observations)
    with torch.no_grad():
        next_values = value_fn(rollout.next_observations)
        targets = n_step_returns(rollout.rewards, next_values, rollout.terminated,
                                 rollout.truncated, config.gamma, config.n_steps)
        advantages = source_advantages(rollout.rewards, next_values, rollout.terminated,
                                       config.gamma)
    value_loss = ((values - targets) ** 2).mean()
    return combine_losses(dist.log_prob(rollout.actions), advantages, dist.entropy(),
                          value_loss, None, config)
