"""Chapter 08's trained families on 2D navigation (given goal, inferred context, CAVIA).

Each run takes one to three minutes on one core, so all are trained once and stored in
``data/families_nav.pt``::

    python -m mini_lib.artefacts families_nav      # about 5 min (290 s) with 2 workers, 2 cores

Every run is :func:`mini_lib.tasks.navigation_families.train_family` with the config in
:data:`RUNS` and seed :data:`SEED`; its first ``n`` iterations are exactly a run with
``iterations=n`` (the test retrains a prefix and compares). Stored keys, all tensors:
``"<run>.<state-dict key>"`` (the learner's weights), ``"<run>.returns"`` (the mean return of
the scored episodes per iteration), ``"<run>.pre_returns"`` (CAVIA: before adapting),
``"<run>.kl"`` (context: the posterior's mean KL to the prior) and ``"<run>.seconds"``.
"""

from __future__ import annotations

from dataclasses import replace

import torch

from mini_lib.artefacts.store import load_tensors
from mini_lib.parallel import run_jobs
from mini_lib.tasks.navigation_context import FamilyLearner
from mini_lib.tasks.navigation_families import FamilyConfig, make_learner, train_family

__all__ = ["NAME", "RUNS", "SEED", "generate", "learner", "load_families", "train_run"]

NAME = "families_nav"
SEED = 0
ITERATIONS = 500
#: The families and their settings (seed 0, 500 iterations each). The hypernetwork told the
#: goal uses Adam 1e-3 (3e-3 oscillated); fed the inferred z it needs 3e-4 (median return on
#: the test goals after a full context: -9.1 at 3e-4, -21.7 at 1e-3; 3e-3 ran away to
#: returns of -600). Context runs stop at 500 iterations: continued to 1000, an earlier
#: version's training return fell from -22 to -28. CAVIA is Zintgraf et al.'s setting (a
#: 5-dimensional context, inner step 1.0).
RUNS: dict[str, FamilyConfig] = {
    "goal_concat": FamilyConfig("goal", "concat", 2, ITERATIONS, lr=3e-3),
    "goal_hyper": FamilyConfig("goal", "hyper", 2, ITERATIONS, lr=1e-3),
    "context_concat": FamilyConfig("context", "concat", 3, ITERATIONS, lr=3e-3),
    "context_hyper": FamilyConfig("context", "hyper", 3, ITERATIONS, lr=3e-4),
    "context_diagonal": FamilyConfig("context", "concat", 3, ITERATIONS, lr=3e-3,
                                     factors="diagonal"),
    "cavia": FamilyConfig("cavia", "concat", 5, ITERATIONS, lr=3e-3, alpha=1.0),
}


def train_run(run: str, iterations: int | None = None) -> dict[str, torch.Tensor]:
    """Train ``RUNS[run]`` (optionally only its first ``iterations``): the stored tensors."""
    torch.set_num_threads(1)  # small networks: one thread is fastest, and runs are exact
    config = RUNS[run]
    if iterations is not None:
        config = replace(config, iterations=iterations)
    result = train_family(config, seed=SEED)
    out = {f"{run}.{key}": value.detach().clone()
           for key, value in result.learner.state_dict().items()}
    for curve in ("returns", "pre_returns", "kl"):
        out[f"{run}.{curve}"] = torch.tensor(getattr(result, curve), dtype=torch.float32)
    out[f"{run}.seconds"] = torch.tensor(result.seconds)
    return out


def learner(stored: dict[str, torch.Tensor], run: str) -> FamilyLearner:
    """The trained learner of ``run`` (a key of :data:`RUNS`), rebuilt from ``stored``."""
    if run not in RUNS:
        raise KeyError(f"no run {run!r}; stored runs: {sorted(RUNS)}")
    model = make_learner(RUNS[run])
    prefix = f"{run}."
    model.load_state_dict({key[len(prefix):]: value for key, value in stored.items()
                           if key.startswith(prefix) and key[len(prefix):]
                           in model.state_dict()})
    return model.eval()


def generate(workers: int = 2) -> tuple[dict[str, torch.Tensor], str]:
    """Train every run of :data:`RUNS` in ``workers`` processes → ``(tensors, description)``."""
    torch.set_num_threads(1)
    tensors: dict[str, torch.Tensor] = {}
    for part in run_jobs(train_run, list(RUNS), workers, "families"):
        tensors |= part
    settings = "; ".join(f"{run}: {c.embedding}/{c.conditioner}, Adam {c.lr}"
                         + (f", {c.factors} factors" if c.embedding == "context" else "")
                         for run, c in RUNS.items())
    return tensors, (f"Chapter 08: 2D-navigation families, {ITERATIONS} iterations of 20 goals x "
                     f"20 episodes, seed {SEED} ({settings}); keys <run>.<state-dict key>, "
                     f"<run>.returns/pre_returns/kl/seconds")


def load_families() -> dict[str, torch.Tensor]:
    """``data/families_nav.pt`` after its checksum check (``torch.load(weights_only=True)``)."""
    return load_tensors(NAME)
