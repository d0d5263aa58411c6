"""Chapter 03's precomputed sweep: REINFORCE and actor-critic over learning rate × γ.

The sweep trains two families on CartPole-v1 for :data:`BUDGET` environment steps each,
over learning rate × γ × seeds :data:`SEEDS`:

* REINFORCE (:data:`~mini_lib.policy_gradient.config.CARTPOLE_REINFORCE`) with the
  baseline off or on;
* actor-critic (:data:`~mini_lib.policy_gradient.config.CARTPOLE_ACTOR_CRITIC`) with GAE(λ)
  for λ in ``GRID["gae_lambda"]``.

Every :data:`EVAL_EVERY` steps it records the greedy policy's mean return over 5 fixed-seed
episodes (``score``) and the mean return of the training episodes that ended since the last
record (``train``, NaN if none ended). Regenerate with ``python -m mini_lib.artefacts pg_sweep``;
the file is deterministic given the seeds, and a test re-trains one run and compares.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, replace

import gymnasium as gym
import numpy as np
import torch

from mini_lib.artefacts.store import load_arrays
from mini_lib.artefacts.sweep import StoredSweep
from mini_lib.checks import DivergenceError
from mini_lib.evaluation import run_episodes
from mini_lib.parallel import run_jobs
from mini_lib.policy_gradient.config import (
    CARTPOLE_ACTOR_CRITIC,
    CARTPOLE_REINFORCE,
    PolicyGradientConfig,
)
from mini_lib.policy_gradient.networks import CategoricalPolicy, policy_actor
from mini_lib.policy_gradient.training import train_actor_critic, train_reinforce

__all__ = [
    "BUDGET",
    "EVAL_EVERY",
    "GRID",
    "QUANTITIES",
    "SEEDS",
    "PGSweep",
    "generate_sweep",
    "load_sweep",
    "run_curve",
    "sweep_config",
]

BUDGET = 15_000
EVAL_EVERY = 1_500
SEEDS = (0, 1, 2)
EVAL_EPISODES = 5
EVAL_SEED = 20_000
QUANTITIES = ("score", "train")
#: The sweep's axes; ``baseline`` applies to REINFORCE, ``gae_lambda`` to actor-critic.
GRID: dict[str, tuple] = {
    "learning_rate": (3e-4, 3e-3, 3e-2),
    "gamma": (0.9, 0.99, 1.0),
    "baseline": (False, True),
    "gae_lambda": (0.0, 0.95, 1.0),
}


def sweep_config(method: str, learning_rate: float, gamma: float, baseline: bool = True,
                 gae_lambda: float = 0.95) -> PolicyGradientConfig:
    """The config of one sweep run: ``method`` is ``"reinforce"`` or ``"actor_critic"``."""
    if method == "reinforce":
        base = replace(CARTPOLE_REINFORCE, use_baseline=bool(baseline))
    elif method == "actor_critic":
        base = replace(CARTPOLE_ACTOR_CRITIC, gae_lambda=float(gae_lambda))
    else:
        raise ValueError(f"method must be 'reinforce' or 'actor_critic', got {method!r}")
    return replace(base, total_steps=BUDGET, learning_rate=float(learning_rate),
                   value_learning_rate=float(learning_rate), gamma=float(gamma))


def _train(method: str) -> Callable:
    return train_reinforce if method == "reinforce" else train_actor_critic


def run_curve(method: str, config: PolicyGradientConfig, seed: int,
              until: int | None = None) -> np.ndarray:
    """Train one run; ``(2, n_evals)`` array of greedy score / training return over time.

    ``until`` stops early after that many steps (later evaluations stay NaN), for tests. A
    run that diverges keeps NaN from there on.
    """
    torch.set_num_threads(1)
    n_evals = config.total_steps // EVAL_EVERY
    curve = np.full((len(QUANTITIES), n_evals), np.nan)
    envs = [gym.make("CartPole-v1") for _ in range(EVAL_EPISODES)]
    done = [0]  # evaluations recorded so far

    def record(policy: CategoricalPolicy, step: int) -> bool:
        # REINFORCE steps by whole batches of episodes: fill every evaluation point passed.
        if done[0] < n_evals and step >= (done[0] + 1) * EVAL_EVERY:
            score = run_episodes(policy_actor(policy), envs, EVAL_SEED).returns().mean()
            while done[0] < n_evals and step >= (done[0] + 1) * EVAL_EVERY:
                curve[0, done[0]] = score
                done[0] += 1
        return until is not None and step >= until

    result = None
    try:
        result = _train(method)(gym.make("CartPole-v1"), config, seed=seed, stop_when=record)
    except DivergenceError:
        pass
    if result is not None:
        ends = np.array(result.episode_end_steps)
        returns = np.array(result.episode_returns)
        for k in range(done[0]):
            window = (ends > k * EVAL_EVERY) & (ends <= (k + 1) * EVAL_EVERY)
            if window.any():
                curve[1, k] = returns[window].mean()
    return curve


def _jobs() -> list[tuple[str, dict, int]]:
    lrs, gammas = GRID["learning_rate"], GRID["gamma"]
    jobs = []
    for lr, gamma in itertools.product(lrs, gammas):
        for baseline in GRID["baseline"]:
            cell = dict(learning_rate=lr, gamma=gamma, baseline=baseline)
            jobs += [("reinforce", cell, seed) for seed in SEEDS]
        for lam in GRID["gae_lambda"]:
            cell = dict(learning_rate=lr, gamma=gamma, gae_lambda=lam)
            jobs += [("actor_critic", cell, seed) for seed in SEEDS]
    return jobs


def _run(job: tuple[str, dict, int]) -> np.ndarray:
    method, cell, seed = job
    return run_curve(method, sweep_config(method, **cell), seed)


def generate_sweep(workers: int = 2) -> tuple[dict[str, np.ndarray], str]:
    """Every grid cell for every seed (135 runs; 7 min with 2 workers on 2 cores)."""
    jobs = _jobs()
    curves = run_jobs(_run, jobs, workers, "PG sweep")
    n_lr, n_gamma = len(GRID["learning_rate"]), len(GRID["gamma"])
    n_b, n_lam, n_seeds = len(GRID["baseline"]), len(GRID["gae_lambda"]), len(SEEDS)
    per_cell = (n_b + n_lam) * n_seeds
    stacked = np.array(curves).reshape(n_lr, n_gamma, per_cell, len(QUANTITIES), -1)
    reinforce = stacked[:, :, : n_b * n_seeds].reshape(n_lr, n_gamma, n_b, n_seeds,
                                                       len(QUANTITIES), -1)
    actor_critic = stacked[:, :, n_b * n_seeds:].reshape(n_lr, n_gamma, n_lam, n_seeds,
                                                         len(QUANTITIES), -1)
    arrays = {f"axis_{name}": np.array(values, dtype=float) for name, values in GRID.items()}
    arrays |= {"reinforce": reinforce, "actor_critic": actor_critic, "seeds": np.array(SEEDS),
               "steps": EVAL_EVERY * np.arange(1, BUDGET // EVAL_EVERY + 1)}
    description = (f"REINFORCE (baseline off/on) and actor-critic GAE(λ) on CartPole-v1, "
                   f"{BUDGET} steps, over learning_rate x gamma x seeds {SEEDS}; "
                   f"reinforce[lr, gamma, baseline, seed, (score, train), evaluation], "
                   f"actor_critic[lr, gamma, lambda, seed, (score, train), evaluation]")
    return arrays, description


@dataclass(frozen=True)
class PGSweep(StoredSweep):
    """The stored sweep (see :func:`generate_sweep` for the array layout)."""

    reinforce: np.ndarray
    actor_critic: np.ndarray
    steps: np.ndarray
    seeds: np.ndarray

    def reinforce_cell(self, learning_rate: float, gamma: float, baseline: bool) -> np.ndarray:
        """``(seed, quantity, evaluation)`` of one REINFORCE cell."""
        return self.reinforce[self.position("learning_rate", learning_rate),
                              self.position("gamma", gamma),
                              self.position("baseline", baseline)]

    def actor_critic_cell(self, learning_rate: float, gamma: float,
                          gae_lambda: float) -> np.ndarray:
        """``(seed, quantity, evaluation)`` of one actor-critic cell."""
        return self.actor_critic[self.position("learning_rate", learning_rate),
                                 self.position("gamma", gamma),
                                 self.position("gae_lambda", gae_lambda)]


def load_sweep() -> PGSweep:
    """The checksum-verified sweep from ``data/pg_sweep.npz``."""
    arrays = load_arrays("pg_sweep")
    axes = {name: arrays[f"axis_{name}"] for name in GRID}
    return PGSweep(axes, arrays["reinforce"], arrays["actor_critic"], arrays["steps"],
                   arrays["seeds"])
