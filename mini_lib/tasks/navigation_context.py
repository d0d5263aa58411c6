r"""Chapter 08's learners on 2D navigation: a task embedding, a map to weights, a policy.

Every family of the chapter is a :class:`FamilyLearner`: a small navigation policy
(:class:`~mini_lib.tasks.navigation.NavigationPolicy`, used only for its structure), a
*conditioner* that maps a task embedding :math:`e` to all of its weights — by concatenation
(:class:`~mini_lib.meta.conditioning.ConcatConditioner`) or by a hypernetwork
(:class:`~mini_lib.meta.hypernetwork.HyperNetwork`) — and, for the families that infer the
task, a :class:`~mini_lib.meta.context_encoder.ContextEncoder`. Where :math:`e` comes from
names the family (:data:`EMBEDDINGS`):

- ``"goal"``: the goal itself, :math:`e = g` (the task is *given*: an upper reference);
- ``"context"``: a latent :math:`z` inferred from one episode of *context*, the transitions
  :math:`(s, a, r, s')` of an episode played towards a goal guessed from the task
  distribution (posterior sampling from the prior, as in PEARL, Rakelly et al. 2019);
- ``"cavia"``: a context vector :math:`\phi` that starts at 0 and is adapted by gradient
  steps on the task's episodes (Zintgraf et al. 2019).

:func:`context_transitions` reads the transitions of a batch back by replaying its actions
in the (deterministic) batched env; :func:`collect_context` plays the context episodes;
:func:`adapt_context` is CAVIA's inner loop on :mod:`mini_lib.meta.functional`'s ``adapt``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, vmap

from mini_lib.checks import check_int, check_positive
from mini_lib.envs.point_navigation import GOAL_HIGH, GOAL_LOW, HORIZON, BatchedPointNavigation
from mini_lib.meta.conditioning import ConcatConditioner
from mini_lib.meta.context_encoder import ContextEncoder, GaussianPosterior
from mini_lib.meta.functional import Params, adapt
from mini_lib.meta.hypernetwork import HyperNetwork
from mini_lib.tasks.navigation import NavigationBatch, NavigationPolicy, pg_loss, sample_batch

__all__ = ["CONDITIONERS", "EMBEDDINGS", "TRANSITION_DIM", "Context", "FamilyLearner",
           "adapt_context", "collect_context", "context_adaptation_batches",
           "context_transitions", "goal_log_likelihood", "infer", "task_code"]

EMBEDDINGS = ("goal", "context", "cavia")
CONDITIONERS = ("concat", "hyper")
TRANSITION_DIM = 7  # (s: 2, a: 2, r: 1, s': 2)


class FamilyLearner(nn.Module):
    """A policy of ``hidden`` widths whose weights come from an ``embedding_dim`` task
    embedding through a ``conditioner`` (``"concat"`` or ``"hyper"``, with ``hyper_hidden``
    widths), and an encoder of ``encoder_hidden`` widths if ``embedding`` is ``"context"``."""

    def __init__(self, embedding: str, conditioner: str, embedding_dim: int,
                 hidden: tuple[int, ...] = (64,), hyper_hidden: tuple[int, ...] = (64,),
                 encoder_hidden: tuple[int, ...] = (64, 64), factors: str = "rank_one") -> None:
        super().__init__()
        if embedding not in EMBEDDINGS:
            raise ValueError(f"embedding must be one of {EMBEDDINGS}, got {embedding!r}")
        if conditioner not in CONDITIONERS:
            raise ValueError(f"conditioner must be one of {CONDITIONERS}, got {conditioner!r}")
        if embedding == "goal" and embedding_dim != 2:
            raise ValueError(f"embedding_dim must be 2 (the goal) for embedding='goal', got "
                             f"{embedding_dim}")
        if embedding == "context" and embedding_dim != 3:
            raise ValueError(f"embedding_dim must be 3 (the task code (g, |g|²)) for "
                             f"embedding='context', got {embedding_dim}")
        self.embedding = embedding
        self.embedding_dim = check_int("embedding_dim", embedding_dim, 1)
        self.policy = NavigationPolicy(hidden)
        self.conditioner = (ConcatConditioner(self.policy, embedding_dim)
                            if conditioner == "concat"
                            else HyperNetwork(self.policy, embedding_dim, hyper_hidden))
        self.encoder = (ContextEncoder(TRANSITION_DIM, embedding_dim, encoder_hidden, factors)
                        if embedding == "context" else None)
        for p in self.policy.parameters():  # the policy only lends its structure
            p.requires_grad_(False)

    def weights(self, embedding: torch.Tensor) -> Params:
        """The policy's parameters for every task embedding ``(T, embedding_dim)``."""
        return self.conditioner(embedding)

    def sample(self, embedding: torch.Tensor, goals: np.ndarray, trajectories: int,
               generator: torch.Generator, gamma: float = 0.99) -> NavigationBatch:
        """``trajectories`` episodes per goal with the weights of ``embedding`` (no grad)."""
        with torch.no_grad():
            params = self.weights(embedding)
        return sample_batch(self.policy, params, goals, trajectories, generator, gamma)

    def task_losses(self, params: Params, batch: NavigationBatch) -> torch.Tensor:
        """The policy-gradient surrogate of every task ``(T,)`` under per-task ``params``."""
        return vmap(pg_loss(self.policy))(params, batch.batch)


class Context(NamedTuple):
    """One context episode per task: ``transitions`` ``(T, H, 7)`` with ``mask`` ``(T, H)``
    (1 for the transitions the encoder reads), ``valid`` (1 for every real step of the
    episode), and the episode itself (``batch``)."""

    transitions: torch.Tensor
    mask: torch.Tensor
    valid: torch.Tensor
    batch: NavigationBatch

    def first(self, n_transitions: int | torch.Tensor) -> Context:
        """The same episodes, read only up to their first ``n_transitions`` (one number, or
        one per task ``(T,)``; 0 leaves the prior)."""
        n = torch.as_tensor(n_transitions).expand(self.mask.shape[0])
        if (n < 0).any():
            raise ValueError(f"n_transitions must be ≥ 0, got {n_transitions}")
        keep = (torch.arange(self.mask.shape[1])[None, :] < n[:, None]).to(self.mask.dtype)
        return self._replace(mask=self.valid * keep)


def context_transitions(goals: np.ndarray, batch: NavigationBatch) -> tuple[torch.Tensor,
                                                                            torch.Tensor]:
    """``(transitions, mask)`` of every episode of ``batch``, shapes ``(T, K·H, 7)`` and
    ``(T, K·H)``: the batch's actions replayed in the env give :math:`r` and :math:`s'`."""
    observations, actions, _, mask = batch.batch
    _, n_trajectories, horizon, _ = actions.shape
    env = BatchedPointNavigation(goals, n_trajectories, horizon)
    env.reset()
    rewards, next_observations = [], []
    for t in range(horizon):
        position, reward, *_ = env.step(actions[:, :, t].float())
        rewards.append(reward)
        next_observations.append(position)
    reward = torch.stack(rewards, dim=2)[..., None].to(observations.dtype)
    following = torch.stack(next_observations, dim=2).to(observations.dtype)
    transitions = torch.cat([observations, actions, reward, following], dim=-1)
    return transitions.flatten(1, 2), mask.flatten(1, 2)


def collect_context(learner: FamilyLearner, goals: np.ndarray, generator: torch.Generator,
                    n_transitions: int | torch.Tensor = HORIZON) -> Context:
    """One context episode per goal, played as if the goal were a random *guess* — the task
    code of a goal drawn from the task distribution with ``generator``, posterior sampling
    from the prior over tasks — read up to its first ``n_transitions`` (:meth:`Context.first`).
    """
    guesses = torch.rand(len(goals), 2, generator=generator) * (GOAL_HIGH - GOAL_LOW) + GOAL_LOW
    episode = learner.sample(task_code(guesses), goals, 1, generator)
    transitions, valid = context_transitions(goals, episode)
    return Context(transitions, valid, valid, episode).first(n_transitions)


def infer(learner: FamilyLearner, context: Context) -> GaussianPosterior:
    """The encoder's posterior over the latent of every task ``(T, latent)``."""
    if learner.encoder is None:
        raise ValueError(f"embedding={learner.embedding!r} has no encoder; only 'context' does")
    return learner.encoder(context.transitions, context.mask)


def task_code(goals: np.ndarray | torch.Tensor) -> torch.Tensor:
    r"""The latent a context can measure *linearly*, :math:`(g_x, g_y, \lVert g \rVert^2)`
    ``(T, 3)``: a reward :math:`r = -\lVert s' - g \rVert` gives :math:`r^2 - \lVert s'
    \rVert^2 = (-2 s', 1) \cdot (g, \lVert g \rVert^2)`, one rank-one measurement."""
    goals = torch.as_tensor(np.asarray(goals, dtype=np.float32))
    return torch.cat([goals, (goals**2).sum(dim=-1, keepdim=True)], dim=-1)


def goal_log_likelihood(posterior: GaussianPosterior, goals: np.ndarray) -> torch.Tensor:
    r""":math:`\log q(\text{task code} \mid \text{context})` of every task ``(T,)``:
    training the encoder to maximise it over the training goals makes its posterior an
    amortised Bayesian belief about the goal (task inference with the training tasks'
    labels, Humplik et al. 2019)."""
    code = task_code(goals).to(posterior.mean.dtype)
    if code.shape != posterior.mean.shape:
        raise ValueError(f"the latent must be the task code (g, |g|²) of shape "
                         f"{tuple(code.shape)}, got {tuple(posterior.mean.shape)}")
    return torch.distributions.MultivariateNormal(posterior.mean,
                                                  posterior.covariance).log_prob(code)


def adapt_context(learner: FamilyLearner, batch: NavigationBatch, alpha: float,
                  steps: int = 1, context: torch.Tensor | None = None,
                  theta: Params | None = None, first_order: bool = False) -> torch.Tensor:
    """CAVIA's inner loop: ``steps`` gradient steps of size ``alpha`` on each task's context
    vector ``(T, d)`` (zeros unless ``context`` is given) on the surrogate of ``batch``,
    the conditioner's own weights held at ``theta`` (its parameters unless given: pass them
    to take the meta-gradient through the steps)."""
    alpha = check_positive("alpha", alpha)
    steps = check_int("steps", steps, 0)
    n_tasks = batch.returns.shape[0]
    if context is None:
        context = torch.zeros(n_tasks, learner.embedding_dim, dtype=batch.batch[0].dtype)
    if theta is None:
        theta = {name: p.detach() for name, p in learner.conditioner.named_parameters()}
    loss = pg_loss(learner.policy)

    def inner_loss(vector: Params, task_batch) -> torch.Tensor:
        weights = functional_call(learner.conditioner, theta, (vector["context"],))
        return loss(weights, task_batch)

    def one_task(start: torch.Tensor, task_batch) -> torch.Tensor:
        return adapt({"context": start}, inner_loss, task_batch, alpha, steps,
                     first_order)["context"]

    return vmap(one_task)(context, batch.batch)


def context_adaptation_batches(learner: FamilyLearner, goals: np.ndarray, trajectories: int,
                               alpha: float, steps: int, seed: int = 0) -> list[NavigationBatch]:
    """CAVIA's twin of chapter 06's ``adaptation_batches``: the episodes sampled with the
    context at 0 and after each of ``steps`` steps of size ``alpha``, each step on the
    previous batch; all noise from a generator seeded ``seed``."""
    steps = check_int("steps", steps, 0)
    generator = torch.Generator().manual_seed(seed)
    context = torch.zeros(len(goals), learner.embedding_dim)
    batches = []
    for k in range(steps + 1):
        batches.append(learner.sample(context, goals, trajectories, generator))
        if k < steps:
            context = adapt_context(learner, batches[-1], alpha, 1, context=context)
    return batches
