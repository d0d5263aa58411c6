r"""Training chapter 08's families on 2D navigation: given goal, inferred context, CAVIA.

One iteration samples ``meta_batch`` goals and, per family (:class:`FamilyConfig`):

- ``"goal"``: ``trajectories`` episodes per goal with the weights of :math:`e = g`, and one
  Adam step on the policy-gradient surrogate (the conditioner learns the map goal → weights);
- ``"context"``: one context episode per goal, played towards a goal guessed from the task
  distribution; ``encoder_steps`` Adam steps of the encoder on
  :math:`-\log q(\text{task code} \mid c_{1:n}) + \beta\,\mathrm{KL}(q \,\Vert\, \mathcal N(0, I))`,
  each with a random length :math:`n` (1…100) per task, so that it learns to read short
  contexts too (:func:`~mini_lib.tasks.navigation_context.goal_log_likelihood`); then a draw
  :math:`z` from the posterior (its mean if ``sample_latent`` is False), ``trajectories``
  scored episodes with its weights, and an Adam step of the conditioner on their surrogate
  (:math:`z` detached: the policy's loss does not train the encoder);
- ``"cavia"``: ``trajectories`` support episodes with :math:`\phi = 0`, ``inner_steps``
  gradient steps on :math:`\phi` alone (:func:`~mini_lib.tasks.navigation_context.adapt_context`),
  query episodes with the adapted :math:`\phi`, and the meta-gradient of their surrogate with
  respect to the shared weights, through the inner steps (``torch.func.grad``).

As in chapter 06, the episodes are data: no gradient flows through how they were sampled.
Training the encoder through the policy gradient alone (PEARL trains it through its critic)
or by predicting rewards left the return at about −38 in our runs — the return of a policy
that ignores the task — so the encoder learns from the training goals instead.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import torch
from torch.func import grad_and_value
from tqdm.auto import tqdm

from mini_lib.checks import check_finite, check_int, check_positive, check_widths
from mini_lib.envs.point_navigation import HORIZON, sample_tasks
from mini_lib.meta.context_encoder import GaussianPosterior, kl_to_prior
from mini_lib.tasks.navigation_context import (
    CONDITIONERS,
    EMBEDDINGS,
    Context,
    FamilyLearner,
    adapt_context,
    collect_context,
    goal_log_likelihood,
    infer,
)

__all__ = ["FamilyConfig", "FamilyResult", "make_learner", "train_family"]


@dataclass(frozen=True)
class FamilyConfig:
    """A family (``embedding`` in :data:`EMBEDDINGS`, ``conditioner`` in
    :data:`CONDITIONERS`) and its training settings; every field is validated.

    ``embedding_dim`` is 2 for the goal, 3 (the task code) for ``"context"``, the context
    vector's size for ``"cavia"`` (Zintgraf et al. use 5 on 2D navigation, inner step
    ``alpha`` = 1). ``factors`` (``"rank_one"`` or PEARL's ``"diagonal"``), ``encoder_lr``,
    ``encoder_steps``, ``kl_weight`` β ≥ 0 and ``sample_latent`` concern ``"context"`` only.
    ``hidden``: the generated policy's widths; ``hyper_hidden``: the hypernetwork's; Adam's
    ``lr`` > 0.
    """

    embedding: str = "goal"
    conditioner: str = "concat"
    embedding_dim: int = 2
    iterations: int = 300
    meta_batch: int = 20
    trajectories: int = 20
    lr: float = 3e-3
    hidden: tuple[int, ...] = (64,)
    hyper_hidden: tuple[int, ...] = (64,)
    kl_weight: float = 1e-3
    factors: str = "rank_one"
    encoder_lr: float = 1e-2
    encoder_steps: int = 5
    sample_latent: bool = True
    alpha: float = 1.0
    inner_steps: int = 1
    gamma: float = 0.99

    def __post_init__(self) -> None:
        if self.embedding not in EMBEDDINGS:
            raise ValueError(f"embedding must be one of {EMBEDDINGS}, got {self.embedding!r}")
        if self.conditioner not in CONDITIONERS:
            raise ValueError(f"conditioner must be one of {CONDITIONERS}, got "
                             f"{self.conditioner!r}")
        check_int("embedding_dim", self.embedding_dim, 1)
        check_int("iterations", self.iterations, 1)
        check_int("meta_batch", self.meta_batch, 1)
        check_int("trajectories", self.trajectories, 2)
        check_positive("lr", self.lr)
        check_widths("hidden", self.hidden)
        check_widths("hyper_hidden", self.hyper_hidden)
        if self.kl_weight < 0:
            raise ValueError(f"kl_weight must be ≥ 0, got {self.kl_weight}")
        check_positive("alpha", self.alpha)
        check_int("inner_steps", self.inner_steps, 1)
        check_positive("encoder_lr", self.encoder_lr)
        check_int("encoder_steps", self.encoder_steps, 1)


@dataclass
class FamilyResult:
    """The trained learner and, per iteration, the mean return of the scored episodes (for
    CAVIA also of the support episodes, before adapting), the mean KL, and the time."""

    learner: FamilyLearner
    config: FamilyConfig
    returns: list[float] = field(default_factory=list)
    pre_returns: list[float] = field(default_factory=list)
    kl: list[float] = field(default_factory=list)
    seconds: float = 0.0


def make_learner(config: FamilyConfig) -> FamilyLearner:
    """The untrained learner of ``config`` (seed torch first for a reproducible start)."""
    return FamilyLearner(config.embedding, config.conditioner, config.embedding_dim,
                         config.hidden, config.hyper_hidden, factors=config.factors)


def _likely_causes(config: FamilyConfig) -> list[str]:
    causes = [f"lr={config.lr:g} is too large (1e-3 is stable here; a hypernetwork fed the "
              f"inferred z needs 3e-4)"]
    if config.embedding == "cavia":
        causes.insert(0, f"the inner step alpha={config.alpha:g} is too large for the context "
                         f"vector (Zintgraf et al. use 1.0 with 5 dimensions)")
    return causes


def _cavia_gradient(learner: FamilyLearner, config: FamilyConfig, goals: np.ndarray,
                    generator: torch.Generator, result: FamilyResult):
    support = learner.sample(torch.zeros(len(goals), config.embedding_dim), goals,
                             config.trajectories, generator, config.gamma)
    adapted = adapt_context(learner, support, config.alpha, config.inner_steps)
    query = learner.sample(adapted, goals, config.trajectories, generator, config.gamma)
    result.pre_returns.append(support.mean_return)
    result.returns.append(query.mean_return)

    def meta_loss(theta):
        context = adapt_context(learner, support, config.alpha, config.inner_steps,
                                theta=theta)
        weights = torch.func.functional_call(learner.conditioner, theta, (context,))
        return learner.task_losses(weights, query).mean()

    theta = {name: p.detach() for name, p in learner.conditioner.named_parameters()}
    gradient, value = grad_and_value(meta_loss)(theta)
    for name, p in learner.conditioner.named_parameters():
        p.grad = gradient[name]
    return value


def _encoder_step(learner: FamilyLearner, config: FamilyConfig, goals: np.ndarray,
                  context: Context, optimizer: torch.optim.Optimizer,
                  generator: torch.Generator) -> tuple[GaussianPosterior, float]:
    """One Adam step of the encoder on ``−log q(task code | first n transitions) + β KL``,
    with a random n (1…100) per task: the encoder learns to read short contexts too."""
    lengths = torch.randint(1, HORIZON + 1, (len(goals),), generator=generator)
    posterior = infer(learner, context.first(lengths))
    kl = kl_to_prior(posterior).mean()
    loss = config.kl_weight * kl - goal_log_likelihood(posterior, goals).mean()
    optimizer.zero_grad()
    loss.backward()
    check_finite(f"the context encoder diverged: its loss became {loss.item():.3g}",
                 loss.item(), [f"encoder_lr={config.encoder_lr:g} is too large (1e-2 works)"])
    optimizer.step()
    return posterior, kl.item()


def train_family(config: FamilyConfig, seed: int = 0, *, progress: bool = False
                 ) -> FamilyResult:
    """Train the family of ``config``; goals of iteration ``i`` come from
    ``sample_tasks(meta_batch, seed=1000 * (seed + 1) + i)`` (as in chapter 06), all noise
    from a generator seeded ``seed``: the same seed gives the same run."""
    torch.manual_seed(seed)
    learner = make_learner(config)
    optimizer = torch.optim.Adam(learner.conditioner.parameters(), lr=config.lr)
    if learner.encoder is not None:
        encoder_optimizer = torch.optim.Adam(learner.encoder.parameters(), lr=config.encoder_lr)
    generator = torch.Generator().manual_seed(seed)
    result = FamilyResult(learner, config)
    start = time.perf_counter()
    bar = tqdm(range(config.iterations), disable=not progress,
               desc=f"{config.embedding}/{config.conditioner}", unit="it")
    for i in bar:
        goals = sample_tasks(config.meta_batch, seed=1000 * (seed + 1) + i)
        optimizer.zero_grad()
        if config.embedding == "cavia":
            value = _cavia_gradient(learner, config, goals, generator, result)
        else:
            if config.embedding == "goal":
                embedding = torch.as_tensor(goals)
            else:
                context = collect_context(learner, goals, generator)
                for _ in range(config.encoder_steps):
                    posterior, kl = _encoder_step(learner, config, goals, context,
                                                  encoder_optimizer, generator)
                result.kl.append(kl)
                embedding = (posterior.sample(generator) if config.sample_latent
                             else posterior.mean).detach()
            scored = learner.sample(embedding.detach(), goals, config.trajectories, generator,
                                    config.gamma)
            result.returns.append(scored.mean_return)
            value = learner.task_losses(learner.weights(embedding), scored).mean()
            value.backward()
        check_finite(f"{config.embedding}/{config.conditioner} diverged at iteration {i}: the "
                     f"loss became {value.item():.3g}", value.item(), _likely_causes(config))
        optimizer.step()
        bar.set_postfix(scored_return=f"{result.returns[-1]:.1f}")
    result.seconds = time.perf_counter() - start
    return result
