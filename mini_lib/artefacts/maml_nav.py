"""Chapter 06's meta-trained navigation policies and their Fig. 5 evaluation.

Meta-training MAML-RL takes minutes, and evaluating every row of Finn et al.'s Fig. 5 on 40
goals another minute, so both are done once and stored in ``data/maml_nav.pt``::

    python -m mini_lib.artefacts maml_nav      # 7 min with the default 2 workers on 2 cores

Every run is :func:`mini_lib.tasks.navigation_training.train_navigation` with the config in
:data:`RUNS` and seed :data:`SEED`, so its first ``n`` iterations are exactly a run with
``iterations=n``: the test re-trains a short prefix and compares its curves. Stored keys (all
tensors; :func:`load_policies` loads them, :func:`policy` rebuilds one):

- ``"<run>.<param>"``: the parameters of ``maml``, ``fomaml``, ``pretrain``, ``oracle`` and
  ``random`` (the seeded initialisation, never trained);
- ``"<run>.pre_returns"`` / ``"<run>.post_returns"``: the mean return of every iteration's
  support (before adapting) and query (after one step) episodes; ``"<run>.seconds"``;
- ``"fig5.<row>"``: the mean return over :data:`N_TEST` test goals after 0…3 steps, and
  ``"fig5.<row>.alphas"`` the step sizes used (:func:`evaluate_fig5` says which).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch

from mini_lib.artefacts.store import load_tensors
from mini_lib.envs.point_navigation import sample_tasks
from mini_lib.meta.functional import Params, params_of
from mini_lib.parallel import run_jobs
from mini_lib.tasks.navigation import NavigationPolicy
from mini_lib.tasks.navigation_training import (
    NavigationConfig,
    evaluate_adaptation,
    train_navigation,
)

__all__ = [
    "ALPHA_GRID",
    "HIDDEN",
    "NAME",
    "N_TEST",
    "RUNS",
    "SEED",
    "TEST_STEPS",
    "TRAINED_ALPHA",
    "evaluate_fig5",
    "fig5_goals",
    "generate",
    "load_policies",
    "policy",
    "train_run",
    "validation_goals",
]

NAME = "maml_nav"
SEED = 0
HIDDEN = (100, 100)  # Finn et al.'s policy
TRAINED_ALPHA = 0.1  # the inner step of meta-training (the reproductions' fast lr)
N_TEST, TEST_TRAJECTORIES, TEST_STEPS = 40, 40, 3  # Fig. 5: 40 goals, 40 episodes a step
TEST_SEED, VALIDATION_SEED = 1, 2  # training goals use seeds ≥ 1000
#: step sizes tried for the baselines (chosen on validation goals, never the test goals)
ALPHA_GRID = (0.1, 0.2, 0.5, 1.0, 2.0)

#: Adam 1e-3 on the meta-gradient (3e-3 learns faster but degrades after ~150 iterations on
#: 2 of 2 seeds tried); the pretrained and oracle policies are plain multi-task PG, Adam 3e-3.
RUNS: dict[str, NavigationConfig] = {
    "maml": NavigationConfig(method="maml", iterations=300, outer_lr=1e-3, hidden=HIDDEN),
    "fomaml": NavigationConfig(method="fomaml", iterations=300, outer_lr=1e-3, hidden=HIDDEN),
    "pretrain": NavigationConfig(method="pretrain", iterations=300, outer_lr=3e-3,
                                 hidden=HIDDEN),
    "oracle": NavigationConfig(method="oracle", iterations=300, outer_lr=3e-3, hidden=HIDDEN),
}


def fig5_goals() -> np.ndarray:
    """The :data:`N_TEST` held-out goals of the Fig. 5 table (never seen in training)."""
    return sample_tasks(N_TEST, seed=TEST_SEED)


def validation_goals() -> np.ndarray:
    """Goals for choosing the baselines' step size (neither training nor test goals)."""
    return sample_tasks(N_TEST, seed=VALIDATION_SEED)


def train_run(method: str, iterations: int | None = None) -> dict[str, torch.Tensor]:
    """Train ``RUNS[method]`` (optionally only its first ``iterations``): the stored tensors."""
    torch.set_num_threads(1)  # small matrices: one thread is fastest, and runs are exact
    config = RUNS[method]
    if iterations is not None:
        config = replace(config, iterations=iterations)
    result = train_navigation(config, seed=SEED)
    out = {f"{method}.{name}": p.clone() for name, p in result.params.items()}
    out[f"{method}.pre_returns"] = torch.tensor(result.pre_returns, dtype=torch.float32)
    out[f"{method}.post_returns"] = torch.tensor(result.post_returns, dtype=torch.float32)
    out[f"{method}.seconds"] = torch.tensor(result.seconds)
    return out


def _random_init() -> dict[str, torch.Tensor]:
    torch.manual_seed(SEED)
    return {f"random.{name}": p.detach().clone()
            for name, p in params_of(NavigationPolicy(HIDDEN)).items()}


def policy(stored: dict[str, torch.Tensor], run: str) -> tuple[NavigationPolicy, Params]:
    """``(model, params)`` of a stored run (``maml``, ``fomaml``, ``pretrain``, ``oracle``,
    ``random``): the model to call :mod:`mini_lib.tasks.navigation` with, and its θ."""
    prefix = f"{run}."
    params = {key[len(prefix):]: value for key, value in stored.items()
              if key.startswith(prefix) and (key.startswith(f"{run}.mean.")
                                             or key == f"{run}.log_std")}
    if not params:
        runs = sorted({key.split(".")[0] for key in stored} - {"fig5"})
        raise KeyError(f"no policy {run!r} stored; stored: {runs}")
    return NavigationPolicy(HIDDEN, observe_goal=run == "oracle"), params


def _schedule(first: float) -> list[float]:
    """Step sizes of steps 1…3: ``first``, then half of it (as the authors' test script
    halves every step after the first)."""
    return [first] + [first / 2] * (TEST_STEPS - 1)


def _evaluate(model: NavigationPolicy, params: Params, goals: np.ndarray,
              alphas: list[float]) -> list[float]:
    return evaluate_adaptation(model, params, goals, TEST_TRAJECTORIES, alphas, TEST_STEPS)


def evaluate_fig5(stored: dict[str, torch.Tensor]) -> dict[str, tuple[list[float], list[float]]]:
    """``{row: (returns after 0…3 steps on the test goals, step sizes)}``.

    MAML and FOMAML adapt with their trained α for the first step, half of it for later
    steps; ``"MAML, α constant"`` keeps α for all three. The pretrained and random rows use
    the first-step α of :data:`ALPHA_GRID` with the best 1-step return on the *validation*
    goals (the same halving after it); ``"pretrained, α = 0.1"`` adapts exactly as MAML does.
    The oracle needs no adaptation (its 0-step return is the row's first entry).
    """
    goals, validation = fig5_goals(), validation_goals()
    rows: dict[str, tuple[list[float], list[float]]] = {}
    for row, run, alphas in [("MAML", "maml", _schedule(TRAINED_ALPHA)),
                             ("MAML, α constant", "maml", [TRAINED_ALPHA] * TEST_STEPS),
                             ("FOMAML", "fomaml", _schedule(TRAINED_ALPHA)),
                             ("pretrained, α = 0.1", "pretrain", _schedule(TRAINED_ALPHA)),
                             ("oracle", "oracle", _schedule(TRAINED_ALPHA))]:
        rows[row] = (_evaluate(*policy(stored, run), goals, alphas), alphas)
    for row, run in [("pretrained", "pretrain"), ("random init", "random")]:
        model, params = policy(stored, run)
        one_step = {alpha: evaluate_adaptation(model, params, validation, TEST_TRAJECTORIES,
                                               alpha, 1)[1] for alpha in ALPHA_GRID}
        best = max(one_step, key=lambda alpha: one_step[alpha])
        rows[row] = (_evaluate(model, params, goals, _schedule(best)), _schedule(best))
    return rows


def generate(workers: int = 2) -> tuple[dict[str, torch.Tensor], str]:
    """Train the four runs (``workers`` processes), evaluate Fig. 5 → ``(tensors, description)``."""
    torch.set_num_threads(1)
    tensors = _random_init()
    for part in run_jobs(train_run, list(RUNS), workers, "meta-training"):
        tensors |= part
    for row, (returns, alphas) in evaluate_fig5(tensors).items():
        tensors[f"fig5.{row}"] = torch.tensor(returns, dtype=torch.float64)
        tensors[f"fig5.{row}.alphas"] = torch.tensor(alphas, dtype=torch.float64)
    settings = "; ".join(f"{m}: {c.iterations} it, Adam {c.outer_lr}" for m, c in RUNS.items())
    return tensors, (f"Chapter 06: 2D-navigation policies {HIDDEN} (seed {SEED}; {settings}; "
                     f"alpha {TRAINED_ALPHA}, meta-batch 20 goals x 20 episodes) and the Fig. 5 "
                     f"table on {N_TEST} test goals (seed {TEST_SEED}), {TEST_TRAJECTORIES} "
                     f"episodes a step; keys <run>.<param>, <run>.pre_returns/post_returns/"
                     f"seconds, fig5.<row>, fig5.<row>.alphas")


def load_policies() -> dict[str, torch.Tensor]:
    """``data/maml_nav.pt`` after its checksum check (``torch.load(weights_only=True)``)."""
    return load_tensors(NAME)
