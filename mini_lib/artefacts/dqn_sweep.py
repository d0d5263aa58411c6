"""The DQN chapter's precomputed experiments: a hyperparameter sweep and the ablations.

Each run trains :data:`~mini_lib.deep_q.dqn.CARTPOLE_FAST` DQN (one setting changed) for
:data:`BUDGET` environment steps and, every :data:`EVAL_EVERY` steps, records

* ``score``: the greedy policy's mean CartPole-v1 return over 5 fixed-seed episodes;
* ``estimated``: the network's own value estimate ``max_a Q(s, a)`` averaged over the states
  those greedy episodes visit, and ``true``: the discounted return actually collected from
  those states (:func:`mini_lib.evaluation.value_vs_return`). ``estimated − true`` is the
  over-estimation that Double DQN is meant to remove.

Regenerate with ``python -m mini_lib.artefacts dqn_sweep`` (and ``dqn_ablations``); the files are
deterministic given the seeds, and a test regenerates one run and compares.
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
from mini_lib.deep_q.dqn import CARTPOLE_FAST, DQNConfig, train_dqn
from mini_lib.evaluation import value_vs_return
from mini_lib.parallel import run_jobs

__all__ = [
    "ABLATIONS",
    "BUDGET",
    "EVAL_EVERY",
    "GRID",
    "SEEDS",
    "DQNSweep",
    "generate_ablations",
    "generate_sweep",
    "load_ablations",
    "load_sweep",
    "run_curve",
    "sweep_config",
]

BUDGET = 16_000
EVAL_EVERY = 2_000
SEEDS = (0, 1, 2)
#: The sweep's axes: learning rate (a factor of 10 either side of the zoo's 2.3e-3), discount,
#: target-copy period in gradient steps (1 ≈ no target network, 32 = once per burst), Double.
GRID: dict[str, tuple] = {
    "learning_rate": (2.3e-4, 2.3e-3, 2.3e-2),
    "gamma": (0.9, 0.99),
    "target_update_every": (1, 32, 256),
    "double_dqn": (False, True),
}
#: Ablations of the base settings: (label, changes to the config).
ABLATIONS: tuple[tuple[str, dict], ...] = (
    ("DQN (replay + target)", {}),
    ("no target network", {"use_target": False}),
    ("no replay (latest 64 steps)", {"use_replay": False}),
    ("neither", {"use_target": False, "use_replay": False}),
)


def sweep_config(**changes) -> DQNConfig:
    """CARTPOLE_FAST for a :data:`BUDGET`-step run, ε decaying over the same 8000 steps.

    ``max_abs_q`` is lifted so that the record shows how far diverging estimates go.
    """
    base = replace(CARTPOLE_FAST, total_steps=BUDGET, max_abs_q=float("inf"),
                   exploration_fraction=CARTPOLE_FAST.exploration_fraction
                   * CARTPOLE_FAST.total_steps / BUDGET)
    return replace(base, **changes)


def run_curve(config: DQNConfig, seed: int, until: int | None = None) -> np.ndarray:
    """Train one run; ``(3, n_evals)`` array of score / estimated / true value over time.

    ``until`` stops early after that many steps (the rest stays NaN), for tests. A run that
    diverges (NaN loss) keeps NaN from there on.
    """
    torch.set_num_threads(1)
    n_evals = config.total_steps // EVAL_EVERY
    curve = np.full((3, n_evals), np.nan)

    def record(q_net, step: int) -> bool:
        if step % EVAL_EVERY == 0:
            check = value_vs_return(q_net, config.gamma)
            curve[:, step // EVAL_EVERY - 1] = (check.score, check.estimated_value,
                                                check.true_value)
        return until is not None and step >= until

    try:
        train_dqn(gym.make("CartPole-v1"), config, seed=seed, stop_when=record)
    except DivergenceError:
        pass
    return curve


def _run(job: tuple[dict, int]) -> np.ndarray:
    changes, seed = job
    return run_curve(sweep_config(**changes), seed)


def generate_sweep(workers: int = 2) -> tuple[dict[str, np.ndarray], str]:
    """Run every grid cell for every seed (108 runs; about 20 min on 2 quiet cores)."""
    names = list(GRID)
    cells = list(itertools.product(*GRID.values()))
    jobs = [(dict(zip(names, cell, strict=True)), seed) for cell in cells for seed in SEEDS]
    curves = np.array(run_jobs(_run, jobs, workers, "DQN sweep"))
    shape = (*(len(v) for v in GRID.values()), len(SEEDS), 3, BUDGET // EVAL_EVERY)
    arrays = {f"axis_{name}": np.array(values, dtype=float) for name, values in GRID.items()}
    arrays |= {"curves": curves.reshape(shape), "seeds": np.array(SEEDS),
               "steps": EVAL_EVERY * np.arange(1, BUDGET // EVAL_EVERY + 1)}
    description = (f"DQN (CARTPOLE_FAST, {BUDGET} steps) on CartPole-v1 over "
                   f"{', '.join(names)} x seeds {SEEDS}; curves[..., seed, "
                   f"(score, estimated value, true value), evaluation]")
    return arrays, description


def generate_ablations(workers: int = 2) -> tuple[dict[str, np.ndarray], str]:
    """The base settings without target network and/or replay, every seed (12 runs)."""
    jobs = [(changes, seed) for _, changes in ABLATIONS for seed in SEEDS]
    curves = np.array(run_jobs(_run, jobs, workers, "DQN ablations"))
    arrays = {"labels": np.array([label for label, _ in ABLATIONS]),
              "curves": curves.reshape(len(ABLATIONS), len(SEEDS), 3, -1),
              "seeds": np.array(SEEDS),
              "steps": EVAL_EVERY * np.arange(1, BUDGET // EVAL_EVERY + 1)}
    return arrays, (f"DQN ablations (CARTPOLE_FAST, {BUDGET} steps): "
                    f"{[label for label, _ in ABLATIONS]} x seeds {SEEDS}")


@dataclass(frozen=True)
class DQNSweep(StoredSweep):
    """The stored sweep: ``curves[lr, γ, C, double, seed, quantity, evaluation]``."""

    curves: np.ndarray
    steps: np.ndarray
    seeds: np.ndarray

    def index(self, **values) -> tuple[int, ...]:
        """Grid indices of a cell; ValueError naming the axis if a value is not on the grid."""
        return tuple(self.position(name, values[name]) for name in self.axes)

    def cell(self, **values) -> np.ndarray:
        """``(seed, quantity, evaluation)`` curves of one grid cell."""
        return self.curves[self.index(**values)]


def load_sweep() -> DQNSweep:
    """The checksum-verified sweep from ``data/dqn_sweep.npz``."""
    arrays = load_arrays("dqn_sweep")
    axes = {name: arrays[f"axis_{name}"] for name in GRID}
    return DQNSweep(axes, arrays["curves"], arrays["steps"], arrays["seeds"])


def load_ablations() -> dict[str, np.ndarray]:
    """The checksum-verified ablation runs from ``data/dqn_ablations.npz``."""
    return load_arrays("dqn_ablations")
