r"""Classical bandit policies, run on many Bernoulli bandit tasks at once.

A *task* is a row of arm success probabilities, ``probs`` of shape ``(T, k)``; a *trial* is
``n_pulls`` pulls of the same task. Pulling arm ``a`` pays ``float(u < p_a)`` for a uniform
``u`` in [0, 1). :func:`run_policy` plays a policy on all ``T`` tasks in lockstep and returns
each task's total reward.

A policy is an object with three methods (the :class:`BanditPolicy` base class keeps the
counts ``pulls[t, a]`` and ``wins[t, a]`` and the number of pulls made, ``t``):

- ``reset(n_tasks, n_arms)`` before a trial: forget everything;
- ``choose(rng)`` → ``(T,)`` arm indices, one per task;
- ``update(arms, rewards)``: record what the chosen arms paid.

The policies: :class:`RandomPolicy`; :class:`Greedy` (each arm once, then the best empirical
mean); :class:`EpsilonGreedy` (the same, but a uniformly random arm with probability ε);
:class:`UCB1` (each arm once, then the largest ``mean + c·sqrt(2 ln t / n_a)``, Auer et al.
2002 with an exploration constant ``c``); :class:`Thompson` (a Beta(1, 1) prior, the U[0, 1]
task prior: pull the arm whose posterior draw is largest). Greedy, ε-greedy and UCB1 estimate
each arm by one of two :data:`ESTIMATES`:

- ``"empirical"`` (the textbook version): ``wins / pulls``, after one pull of every arm in
  order 0, 1, …, k − 1, since an unpulled arm has no mean; with ``n_pulls ≤ k`` they then play
  like :class:`RandomPolicy`;
- ``"posterior"``: the Beta(1, 1) posterior mean ``(wins + 1) / (pulls + 2)`` — the prior
  of the tasks — from the first pull, no initial round (UCB1's bonus then counts the prior
  as one pull, ``sqrt(2 ln(t + 1) / (pulls + 1))``). Duan et al.'s n = 10 columns (greedy 6.6
  with 10 arms and 10 pulls) are only reachable this way.

Ties (equal means or indices, frequent with 0/1 rewards) are broken uniformly at random among
the tied arms (:func:`random_argmax`): breaking them by the lowest index would favour arm 0.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np

from mini_lib.checks import check_in_range, check_int, check_probability, check_shape
from mini_lib.envs.bernoulli_bandit import check_unit_interval

__all__ = [
    "ESTIMATES",
    "UCB1",
    "BanditPolicy",
    "EpsilonGreedy",
    "Greedy",
    "MeanEstimator",
    "RandomPolicy",
    "Thompson",
    "Tuned",
    "check_estimate",
    "check_probs",
    "pull_rewards",
    "random_argmax",
    "run_policy",
    "tune",
]


ESTIMATES = ("empirical", "posterior")


def check_estimate(estimate: str) -> str:
    """``estimate`` if it is one of :data:`ESTIMATES`, else ``ValueError``."""
    if estimate not in ESTIMATES:
        raise ValueError(f"estimate must be one of {ESTIMATES}, got {estimate!r}")
    return estimate


def random_argmax(values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Per row of ``values`` ``(T, k)``, the index of a maximum, uniform among tied maxima."""
    best = values == values.max(axis=1, keepdims=True)
    return np.argmax(np.where(best, rng.random(values.shape), -1.0), axis=1)


def check_probs(probs: np.ndarray) -> np.ndarray:
    """``probs`` as a float array ``(T, k)`` of probabilities in [0, 1], else ``ValueError``."""
    probs = check_shape("probs", np.asarray(probs, dtype=np.float64), (None, None))
    if probs.shape[0] < 1 or probs.shape[1] < 1:
        raise ValueError(f"probs must hold at least one task and one arm, got {probs.shape}")
    check_unit_interval("probs", probs)  # the env's check: one copy
    return probs


class BanditPolicy:
    """Base class: keeps ``pulls`` and ``wins`` per task and arm and ``t``, the pulls made.

    Subclasses implement :meth:`choose`; those with more state extend :meth:`reset` and
    :meth:`update`.
    """

    def reset(self, n_tasks: int, n_arms: int) -> None:
        """Start a trial on ``n_tasks`` tasks of ``n_arms`` arms: all counts zero."""
        self.n_tasks = check_int("n_tasks", n_tasks, 1)
        self.n_arms = check_int("n_arms", n_arms, 1)
        self.pulls = np.zeros((n_tasks, n_arms), dtype=np.int64)
        self.wins = np.zeros((n_tasks, n_arms), dtype=np.int64)
        self.t = 0

    def choose(self, rng: np.random.Generator) -> np.ndarray:
        """The arm to pull in every task, ``(T,)`` integers in ``[0, k)``."""
        raise NotImplementedError

    def update(self, arms: np.ndarray, rewards: np.ndarray) -> None:
        """Record that task ``i`` pulled ``arms[i]`` and got ``rewards[i]`` (0 or 1)."""
        rows = np.arange(self.n_tasks)
        self.pulls[rows, arms] += 1
        self.wins[rows, arms] += rewards.astype(np.int64)
        self.t += 1

    def initial_round(self) -> np.ndarray | None:
        """Arm ``t`` in every task during the first ``k`` pulls, afterwards ``None``."""
        return np.full(self.n_tasks, self.t) if self.t < self.n_arms else None

    def means(self) -> np.ndarray:
        """Empirical means ``wins / pulls`` (call after the initial round)."""
        return self.wins / self.pulls


class MeanEstimator(BanditPolicy):
    """Base class of the policies that rank arms by an estimated mean (``estimate`` one of
    :data:`ESTIMATES`); subclasses implement :meth:`choose_by` given the estimates."""

    def __init__(self, estimate: str = "empirical") -> None:
        self.estimate = check_estimate(estimate)

    def estimates(self) -> np.ndarray:
        """The arms' estimated means ``(T, k)``."""
        if self.estimate == "posterior":
            return (self.wins + 1.0) / (self.pulls + 2.0)
        return self.means()

    def choose(self, rng: np.random.Generator) -> np.ndarray:
        first = self.initial_round() if self.estimate == "empirical" else None
        return first if first is not None else self.choose_by(self.estimates(), rng)

    def choose_by(self, estimates: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """The arms to pull given the estimates (after any initial round)."""
        raise NotImplementedError


class RandomPolicy(BanditPolicy):
    """A uniformly random arm at every pull: expected total ``n_pulls · mean(p)``."""

    def choose(self, rng: np.random.Generator) -> np.ndarray:
        return rng.integers(self.n_arms, size=self.n_tasks)


class Greedy(MeanEstimator):
    """The best estimated mean (ties: uniformly at random); ``"empirical"`` pulls each arm
    once first."""

    def choose_by(self, estimates: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return random_argmax(estimates, rng)


class EpsilonGreedy(MeanEstimator):
    """:class:`Greedy`, except that (after any initial round) each pull is, with probability
    ``epsilon``, a uniformly random arm (possibly the greedy one)."""

    def __init__(self, epsilon: float = 0.1, estimate: str = "empirical") -> None:
        super().__init__(estimate)
        self.epsilon = check_probability("epsilon", epsilon)

    def choose_by(self, estimates: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        explore = rng.random(self.n_tasks) < self.epsilon
        random_arms = rng.integers(self.n_arms, size=self.n_tasks)
        return np.where(explore, random_arms, random_argmax(estimates, rng))


class UCB1(MeanEstimator):
    """Each arm once, then the largest ``mean_a + c·sqrt(2 ln t / n_a)`` (``t`` pulls made,
    ``n_a`` pulls of arm ``a``); ``c = 1`` is Auer et al.'s UCB1, ``c = 0`` is greedy. With
    ``estimate="posterior"``: the posterior mean plus ``c·sqrt(2 ln(t + 1) / (n_a + 1))``."""

    def __init__(self, c: float = 1.0, estimate: str = "empirical") -> None:
        super().__init__(estimate)
        self.c = check_in_range("c", c, 0.0)

    def choose_by(self, estimates: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        if self.estimate == "posterior":
            bonus = np.sqrt(2.0 * math.log(self.t + 1) / (self.pulls + 1.0))
        else:
            bonus = np.sqrt(2.0 * math.log(self.t) / self.pulls)
        return random_argmax(estimates + self.c * bonus, rng)


class Thompson(BanditPolicy):
    """Thompson sampling with a Beta(1, 1) prior per arm: draw ``p_a ~ Beta(1 + wins,
    1 + losses)`` for every arm and pull the largest draw."""

    def choose(self, rng: np.random.Generator) -> np.ndarray:
        draws = rng.beta(1.0 + self.wins, 1.0 + self.pulls - self.wins)
        return np.argmax(draws, axis=1)  # draws are continuous: no ties


def pull_rewards(policy: BanditPolicy, probs: np.ndarray, n_pulls: int,
                 rng: np.random.Generator) -> np.ndarray:
    """Play ``policy`` for ``n_pulls`` pulls on every task (row) of ``probs`` ``(T, k)``.

    Returns what every pull paid, an integer array ``(T, n_pulls)``. The arm choices and the
    reward draws both come from ``rng``, so a seeded generator makes the run reproducible.
    """
    probs = check_probs(probs)
    n_pulls = check_int("n_pulls", n_pulls, 1)
    n_tasks, n_arms = probs.shape
    rows = np.arange(n_tasks)
    policy.reset(n_tasks, n_arms)
    paid = np.zeros((n_tasks, n_pulls), dtype=np.int64)
    for t in range(n_pulls):
        arms = policy.choose(rng)
        rewards = rng.random(n_tasks) < probs[rows, arms]
        policy.update(arms, rewards)
        paid[:, t] = rewards
    return paid


def run_policy(policy: BanditPolicy, probs: np.ndarray, n_pulls: int,
               rng: np.random.Generator) -> np.ndarray:
    """The total reward of each task, an integer array ``(T,)``: :func:`pull_rewards`
    summed over the trial."""
    return pull_rewards(policy, probs, n_pulls, rng).sum(axis=1)


class Tuned(NamedTuple):
    """What :func:`tune` found: the ``best`` value and the mean total reward of every value."""

    best: float
    values: tuple[float, ...]
    means: tuple[float, ...]


def tune(policy_factory: Callable[[float], BanditPolicy], values: Sequence[float],
         probs: np.ndarray, n_pulls: int, seed: int) -> Tuned:
    """The parameter value whose policy ``policy_factory(value)`` has the best mean total
    reward on the (validation) tasks ``probs``; the first such value on a tie.

    Every value is run with ``numpy.random.default_rng(seed)`` (common random numbers), so the
    comparison is less noisy than independent runs. Tune on other tasks than you report on.
    """
    values = tuple(values)
    if not values:
        raise ValueError("values must hold at least one parameter value, got none")
    seed = check_int("seed", seed, 0)
    means = tuple(float(run_policy(policy_factory(value), probs, n_pulls,
                                   np.random.default_rng(seed)).mean()) for value in values)
    return Tuned(best=values[int(np.argmax(means))], values=values, means=means)
