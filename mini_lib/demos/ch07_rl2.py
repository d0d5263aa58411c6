"""Chapter 07's live run, its Table 1 and the pure functions behind its belief plots.

:data:`LIVE_RUN` is the notebook's RL² run (10 pulls, 5 arms; about 35 s on one core).
:func:`evaluation_tasks` draws the fresh evaluation bandits (task seeds ≥ 10⁹, never used in
training). :func:`baseline_table` plays the classical strategies of Duan et al.'s Table 1 on
them — UCB1's ``c`` and ε-greedy's ε tuned on *validation* bandits first, as the paper tuned
its baselines — and :data:`PAPER_TABLE_1` holds the published rows. :func:`belief_trace`
decodes an agent's belief along one trial with a probe fitted by :func:`probe_agent`, next
to the true posterior.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

from mini_lib.bandits.baselines import (
    UCB1,
    BanditPolicy,
    EpsilonGreedy,
    Greedy,
    RandomPolicy,
    Thompson,
    run_policy,
    tune,
)
from mini_lib.bandits.gittins import GittinsPolicy
from mini_lib.checks import check_int
from mini_lib.envs.bernoulli_bandit import sample_tasks
from mini_lib.rl2.belief import LinearProbe, fit_probe, posterior_means, r_squared
from mini_lib.rl2.policy import RecurrentActorCritic
from mini_lib.rl2.training import RL2Config
from mini_lib.rl2.trials import play_trials

__all__ = [
    "BASELINES",
    "C_GRID",
    "EPSILON_GRID",
    "LIVE_RUN",
    "PAPER_TABLE_1",
    "TEST_SEED",
    "BeliefTrace",
    "ProbeFit",
    "baseline_table",
    "belief_trace",
    "evaluation_tasks",
    "probe_agent",
    "tuned_baselines",
    "validation_tasks",
]

#: The live run: the trainer's defaults (Wang et al.'s bandit settings, Adam 3e-3, 64 trials
#: an update) with a GRU of 32 instead of 64, 2500 updates of 10-pull trials on 5 arms. (With
#: 64 units an update costs about 1.4x as much; after 2000 updates seeds 0-4 scored
#: 6.36-6.56 on the two CPU paths, too close to the notebook's bar of 6.3.)
LIVE_RUN = RL2Config(n_arms=5, n_pulls=10, updates=2500, hidden=32)
TEST_SEED, VALIDATION_SEED = 10**9, 2 * 10**9  # training tasks use seeds below 10⁹
#: Duan et al. (2016), Table 1: mean total reward over 1000 tasks, (n pulls, k arms) -> column
PAPER_TABLE_1: dict[tuple[int, int], dict[str, float]] = {
    (10, 5): {"Random": 5.0, "Gittins": 6.6, "Thompson": 5.7, "UCB1": 6.7, "ε-greedy": 6.6,
              "Greedy": 6.6, "RL²": 6.7},
    (10, 10): {"Random": 5.0, "Gittins": 6.6, "Thompson": 5.5, "UCB1": 6.7, "ε-greedy": 6.6,
               "Greedy": 6.6, "RL²": 6.7},
    (100, 5): {"Random": 49.9, "Gittins": 78.3, "Thompson": 74.7, "UCB1": 78.0,
               "ε-greedy": 75.4, "Greedy": 74.8, "RL²": 78.7},
}
BASELINES = ("Random", "Gittins", "Thompson", "UCB1", "ε-greedy", "Greedy")
C_GRID = (0.0, 0.05, 0.1, 0.2, 0.5, 1.0)  # UCB1's exploration constant
EPSILON_GRID = (0.0, 0.01, 0.02, 0.05, 0.1)


def evaluation_tasks(n_tasks: int, n_arms: int) -> np.ndarray:
    """Fresh bandits for evaluation: ``sample_tasks(n_tasks, TEST_SEED, n_arms)``."""
    return sample_tasks(n_tasks, seed=TEST_SEED, k=n_arms)


def validation_tasks(n_tasks: int, n_arms: int) -> np.ndarray:
    """Bandits for tuning the baselines (neither training nor test bandits)."""
    return sample_tasks(n_tasks, seed=VALIDATION_SEED, k=n_arms)


def tuned_baselines(n_pulls: int, n_arms: int, n_validation: int = 2000,
                    seed: int = 0) -> dict[str, BanditPolicy]:
    """The Table 1 strategies for ``n_pulls`` × ``n_arms``, on the posterior-mean estimate
    (Beta(1, 1), no initial round; see :mod:`mini_lib.bandits.baselines`); UCB1's ``c`` and
    ε chosen from :data:`C_GRID` / :data:`EPSILON_GRID` on validation bandits."""
    validation = validation_tasks(n_validation, n_arms)
    c = tune(lambda c: UCB1(c, estimate="posterior"), C_GRID, validation, n_pulls, seed).best
    epsilon = tune(lambda e: EpsilonGreedy(e, estimate="posterior"), EPSILON_GRID, validation,
                   n_pulls, seed).best
    return {"Random": RandomPolicy(), "Gittins": GittinsPolicy(n_pulls), "Thompson": Thompson(),
            "UCB1": UCB1(c, estimate="posterior"),
            "ε-greedy": EpsilonGreedy(epsilon, estimate="posterior"),
            "Greedy": Greedy(estimate="posterior")}


def baseline_table(n_pulls: int, n_arms: int, n_tasks: int = 10_000, seed: int = 0,
                   policies: dict[str, BanditPolicy] | None = None) -> dict[str, np.ndarray]:
    """Total reward on each of ``n_tasks`` test bandits, per strategy of ``policies``
    (default: :func:`tuned_baselines`), each run with ``numpy.random.default_rng(seed)``
    (common random numbers)."""
    tasks = evaluation_tasks(n_tasks, n_arms)
    if policies is None:
        policies = tuned_baselines(n_pulls, n_arms, seed=seed)
    return {name: run_policy(policy, tasks, n_pulls, np.random.default_rng(seed))
            for name, policy in policies.items()}


class ProbeFit(NamedTuple):
    """A belief probe and its R² on the trials it was fitted on and on held-out trials."""

    probe: LinearProbe
    r2_fit: float
    r2_held_out: float


def probe_agent(model: RecurrentActorCritic, n_pulls: int, n_trials: int = 2000,
                seed: int = 0) -> ProbeFit:
    """Fit a linear probe from ``model``'s hidden state to the Beta(1, 1) posterior mean of
    every arm on ``n_trials`` trials of fresh bandits, and score it on as many others (the
    agent's own sampled play, every pull of every trial)."""
    n_trials = check_int("n_trials", n_trials, 2)
    generator = torch.Generator().manual_seed(check_int("seed", seed, 0))
    fit, held_out = (play_trials(model, sample_tasks(n_trials, seed=TEST_SEED + 1 + i,
                                                     k=model.n_arms), n_pulls, generator)
                     for i in range(2))
    targets = [posterior_means(t.actions, t.rewards, model.n_arms) for t in (fit, held_out)]
    probe = fit_probe(fit.states, targets[0])
    return ProbeFit(probe, r_squared(probe.predict(fit.states), targets[0]),
                    r_squared(probe.predict(held_out.states), targets[1]))


class BeliefTrace(NamedTuple):
    """One trial, pull by pull: what the agent did and believed, and the true posterior."""

    probs: np.ndarray  # (k,) the bandit
    arms: np.ndarray  # (n,) arm pulled at each pull
    rewards: np.ndarray  # (n,)
    decoded: np.ndarray  # (n, k) the probe's reading of the hidden state before each pull
    posterior: np.ndarray  # (n, k) the Beta(1, 1) posterior mean before each pull
    policy: np.ndarray  # (n, k) the agent's arm probabilities at each pull


def belief_trace(model: RecurrentActorCritic, probe: LinearProbe, probs: np.ndarray,
                 n_pulls: int, seed: int = 0) -> BeliefTrace:
    """Play one trial of ``model`` on the bandit ``probs`` ``(k,)`` (seeded) and read its
    memory with ``probe`` before every pull."""
    n_pulls = check_int("n_pulls", n_pulls, 1)
    generator = torch.Generator().manual_seed(check_int("seed", seed, 0))
    trial = play_trials(model, np.asarray(probs, dtype=np.float64)[None], n_pulls, generator)
    with torch.no_grad():
        policy = torch.softmax(model(trial.inputs).logits, -1)[:, 0]
    k = model.n_arms
    return BeliefTrace(trial.probs[0].numpy(), trial.actions[:, 0].numpy(),
                       trial.rewards[:, 0].numpy(), probe.predict(trial.states)[:, 0].numpy(),
                       posterior_means(trial.actions, trial.rewards, k)[:, 0].numpy(),
                       policy.numpy())
