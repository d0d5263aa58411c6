"""Chapter 06's MAML-RL on chapter 08's actuator tasks: the model-free row of the comparison.

The model-based agent of chapter 08 part 2 adapts a dynamics model to a task whose actions
are turned and scaled (:mod:`mini_lib.tasks.navigation_dynamics`). The model-free answer to
the same tasks is chapter 06's MAML-RL: a policy meta-trained so that one policy-gradient
step on 20 episodes of a new actuator adapts it. Pretraining (one policy for all actuators)
and pretraining then one fine-tuning step are its baselines. Stored in
``data/actuator_nav.pt``::

    python -m mini_lib.artefacts actuator_nav      # about 8 min with 2 workers on 2 cores

Each run is :func:`mini_lib.tasks.navigation_training.train_navigation` with
``tasks="actuators"`` and the config in :data:`RUNS` (seed :data:`SEED`), so a short prefix
re-trains exactly. Stored keys: ``"<run>.<param>"``, ``"<run>.pre_returns"`` /
``"<run>.post_returns"`` per iteration, ``"<run>.seconds"``; ``"eval.<run>"`` the mean return
per held-out task ``(steps + 1, N)`` over :data:`TEST_TRAJECTORIES` episodes before and after
each step, and ``"eval.<run>.alpha"`` its step size (the pretrained policy's chosen on
validation actuators from :data:`ALPHA_GRID`, never on the test tasks).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch

from mini_lib.artefacts.store import load_tensors
from mini_lib.meta.functional import Params
from mini_lib.parallel import run_jobs
from mini_lib.tasks.navigation import NavigationPolicy
from mini_lib.tasks.navigation_dynamics import GOAL, Dynamics, held_out_dynamics, sample_dynamics
from mini_lib.tasks.navigation_training import (
    NavigationConfig,
    adaptation_batches,
    train_navigation,
)

__all__ = ["ALPHA_GRID", "HIDDEN", "NAME", "RUNS", "SEED", "TEST_STEPS", "TEST_TRAJECTORIES",
           "evaluate", "generate", "load", "policy", "task_returns", "train_run",
           "validation_dynamics"]

NAME = "actuator_nav"
SEED = 0
HIDDEN = (100, 100)  # chapter 06's (Finn et al.'s) policy
TEST_TRAJECTORIES, TEST_STEPS = 20, 1  # the same 20 episodes a step as meta-training
VALIDATION_SEED = 7
ALPHA_GRID = (0.1, 0.2, 0.5, 1.0)

RUNS: dict[str, NavigationConfig] = {
    "maml": NavigationConfig(method="maml", iterations=300, outer_lr=1e-3, hidden=HIDDEN,
                             tasks="actuators"),
    "pretrain": NavigationConfig(method="pretrain", iterations=300, outer_lr=3e-3,
                                 hidden=HIDDEN, tasks="actuators"),
}


def validation_dynamics(n: int = 40) -> Dynamics:
    """Actuators for choosing the pretrained policy's step size (not the test tasks)."""
    return sample_dynamics(n, np.random.default_rng(VALIDATION_SEED))


def train_run(method: str, iterations: int | None = None) -> dict[str, torch.Tensor]:
    """Train ``RUNS[method]`` (optionally only its first ``iterations``): the stored tensors."""
    torch.set_num_threads(1)
    config = RUNS[method] if iterations is None else replace(RUNS[method], iterations=iterations)
    result = train_navigation(config, seed=SEED)
    out = {f"{method}.{name}": p.clone() for name, p in result.params.items()}
    out[f"{method}.pre_returns"] = torch.tensor(result.pre_returns, dtype=torch.float32)
    out[f"{method}.post_returns"] = torch.tensor(result.post_returns, dtype=torch.float32)
    out[f"{method}.seconds"] = torch.tensor(result.seconds)
    return out


def policy(stored: dict[str, torch.Tensor], run: str) -> tuple[NavigationPolicy, Params]:
    """``(model, params)`` of a stored run, ``maml`` or ``pretrain``."""
    prefix = f"{run}."
    params = {key[len(prefix):]: value for key, value in stored.items()
              if key.startswith(f"{run}.mean.") or key == f"{run}.log_std"}
    if not params:
        raise KeyError(f"no policy {run!r} stored; stored: {sorted(RUNS)}")
    return NavigationPolicy(HIDDEN), params


def task_returns(model: NavigationPolicy, params: Params, dynamics: Dynamics, alpha: float,
                 steps: int = TEST_STEPS, seed: int = 0) -> torch.Tensor:
    """Mean return per task ``(steps + 1, N)`` before and after each policy-gradient step of
    size ``alpha`` on :data:`TEST_TRAJECTORIES` fresh episodes, on ``dynamics``' tasks."""
    goals = np.tile(np.asarray(GOAL, dtype=np.float32), (len(dynamics.angle), 1))
    batches = adaptation_batches(model, params, goals, TEST_TRAJECTORIES, alpha, steps, seed,
                                 actuators=dynamics)
    return torch.stack([batch.returns.mean(dim=1) for batch in batches])


def evaluate(stored: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """``eval.<run>`` and ``eval.<run>.alpha`` on :func:`held_out_dynamics` (see the module)."""
    torch.set_num_threads(1)
    out = {}
    for run, config in RUNS.items():
        model, params = policy(stored, run)
        if config.method == "maml":
            alpha = config.alpha
        else:
            scores = [float(task_returns(model, params, validation_dynamics(), a)[-1].mean())
                      for a in ALPHA_GRID]
            alpha = ALPHA_GRID[int(np.argmax(scores))]
        out[f"eval.{run}"] = task_returns(model, params, held_out_dynamics(), alpha)
        out[f"eval.{run}.alpha"] = torch.tensor(alpha)
    return out


def generate(workers: int = 2) -> tuple[dict[str, torch.Tensor], str]:
    """Train every run in :data:`RUNS` (``workers`` processes) and evaluate them."""
    stored: dict[str, torch.Tensor] = {}
    for part in run_jobs(train_run, list(RUNS), workers, "meta-training"):
        stored.update(part)
    stored.update(evaluate(stored))
    settings = "; ".join(f"{m}: {c.iterations} it, Adam {c.outer_lr}" for m, c in RUNS.items())
    return stored, (f"MAML-RL and pretraining on actuator tasks (seed {SEED}; {settings}); "
                    f"keys <run>.<param>, <run>.pre_returns, <run>.post_returns, "
                    f"<run>.seconds, eval.<run> (steps + 1, 40 held-out tasks), "
                    f"eval.<run>.alpha")


def load() -> dict[str, torch.Tensor]:
    """The stored runs (checksum verified); regenerate with the command above."""
    return load_tensors(NAME)
