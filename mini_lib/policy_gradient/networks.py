r"""The policy :math:`\pi_\theta(\cdot \mid s)` and the critic :math:`V(s)` as small MLPs."""

from __future__ import annotations

from collections.abc import Callable

import gymnasium as gym
import numpy as np
import torch
from torch import nn
from torch.distributions import Categorical

from mini_lib.checks import check_int
from mini_lib.envs.spaces import check_vector_env
from mini_lib.nets import mlp

__all__ = ["CategoricalPolicy", "ValueNetwork", "check_policy_env", "policy_actor"]


def check_policy_env(env: gym.Env) -> tuple[int, int]:
    """``(observation size, number of actions)``; ``ValueError`` unless actions are Discrete."""
    return check_vector_env(env, "for a categorical policy (a continuous action needs e.g. a "
                                 "Gaussian policy)")


class CategoricalPolicy(nn.Module):
    """MLP from observations ``(..., n_inputs)`` to a ``Categorical`` over ``n_actions``.

    ``n_actions`` may also be an ``env.action_space`` (which must be Discrete). The last layer
    starts near zero, so the first policy is close to uniform.
    """

    def __init__(self, n_inputs: int, n_actions: int | gym.Space,
                 hidden: tuple[int, ...] = (64, 64)) -> None:
        super().__init__()
        if isinstance(n_actions, gym.Space) and not isinstance(n_actions, gym.spaces.Discrete):
            raise ValueError(f"env.action_space must be Discrete for a categorical policy, "
                             f"got {n_actions}")
        if isinstance(n_actions, gym.spaces.Discrete):
            n_actions = int(n_actions.n)
        self.n_actions = check_int("n_actions", n_actions, 1)
        self.net = mlp((check_int("n_inputs", n_inputs, 1), *hidden, self.n_actions), nn.Tanh)
        with torch.no_grad():
            self.net[-1].weight.mul_(0.01)
            self.net[-1].bias.zero_()

    @classmethod
    def for_env(cls, env: gym.Env, hidden: tuple[int, ...] = (64, 64)) -> CategoricalPolicy:
        """A policy sized for ``env`` (refuses a non-Discrete ``env.action_space``)."""
        n_inputs, n_actions = check_policy_env(env)
        return cls(n_inputs, n_actions, hidden)

    def logits(self, observations: torch.Tensor) -> torch.Tensor:
        """Unnormalised log-probabilities ``(..., n_actions)``."""
        return self.net(observations)

    def forward(self, observations: torch.Tensor) -> Categorical:
        return Categorical(logits=self.net(observations))


class ValueNetwork(nn.Module):
    """MLP from observations ``(..., n_inputs)`` to state values ``(...)``."""

    def __init__(self, n_inputs: int, hidden: tuple[int, ...] = (64, 64)) -> None:
        super().__init__()
        self.net = mlp((check_int("n_inputs", n_inputs, 1), *hidden, 1), nn.Tanh)

    def forward(self, observations: torch.Tensor) -> torch.Tensor:
        return self.net(observations).squeeze(-1)


def policy_actor(policy: CategoricalPolicy, greedy: bool = True) -> Callable[[np.ndarray],
                                                                               np.ndarray]:
    """``observations -> actions`` for a batch: the most likely action, or a sample."""

    def act(observations: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            dist = policy(torch.as_tensor(observations, dtype=torch.float32))
        return (dist.probs.argmax(dim=-1) if greedy else dist.sample()).numpy()

    return act
