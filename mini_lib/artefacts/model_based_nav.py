"""Chapter 08 part 2's model-based agent: meta-trained dynamics models and their MPC episodes.

Two :class:`~mini_lib.tasks.navigation_dynamics.DynamicsModel`\\ s are trained with
:func:`mini_lib.meta.training.train_meta` on actuator tasks (:data:`TRAINING`): MAML (θ made
to adapt in one step of size 0.5 on 10 transitions) and pretraining (one model for all
actuators). Then the MPC agent (:func:`mini_lib.model_based.mpc.run_mpc`, its default
:class:`~mini_lib.model_based.mpc.MPCConfig`) plays the 40
:func:`~mini_lib.tasks.navigation_dynamics.held_out_dynamics` under :data:`CONDITIONS`.
Stored in ``data/model_based_nav.pt``::

    python -m mini_lib.artefacts model_based_nav      # about 1 min on 2 cores

Keys: ``"<model>.<param>"`` (``maml``, ``pretrain``), ``"<model>.losses"`` and
``"<model>.seconds"``; per condition ``"<condition>.returns"`` ``(40,)``, ``.reached``,
``.positions`` ``(40, 101, 2)``, ``.prediction_error`` ``(40, 100)`` and ``.seconds``.
"""

from __future__ import annotations

import time

import torch

from mini_lib.artefacts.store import load_tensors
from mini_lib.meta.functional import Params
from mini_lib.meta.training import MAMLConfig, train_meta
from mini_lib.model_based.mpc import MPCConfig, run_mpc
from mini_lib.parallel import run_jobs
from mini_lib.tasks.navigation_dynamics import DynamicsFamily, held_out_dynamics

__all__ = ["CONDITIONS", "NAME", "SEED", "TRAINING", "generate", "load", "model_params",
           "play", "train_model"]

NAME = "model_based_nav"
SEED = 0
#: the dynamics models: 150 iterations of 25 tasks × (10 support + 20 query) transitions
TRAINING: dict[str, MAMLConfig] = {
    "maml": MAMLConfig(method="maml", iterations=150, meta_batch_size=25, alpha=0.5),
    "pretrain": MAMLConfig(method="pretrain", iterations=150, meta_batch_size=25, alpha=0.5),
}
#: condition -> (model, adapt online): ``None`` plans with the true dynamics (the oracle)
CONDITIONS: dict[str, tuple[str | None, bool]] = {
    "oracle": (None, False),
    "grbal": ("maml", True),
    "fine_tuned": ("pretrain", True),
    "pretrained": ("pretrain", False),
    "maml_unadapted": ("maml", False),
}


def train_model(name: str, iterations: int | None = None) -> dict[str, torch.Tensor]:
    """Train ``TRAINING[name]`` (optionally only its first ``iterations``): stored tensors."""
    torch.set_num_threads(1)
    config = TRAINING[name]
    if iterations is not None:
        config = MAMLConfig(**{**config.__dict__, "iterations": iterations})
    result = train_meta(config, DynamicsFamily(), seed=SEED)
    out = {f"{name}.{key}": value.clone() for key, value in result.params.items()}
    out[f"{name}.losses"] = torch.tensor(result.losses)
    out[f"{name}.seconds"] = torch.tensor(result.seconds)
    return out


def model_params(stored: dict[str, torch.Tensor], name: str) -> Params:
    """θ of a stored dynamics model, ``maml`` or ``pretrain``."""
    if name not in TRAINING:
        raise KeyError(f"no dynamics model {name!r}; stored: {sorted(TRAINING)}")
    prefix = f"{name}.net."
    return {key[len(name) + 1:]: value for key, value in stored.items()
            if key.startswith(prefix)}


def play(stored: dict[str, torch.Tensor], condition: str,
         config: MPCConfig | None = None, n_tasks: int = 40) -> dict[str, torch.Tensor]:
    """One MPC episode on each of the first ``n_tasks`` held-out actuators under
    ``condition`` (a key of :data:`CONDITIONS`): the tensors stored for it."""
    if condition not in CONDITIONS:
        raise ValueError(f"condition must be one of {sorted(CONDITIONS)}, got {condition!r}")
    torch.set_num_threads(1)
    model, adapt = CONDITIONS[condition]
    params = None if model is None else model_params(stored, model)
    start = time.perf_counter()
    rollout = run_mpc(params, config or MPCConfig(), held_out_dynamics(n_tasks), adapt=adapt,
                      seed=SEED, oracle=model is None)
    out = {f"{condition}.{field}": value for field, value in rollout._asdict().items()}
    out[f"{condition}.seconds"] = torch.tensor(time.perf_counter() - start)
    return out


def _play_job(job: tuple[dict[str, torch.Tensor], str]) -> dict[str, torch.Tensor]:
    return play(*job)


def generate(workers: int = 2) -> tuple[dict[str, torch.Tensor], str]:
    """Train both models, then play every condition (``workers`` processes)."""
    stored: dict[str, torch.Tensor] = {}
    for part in run_jobs(train_model, list(TRAINING), workers, "dynamics models"):
        stored.update(part)
    models = {k: v for k, v in stored.items() if not k.endswith((".losses", ".seconds"))}
    for part in run_jobs(_play_job, [(models, c) for c in CONDITIONS], workers, "MPC"):
        stored.update(part)
    return stored, (f"Dynamics models (MAML and pretraining, {TRAINING['maml'].iterations} "
                    f"iterations, seed {SEED}) and MPC episodes on 40 held-out actuators "
                    f"under {', '.join(CONDITIONS)} ({MPCConfig()})")


def load() -> dict[str, torch.Tensor]:
    """The stored models and episodes (checksum verified); regenerate as above."""
    return load_tensors(NAME)
