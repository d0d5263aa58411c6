r"""One A3C actor-learner as an object: weights in, gradient out.

Both A3C backends run this class. The process backend (:mod:`~mini_lib.policy_gradient.a3c`)
calls it inside each worker process and hands the gradient to the shared parameters in
place (Hogwild); the Ray backend (:mod:`~mini_lib.policy_gradient.ray_backend`) runs it as a
remote actor (``ray.remote(RolloutWorker)``) and a parameter server applies the returned
gradient. Everything it needs pickles, so it starts under ``spawn`` and on another machine.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import gymnasium as gym
import torch
from torch.nn.utils import parameters_to_vector, vector_to_parameters

from mini_lib.checks import check_int
from mini_lib.policy_gradient.config import PolicyGradientConfig
from mini_lib.policy_gradient.losses import actor_critic_loss
from mini_lib.policy_gradient.rollouts import RolloutState, collect_rollout
from mini_lib.policy_gradient.updates import build_actor_critic, clipped_backward

__all__ = ["RolloutWorker", "WorkerGradient", "make_cartpole"]


def make_cartpole() -> gym.Env:
    """The default ``env_factory``: ``gym.make("CartPole-v1")`` (top level, so it pickles)."""
    return gym.make("CartPole-v1")


@dataclass(frozen=True)
class WorkerGradient:
    """What one update of one worker produced: its clipped gradient as one flat vector (policy
    parameters first, then the critic's), the env steps it took, the episodes that ended
    (undiscounted return, and the index within the rollout of the step after their last)."""

    rank: int
    gradient: torch.Tensor
    steps: int
    episode_returns: list[float] = field(default_factory=list)
    episode_ends: list[int] = field(default_factory=list)


class RolloutWorker:
    """An actor-learner: its own env (``env_factory()``, seeded ``seed + rank``), its own random
    stream, and local networks shaped as ``build_actor_critic`` makes them."""

    def __init__(self, config: PolicyGradientConfig, rank: int, seed: int,
                 env_factory: Callable[[], gym.Env] = make_cartpole) -> None:
        torch.set_num_threads(1)
        self.config, self.rank = config, check_int("rank", rank, 0)
        self.env = env_factory()
        self.policy, self.value_fn = build_actor_critic(self.env, config, seed)
        self.groups = [list(self.policy.parameters()), list(self.value_fn.parameters())]
        self.state = RolloutState.start(self.env, seed + rank)

    @property
    def parameters(self) -> list[torch.nn.Parameter]:
        return [p for group in self.groups for p in group]

    def gradient(self, weights: torch.Tensor, n_steps: int | None = None,
                 step: int = 0) -> WorkerGradient:
        """Load ``weights`` (a flat vector), act ``n_steps`` (default ``config.n_steps``) steps
        from where this worker's env stands, and return the clipped gradient of the
        actor-critic loss. The local networks keep the weights and the gradient afterwards.
        ``step`` (the global step count) goes into a divergence message."""
        with torch.no_grad():
            vector_to_parameters(torch.as_tensor(weights), self.parameters)
        rollout = collect_rollout(self.env, self.policy, n_steps or self.config.n_steps,
                                  self.state)
        loss = actor_critic_loss(self.policy, self.value_fn, rollout, self.config)
        clipped_backward(loss, self.groups, self.config, step)
        gradient = parameters_to_vector([p.grad for p in self.parameters]).detach().clone()
        return WorkerGradient(self.rank, gradient, len(rollout), rollout.episode_returns,
                              [t + 1 for t in rollout.episode_ends])
