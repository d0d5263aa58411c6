"""Chapter 07's trained RL² agents, one per reproduced row of Duan et al.'s Table 1.

Training a 100-pull agent takes about 26 minutes on one core, so the agents are trained once
and stored in ``data/rl2_bandit.pt``::

    python -m mini_lib.artefacts rl2_bandit      # 26 min with the default 2 workers on 2 cores

Every run is :func:`mini_lib.rl2.training.train_rl2` with the config in :data:`RUNS` and
seed :data:`SEED` on Duan et al.'s U[0, 1] arms; ``train_run(run, u)`` repeats its first ``u``
updates exactly (the test re-trains a prefix and compares the curve). ``"collapse"`` is
the 10-pull recipe at a learning rate too high for it: kept for its curve (what breaks).
Stored keys (all tensors; :func:`load_agents` loads them, :func:`agent` rebuilds one):
``"<run>.<param>"`` (the GRU and heads), ``"<run>.returns"`` / ``"<run>.entropies"`` (one
entry per update) and ``"<run>.seconds"``.
"""

from __future__ import annotations

from dataclasses import replace

import torch

from mini_lib.artefacts.store import load_tensors
from mini_lib.parallel import run_jobs
from mini_lib.rl2.policy import RecurrentActorCritic
from mini_lib.rl2.training import RL2Config, train_rl2

__all__ = ["NAME", "RUNS", "SEED", "TABLE_ROWS", "agent", "description", "generate",
           "load_agents", "train_run"]

NAME = "rl2_bandit"
SEED = 0

#: 10-pull agents: the trainer's defaults (Wang et al.'s bandit settings, Adam 3e-3), longer
_SHORT = RL2Config(n_arms=5, n_pulls=10, updates=3000)
RUNS: dict[str, RL2Config] = {
    # 100 pulls: the same recipe at Adam 2e-3 (measured: 75.7 on 1000 fresh tasks after 4000
    # updates with the entropy bonus held at 0.05); the run that takes the time
    "n100_k5": RL2Config(n_arms=5, n_pulls=100, updates=12000, learning_rate=2e-3),
    "n10_k5": _SHORT,
    # 10 arms learn more slowly: 3000 updates reached 6.50, 4500 6.56, 6000 6.75 (seed 0)
    "n10_k10": replace(_SHORT, n_arms=10, updates=6000),
    # what breaks: no entropy bonus and a 10x step — the policy turns deterministic first
    "collapse": replace(_SHORT, updates=600, learning_rate=3e-2, entropy_coef=0.0,
                        entropy_final=0.0),
}
#: Table 1 row (n pulls, k arms) -> the stored agent that plays it
TABLE_ROWS: dict[tuple[int, int], str] = {(10, 5): "n10_k5", (10, 10): "n10_k10",
                                          (100, 5): "n100_k5"}


def train_run(run: str, updates: int | None = None) -> dict[str, torch.Tensor]:
    """Train ``RUNS[run]`` (optionally only its first ``updates``): the stored tensors."""
    torch.set_num_threads(1)  # small matrices: one thread is fastest, and runs are exact
    result = train_rl2(RUNS[run], seed=SEED, stop_after=updates)
    out = {f"{run}.{name}": p.detach().clone() for name, p in result.model.state_dict().items()}
    out[f"{run}.returns"] = torch.tensor(result.returns, dtype=torch.float32)
    out[f"{run}.entropies"] = torch.tensor(result.entropies, dtype=torch.float32)
    out[f"{run}.seconds"] = torch.tensor(result.seconds)
    return out


def agent(stored: dict[str, torch.Tensor], run: str) -> RecurrentActorCritic:
    """The stored agent ``run`` (``n10_k5``, ``n10_k10``, ``n100_k5``, ``collapse``)."""
    if run not in RUNS:
        raise KeyError(f"no agent {run!r} stored; stored: {sorted(RUNS)}")
    prefix = f"{run}."
    state = {key[len(prefix):]: value for key, value in stored.items()
             if key.startswith(prefix) and key[len(prefix):].split(".")[0] in
             ("gru", "policy_head", "value_head")}
    model = RecurrentActorCritic(RUNS[run].n_arms, RUNS[run].hidden)
    model.load_state_dict(state)
    return model.eval()


def generate(workers: int = 2) -> tuple[dict[str, torch.Tensor], str]:
    """Train every run in :data:`RUNS` (``workers`` processes) → ``(tensors, description)``."""
    torch.set_num_threads(1)
    tensors: dict[str, torch.Tensor] = {}
    for part in run_jobs(train_run, list(RUNS), workers, "RL² training"):
        tensors |= part
    return tensors, description()


def description() -> str:
    """The manifest's description of the file: every run's settings."""
    settings = "; ".join(f"{run}: n {c.n_pulls}, k {c.n_arms}, {c.updates} updates x "
                         f"{c.tasks_per_update} trials, Adam {c.learning_rate:g}, gamma "
                         f"{c.gamma:g}, lambda {c.gae_lambda:g}, entropy {c.entropy_coef:g}"
                         f"->{c.entropy_final:g}" for run, c in RUNS.items())
    return (f"Chapter 07: RL² GRU-{_SHORT.hidden} agents on Bernoulli bandits with U[0,1] arms "
            f"(seed {SEED}; {settings}); keys <run>.<param>, <run>.returns/entropies/seconds")


def load_agents() -> dict[str, torch.Tensor]:
    """``data/rl2_bandit.pt`` after its checksum check (``torch.load(weights_only=True)``)."""
    return load_tensors(NAME)
