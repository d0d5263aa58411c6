r"""One gradient update, shared by every policy-gradient trainer in the course.

REINFORCE and actor-critic (chapter 03), A2C, simulated and real A3C (chapter 04) differ in
where experience comes from and *which* parameters the optimiser moves — the update itself is
the same: backward, clip each network's gradient on its own, stop on NaN/inf with the likely
cause. Asynchronous workers compute the gradient on a local copy and hand it to the shared
parameters, so :func:`clipped_backward` and the optimiser step are separate calls.
"""

from __future__ import annotations

from collections.abc import Sequence

import gymnasium as gym
import torch
from torch import nn

from mini_lib.checks import check_finite
from mini_lib.policy_gradient.config import PolicyGradientConfig
from mini_lib.policy_gradient.losses import PolicyGradientLoss
from mini_lib.policy_gradient.networks import CategoricalPolicy, ValueNetwork, check_policy_env

__all__ = ["build_actor_critic", "clipped_backward", "gradient_step", "optimizer_groups"]


def build_actor_critic(env: gym.Env, config: PolicyGradientConfig, seed: int,
                       with_value: bool = True) -> tuple[CategoricalPolicy, ValueNetwork | None]:
    """The policy (and critic) for ``env``, initialised from ``torch.manual_seed(seed)``:
    the same seed gives the same first networks in every trainer."""
    n_inputs, n_actions = check_policy_env(env)
    torch.manual_seed(seed)
    policy = CategoricalPolicy(n_inputs, n_actions, config.hidden)
    value_fn = ValueNetwork(n_inputs, config.hidden) if with_value else None
    return policy, value_fn


def optimizer_groups(policy: nn.Module, value_fn: nn.Module | None,
                     config: PolicyGradientConfig) -> list[dict]:
    """Optimiser parameter groups: the policy at ``learning_rate``, the critic at
    ``value_learning_rate``."""
    groups = [{"params": list(policy.parameters()), "lr": config.learning_rate}]
    if value_fn is not None:
        groups.append({"params": list(value_fn.parameters()),
                       "lr": config.value_learning_rate})
    return groups


def clipped_backward(loss: PolicyGradientLoss, parameter_groups: Sequence[Sequence[nn.Parameter]],
                     config: PolicyGradientConfig, step: int) -> None:
    """Fresh gradients of ``loss.total`` in ``parameter_groups``, each group's norm clipped to
    ``config.max_grad_norm`` on its own (the critic's large gradients must not shrink the
    actor's step). Old gradients are dropped first, never accumulated. A NaN/inf loss or
    gradient raises :class:`~mini_lib.checks.DivergenceError` naming the likely cause."""
    for group in parameter_groups:
        for p in group:
            p.grad = None
    total = loss.total
    norms = []
    if torch.isfinite(total):
        total.backward()
        norms = [nn.utils.clip_grad_norm_(group, config.max_grad_norm)
                 for group in parameter_groups]
    check_finite(
        lambda: (f"policy-gradient loss or gradient became non-finite at step {step} ("
                 + ", ".join(f"{k} {v:.3g}" for k, v in loss.as_floats().items()) + ")"),
        torch.stack([total.detach(), *norms]),
        lambda: (f"learning_rate {config.learning_rate:g} / value_learning_rate "
                 f"{config.value_learning_rate:g} too high (try 10x smaller), or rewards too "
                 f"large for the value network (scale them down)"))


def gradient_step(loss: PolicyGradientLoss, optimizer: torch.optim.Optimizer,
                  config: PolicyGradientConfig, step: int) -> None:
    """:func:`clipped_backward` on the optimiser's own parameters, then ``optimizer.step()``."""
    clipped_backward(loss, [group["params"] for group in optimizer.param_groups], config, step)
    optimizer.step()
