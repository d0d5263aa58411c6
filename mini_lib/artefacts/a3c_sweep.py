"""Chapter 04's precomputed sweep: A2C's knobs, simulated staleness, the source's estimator.

Every run trains on CartPole-v1 for :data:`BUDGET` environment steps from
:data:`~mini_lib.policy_gradient.config.CARTPOLE_A2C` with one or two fields changed, and
every :data:`EVAL_EVERY` steps records the greedy policy's mean return over 5 fixed-seed
episodes (``score``) and the mean return of the training episodes that ended since the last
record (``train``, NaN if none ended). Four panels, each a small grid × :data:`SEEDS`:

* ``rollout_lr[t_max, learning_rate, seed, quantity, evaluation]``: A2C (4 envs);
* ``gamma_entropy[gamma, entropy_coef, seed, ...]``: A2C (4 envs);
* ``staleness[workers, staleness, seed, ...]``: :func:`~mini_lib.policy_gradient.staleness.
  simulate_async` (one update per worker rollout);
* ``estimators[estimator, seed, ...]``: A2C with A3C's advantage and with the source
  article's (:mod:`~mini_lib.policy_gradient.source_advantage`).

A full grid over all six knobs would take hours; two knobs at a time show the interactions
that matter (a longer rollout is a bigger batch and tolerates a larger step). Regenerate with
``python -m mini_lib.artefacts a3c_sweep``; the file is deterministic given the seeds, and a
test re-trains one run and compares.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace

import gymnasium as gym
import numpy as np
import torch

from mini_lib.artefacts.store import load_arrays
from mini_lib.artefacts.sweep import StoredSweep
from mini_lib.checks import DivergenceError
from mini_lib.evaluation import run_episodes
from mini_lib.parallel import run_jobs
from mini_lib.policy_gradient.a2c import train_a2c
from mini_lib.policy_gradient.config import CARTPOLE_A2C, CARTPOLE_A2C_ENVS
from mini_lib.policy_gradient.losses import actor_critic_loss
from mini_lib.policy_gradient.networks import CategoricalPolicy, policy_actor
from mini_lib.policy_gradient.source_advantage import source_advantage_loss
from mini_lib.policy_gradient.staleness import simulate_async

__all__ = ["BUDGET", "ESTIMATORS", "EVAL_EVERY", "GRID", "PANELS", "QUANTITIES", "SEEDS",
           "A3CSweep", "generate_sweep", "load_sweep", "run_curve"]

BUDGET = 50_000
EVAL_EVERY = 2_500
SEEDS = (0, 1, 2)
EVAL_EPISODES = 5
EVAL_SEED = 20_000
QUANTITIES = ("score", "train")
ESTIMATORS = {"A3C: n-step return − V(s)": actor_critic_loss,
              "source: r + γV(s') − r": source_advantage_loss}
GRID: dict[str, tuple] = {
    "t_max": (4, 8, 32, 128),
    "learning_rate": (1e-3, 3e-3, 1e-2),
    "gamma": (0.9, 0.99, 1.0),
    "entropy_coef": (0.0, 0.01, 0.1),
    "workers": (1, 4),
    "staleness": (0, 1, 3, 15),
}
#: panel name -> its two axes (the other knobs stay at CARTPOLE_A2C's values)
PANELS = {"rollout_lr": ("t_max", "learning_rate"), "gamma_entropy": ("gamma", "entropy_coef"),
          "staleness": ("workers", "staleness")}


def run_curve(panel: str, cell: dict, seed: int, until: int | None = None) -> np.ndarray:
    """Train one run of ``panel`` (``cell`` its knob values); ``(2, n_evals)`` score / train.

    ``until`` stops after that many steps (later evaluations stay NaN), for tests. A run that
    diverges keeps NaN from there on.
    """
    torch.set_num_threads(1)
    config = replace(CARTPOLE_A2C, total_steps=BUDGET)
    if "t_max" in cell:
        config = replace(config, n_steps=int(cell["t_max"]),
                         learning_rate=float(cell["learning_rate"]),
                         value_learning_rate=float(cell["learning_rate"]))
    if "gamma" in cell:
        config = replace(config, gamma=float(cell["gamma"]),
                         entropy_coef=float(cell["entropy_coef"]))
    n_evals = BUDGET // EVAL_EVERY
    curve = np.full((len(QUANTITIES), n_evals), np.nan)
    envs = [gym.make("CartPole-v1") for _ in range(EVAL_EPISODES)]
    done = [0]

    def record(policy: CategoricalPolicy, step: int) -> bool:
        if done[0] < n_evals and step >= (done[0] + 1) * EVAL_EVERY:
            score = run_episodes(policy_actor(policy), envs, EVAL_SEED).returns().mean()
            while done[0] < n_evals and step >= (done[0] + 1) * EVAL_EVERY:
                curve[0, done[0]] = score
                done[0] += 1
        return until is not None and step >= until

    result = None
    try:
        if panel == "staleness":
            result = simulate_async(config, int(cell["workers"]), int(cell["staleness"]), seed,
                                    stop_when=record)
        else:
            loss_fn = ESTIMATORS[cell["estimator"]] if panel == "estimators" else (
                actor_critic_loss)
            result = train_a2c(config, CARTPOLE_A2C_ENVS, seed, stop_when=record,
                               loss_fn=loss_fn)
    except DivergenceError:
        pass
    if result is not None:
        ends, returns = np.array(result.episode_end_steps), np.array(result.episode_returns)
        for k in range(done[0]):
            window = (ends > k * EVAL_EVERY) & (ends <= (k + 1) * EVAL_EVERY)
            if window.any():
                curve[1, k] = returns[window].mean()
    return curve


def _jobs() -> list[tuple[str, dict, int]]:
    jobs = []
    for panel in ("staleness", "rollout_lr", "gamma_entropy"):  # slowest first
        first, second = PANELS[panel]
        for a, b in itertools.product(GRID[first], GRID[second]):
            jobs += [(panel, {first: a, second: b}, seed) for seed in SEEDS]
    for name in ESTIMATORS:
        jobs += [("estimators", {"estimator": name}, seed) for seed in range(5)]
    return jobs


def _run(job: tuple[str, dict, int]) -> np.ndarray:
    return run_curve(*job)


def generate_sweep(workers: int = 2) -> tuple[dict[str, np.ndarray], str]:
    """Every panel cell for every seed (91 runs; about 20 min with 2 workers on 2 cores)."""
    jobs = _jobs()
    curves = run_jobs(_run, jobs, workers, "A3C sweep")
    arrays: dict[str, np.ndarray] = {}
    for panel, (first, second) in PANELS.items():
        picked = [c for (p, _, _), c in zip(jobs, curves, strict=True) if p == panel]
        arrays[panel] = np.array(picked).reshape(len(GRID[first]), len(GRID[second]),
                                                 len(SEEDS), len(QUANTITIES), -1)
    picked = [c for (p, _, _), c in zip(jobs, curves, strict=True) if p == "estimators"]
    arrays["estimators"] = np.array(picked).reshape(len(ESTIMATORS), 5, len(QUANTITIES), -1)
    arrays |= {f"axis_{name}": np.array(values, dtype=float) for name, values in GRID.items()}
    arrays |= {"estimator_names": np.array(list(ESTIMATORS)), "seeds": np.array(SEEDS),
               "steps": EVAL_EVERY * np.arange(1, BUDGET // EVAL_EVERY + 1)}
    description = (f"Chapter 04: CARTPOLE_A2C on CartPole-v1, {BUDGET} steps, seeds {SEEDS}: "
                   f"rollout_lr[t_max, lr, seed, (score, train), evaluation] and "
                   f"gamma_entropy[gamma, entropy, ...] (A2C, {CARTPOLE_A2C_ENVS} envs), "
                   f"staleness[workers, tau, ...] (simulated A3C), estimators[estimator, "
                   f"seed 0-4, ...] (A2C)")
    return arrays, description


@dataclass(frozen=True)
class A3CSweep(StoredSweep):
    """The stored sweep (see :func:`generate_sweep` for the array layout)."""

    panels: dict[str, np.ndarray]
    estimators: np.ndarray
    estimator_names: tuple[str, ...]
    steps: np.ndarray

    def cell(self, panel: str, first: float, second: float) -> np.ndarray:
        """``(seed, quantity, evaluation)`` of one cell of ``panel``, by its two knob values."""
        if panel not in PANELS:
            raise ValueError(f"panel must be one of {list(PANELS)}, got {panel!r}")
        a, b = PANELS[panel]
        return self.panels[panel][self.position(a, first), self.position(b, second)]


def load_sweep() -> A3CSweep:
    """The checksum-verified sweep from ``data/a3c_sweep.npz``."""
    arrays = load_arrays("a3c_sweep")
    axes = {name: arrays[f"axis_{name}"] for name in GRID}
    return A3CSweep(axes, {panel: arrays[panel] for panel in PANELS}, arrays["estimators"],
                    tuple(str(n) for n in arrays["estimator_names"]), arrays["steps"])
