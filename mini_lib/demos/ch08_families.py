"""The pure functions behind chapter 08's comparison table and its context plots.

Every family is scored on chapter 06's 40 held-out goals (:func:`held_out_goals`, the
Fig. 5 goals): the mean return, per goal, of ``trajectories`` scored episodes after the
family has seen its task data — nothing (the goal is given), one context episode (the
inferred families, :func:`context_returns`), or ``trajectories`` episodes and gradient steps
(CAVIA, :func:`cavia_returns`; MAML, :func:`maml_returns`). :func:`mean_interval` gives the
mean and a 95 % interval over goals; :func:`adaptation_seconds` times the adaptation step
alone (volatile: the notebook does not compare it with stored output).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from mini_lib.artefacts.maml_nav import fig5_goals
from mini_lib.checks import check_int
from mini_lib.envs.point_navigation import HORIZON
from mini_lib.evaluation import mean_interval
from mini_lib.meta.context_encoder import GaussianPosterior
from mini_lib.meta.functional import Params
from mini_lib.tasks.navigation import NavigationPolicy
from mini_lib.tasks.navigation_context import (
    Context,
    FamilyLearner,
    collect_context,
    context_adaptation_batches,
    infer,
)
from mini_lib.tasks.navigation_families import FamilyConfig
from mini_lib.tasks.navigation_training import adaptation_batches

__all__ = ["CONTEXT_LENGTHS", "EVALUATION_SEED", "EVALUATION_TRAJECTORIES", "LIVE_RUN",
           "ContextResult", "adaptation_seconds", "cavia_returns", "context_returns",
           "given_returns", "held_out_goals", "maml_returns", "mean_interval",
           "returns_against_context"]

EVALUATION_TRAJECTORIES = 20  # scored episodes per goal, and CAVIA's / MAML's support episodes
EVALUATION_SEED = 0
#: Context lengths of the return-against-context curve.
CONTEXT_LENGTHS = (0, 1, 2, 3, 5, 10, 20, 50, 100)
#: The notebook's live run: the hypernetwork told the goal, about 10 s on one core.
LIVE_RUN = FamilyConfig("goal", "hyper", 2, iterations=100, lr=1e-3)


def held_out_goals() -> np.ndarray:
    """Chapter 06's 40 Fig. 5 test goals: no family saw them in training."""
    return fig5_goals()


def given_returns(learner: FamilyLearner, goals: np.ndarray,
                  trajectories: int = EVALUATION_TRAJECTORIES,
                  seed: int = EVALUATION_SEED) -> np.ndarray:
    """Per-goal mean return ``(T,)`` of a learner told the goal (``embedding="goal"``)."""
    if learner.embedding != "goal":
        raise ValueError(f"learner must take the goal (embedding='goal'), got "
                         f"{learner.embedding!r}")
    generator = torch.Generator().manual_seed(seed)
    batch = learner.sample(torch.as_tensor(goals), goals, trajectories, generator)
    return batch.returns.mean(dim=1).double().numpy()


@dataclass(frozen=True)
class ContextResult:
    """Per-goal returns ``(T,)`` after reading a context; the context and the posterior."""

    returns: np.ndarray
    context: Context
    posterior: GaussianPosterior
    paths: tuple[np.ndarray, np.ndarray]


def context_returns(learner: FamilyLearner, goals: np.ndarray,
                    n_transitions: int = HORIZON, trajectories: int = EVALUATION_TRAJECTORIES,
                    seed: int = EVALUATION_SEED) -> ContextResult:
    """One context episode per goal (played towards a goal guessed from the task
    distribution), its first ``n_transitions`` ∈ 0…100 read by the encoder, and
    ``trajectories`` scored episodes acting on the posterior mean."""
    n_transitions = check_int("n_transitions", n_transitions, 0, HORIZON)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        context = collect_context(learner, goals, generator, n_transitions)
        posterior = infer(learner, context)
    scored = learner.sample(posterior.mean, goals, trajectories, generator)
    observations, _, _, mask = scored.batch
    paths = (observations.double().numpy(), mask.bool().numpy())
    return ContextResult(scored.returns.mean(dim=1).double().numpy(), context, posterior, paths)


def returns_against_context(learner: FamilyLearner, goals: np.ndarray,
                            lengths: tuple[int, ...] = CONTEXT_LENGTHS) -> np.ndarray:
    """Per-goal returns after reading each context length ``(len(lengths), T)``; every row
    reads a prefix of the same context episodes (same seed)."""
    return np.stack([context_returns(learner, goals, n).returns for n in lengths])


def cavia_returns(learner: FamilyLearner, goals: np.ndarray, alpha: float, steps: int,
                  trajectories: int = EVALUATION_TRAJECTORIES,
                  seed: int = EVALUATION_SEED) -> np.ndarray:
    """Per-goal mean return after 0…``steps`` CAVIA steps ``(steps + 1, T)``; each step is
    taken on the previous policy's fresh ``trajectories`` episodes (as chapter 06's
    evaluation does)."""
    batches = context_adaptation_batches(learner, goals, trajectories, alpha, steps, seed)
    return np.stack([b.returns.mean(dim=1).double().numpy() for b in batches])


def maml_returns(model: NavigationPolicy, params: Params, goals: np.ndarray, alpha: float,
                 steps: int, trajectories: int = EVALUATION_TRAJECTORIES,
                 seed: int = EVALUATION_SEED) -> np.ndarray:
    """Per-goal mean return of chapter 06's MAML policy after 0…``steps`` steps
    ``(steps + 1, T)`` (:func:`~mini_lib.tasks.navigation_training.adaptation_batches`)."""
    batches = adaptation_batches(model, params, goals, trajectories, alpha, steps, seed)
    return np.stack([b.returns.mean(dim=1).double().numpy() for b in batches])


def adaptation_seconds(adapt: Callable[[], object], repeats: int = 5) -> float:
    """Median wall time of ``adapt()`` (the adaptation alone, its task data already sampled)."""
    repeats = check_int("repeats", repeats, 1)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        adapt()
        times.append(time.perf_counter() - start)
    return float(np.median(times))
