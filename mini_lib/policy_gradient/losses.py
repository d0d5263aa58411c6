r"""The policy-gradient losses: REINFORCE on whole episodes and advantage actor-critic.

Both minimise :math:`-\text{mean}_t \log\pi_\theta(a_t \mid s_t)\,\hat A_t` (plus the critic's
squared error and minus an entropy bonus), whose gradient is the policy-gradient estimate.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from mini_lib.policy_gradient.advantages import gae_advantages, n_step_returns
from mini_lib.policy_gradient.config import PolicyGradientConfig
from mini_lib.policy_gradient.networks import CategoricalPolicy, ValueNetwork
from mini_lib.policy_gradient.rollouts import EpisodeBatch, Rollout
from mini_lib.returns import reward_to_go

__all__ = ["PolicyGradientLoss", "actor_critic_loss", "combine_losses", "reinforce_loss"]


@dataclass(frozen=True)
class PolicyGradientLoss:
    """``total = policy + value_coef · value − entropy_coef · entropy`` and its parts.

    ``total`` carries the graph for ``backward()``; the parts are for logging.
    """

    total: torch.Tensor
    policy: torch.Tensor
    value: torch.Tensor
    entropy: torch.Tensor

    def as_floats(self) -> dict[str, float]:
        return {name: float(getattr(self, name).detach()) for name in ("total", "policy", "value",
                                                              "entropy")}


def _masked_mean(x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    return x.mean() if mask is None else (x * mask).sum() / mask.sum()


def _normalize(advantages: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    n = advantages.numel() if mask is None else int(mask.sum())
    if n < 2:
        return advantages
    mean = _masked_mean(advantages, mask)
    std = _masked_mean((advantages - mean) ** 2, mask).sqrt()
    return (advantages - mean) / (std + 1e-8)


def combine_losses(log_prob: torch.Tensor, advantages: torch.Tensor, entropy: torch.Tensor,
                   value_loss: torch.Tensor, mask: torch.Tensor | None,
                   config: PolicyGradientConfig) -> PolicyGradientLoss:
    """The total loss from its parts: ``−mean log π · Â`` (advantages normalised if
    ``config.normalize_advantages``, never differentiated), the critic's loss and the entropy
    bonus, averaged over real steps (``mask``; ``None``: all)."""
    if config.normalize_advantages:
        advantages = _normalize(advantages, mask)
    policy_loss = -_masked_mean(log_prob * advantages.detach(), mask)
    mean_entropy = _masked_mean(entropy, mask)
    total = policy_loss + config.value_coef * value_loss - config.entropy_coef * mean_entropy
    return PolicyGradientLoss(total, policy_loss.detach(), value_loss.detach(),
                              mean_entropy.detach())


def reinforce_loss(policy: CategoricalPolicy, value_fn: ValueNetwork | None,
                   batch: EpisodeBatch, config: PolicyGradientConfig) -> PolicyGradientLoss:
    """REINFORCE on whole episodes: ``−mean_t log π(a_t|s_t) (G_t − V(s_t))``.

    With ``value_fn`` (the baseline), ``V`` is fitted to ``G_t`` by squared error, and a
    *truncated* episode's reward-to-go is completed with ``γ^{T−t} V(s_T)`` of its final
    observation; a terminated one is not. Without it, ``Â_t = G_t``. (Like most
    implementations, the ``γ^t`` factor of the exact discounted gradient is dropped.)
    """
    mask = batch.mask
    dist = policy(batch.observations)
    log_prob = dist.log_prob(batch.actions)
    returns = reward_to_go(batch.rewards, config.gamma, mask)
    if value_fn is None:
        advantages, value_loss = returns, torch.zeros(())
    else:
        values = value_fn(batch.observations)
        with torch.no_grad():
            final_values = value_fn(batch.final_observations) * batch.truncated
            to_end = (batch.lengths[:, None] - torch.arange(mask.shape[1])[None, :]).clamp(min=0)
            returns = returns + config.gamma ** to_end * final_values[:, None] * mask
        advantages = returns - values.detach()
        value_loss = _masked_mean((values - returns) ** 2, mask)
    return combine_losses(log_prob, advantages, dist.entropy(), value_loss, mask, config)


def actor_critic_loss(policy: CategoricalPolicy, value_fn: ValueNetwork, rollout: Rollout,
                      config: PolicyGradientConfig) -> PolicyGradientLoss:
    """Advantage actor-critic on one rollout: GAE(λ) or n-step advantages from ``value_fn``.

    The critic is fitted to ``Â_t + V(s_t)`` (the λ-return, or the n-step return).
    """
    dist = policy(rollout.observations)
    log_prob = dist.log_prob(rollout.actions)
    values = value_fn(rollout.observations)
    with torch.no_grad():
        next_values = value_fn(rollout.next_observations)
        if config.advantage == "gae":
            advantages = gae_advantages(rollout.rewards, values, next_values, rollout.terminated,
                                        rollout.truncated, config.gamma, config.gae_lambda)
            targets = advantages + values
        else:
            targets = n_step_returns(rollout.rewards, next_values, rollout.terminated,
                                     rollout.truncated, config.gamma, config.n_steps)
            advantages = targets - values
    value_loss = ((values - targets) ** 2).mean()
    return combine_losses(log_prob, advantages, dist.entropy(), value_loss, None, config)
