"""Chapter 05's meta-trained sinusoid regressors: MAML, FOMAML, Reptile and the pretrained baseline.

Meta-training MAML to a useful 1-step fit takes minutes, too long for a notebook, so the four
starting points θ are trained once and stored in ``data/maml_weights.pt``::

    python -m mini_lib.artefacts maml_weights      # 3.5 min with the default 2 workers on 2 cores

Every run is :func:`mini_lib.meta.training.train_meta` on the task family :data:`FAMILY` with
the config in :data:`RUNS` and seed :data:`SEED`, so its first ``n`` iterations are exactly a
run with ``iterations=n``: the test regenerates a short prefix and compares it with the stored
meta-loss curve. Stored keys (all tensors; load with :func:`load_weights`):

- ``"<method>.<param>"``: θ of each method (``net.0.weight`` … ``net.4.bias``);
- ``"scratch.<param>"``: a freshly initialised network (the "from scratch" learner);
- ``"<method>.losses"``: the meta-loss (query MSE after the inner steps; the joint MSE for
  the pretrained network) at every iteration;
- ``"<method>.check_iterations"`` / ``"<method>.check_mse"``: every :data:`CHECK_EVERY`
  iterations, the mean query MSE after one step of size 0.01 on :data:`N_VALIDATION`
  validation tasks (seed :data:`VALIDATION_SEED`, not the test tasks);
- ``"<method>.seconds"``: the wall time of the run.
"""

from __future__ import annotations

from dataclasses import asdict

import torch

from mini_lib.artefacts.store import load_tensors
from mini_lib.meta.functional import Params, params_of
from mini_lib.meta.training import AdaptationCheck, MAMLConfig, train_meta
from mini_lib.parallel import run_jobs
from mini_lib.tasks.sinusoid import SinusoidFamily, held_out_tasks

__all__ = ["CHECK_EVERY", "FAMILY", "NAME", "RUNS", "SEED", "generate", "load_weights",
           "method_params", "scratch_params", "train_run"]

NAME = "maml_weights"
SEED = 0
CHECK_EVERY = 500
N_VALIDATION = 200
VALIDATION_SEED = 20_000

#: Finn et al.'s sine waves: K = 10 support and query points per task, a 1-40-40-1 ReLU network.
FAMILY = SinusoidFamily(k_shot=10, hidden=(40, 40))

#: Finn et al.'s sinusoid setup (α = 0.01, 1 inner step, meta-batch 25, Adam 1e-3),
#: shortened from 70 000 iterations; Reptile with ε = 0.1 and 5 inner steps (with one step it
#: is just joint training); the baseline fitted to all tasks jointly.
RUNS: dict[str, MAMLConfig] = {
    "maml": MAMLConfig(method="maml", iterations=10_000),
    "fomaml": MAMLConfig(method="fomaml", iterations=8_000),
    "reptile": MAMLConfig(method="reptile", iterations=6_000, inner_steps=5, outer_lr=0.1),
    "pretrain": MAMLConfig(method="pretrain", iterations=5_000),
}


def train_run(method: str, iterations: int | None = None) -> dict[str, torch.Tensor]:
    """Train ``RUNS[method]`` (optionally only its first ``iterations``); the stored tensors."""
    torch.set_num_threads(1)  # a tiny network: one thread is ~3x faster than two
    config = RUNS[method]
    if iterations is not None:
        config = MAMLConfig(**(asdict(config) | {"iterations": iterations}))
    validation = held_out_tasks(N_VALIDATION, seed=VALIDATION_SEED)
    check = AdaptationCheck(FAMILY.loss, validation.support, validation.query,
                            every=CHECK_EVERY)
    result = train_meta(config, FAMILY, seed=SEED, stop_when=check)
    out = {f"{method}.{name}": p.clone() for name, p in result.params.items()}
    out[f"{method}.losses"] = torch.tensor(result.losses, dtype=torch.float32)
    out[f"{method}.check_iterations"] = torch.tensor([i for i, _ in check.history])
    out[f"{method}.check_mse"] = torch.tensor([m for _, m in check.history],
                                              dtype=torch.float32)
    out[f"{method}.seconds"] = torch.tensor(result.seconds)
    return out


def _scratch() -> dict[str, torch.Tensor]:
    torch.manual_seed(SEED)
    return {f"scratch.{name}": p.clone() for name, p in params_of(FAMILY.make_model()).items()}


def generate(workers: int = 1) -> tuple[dict[str, torch.Tensor], str]:
    """Train the four methods (``workers`` processes) → ``(tensors, description)``."""
    methods = list(RUNS)
    parts = run_jobs(train_run, methods, workers, "meta-training")
    tensors = _scratch()
    for part in parts:
        tensors |= part
    settings = "; ".join(
        f"{m}: {c.iterations} it, K={FAMILY.k_shot}, alpha={c.alpha}, {c.inner_steps} inner "
        f"step(s), meta-batch {c.meta_batch_size}, "
        + (f"epsilon={c.outer_lr}" if m == "reptile" else f"Adam {c.outer_lr}")
        for m, c in RUNS.items())
    return tensors, (f"Chapter 05: sinusoid regressors 1-40-40-1 meta-trained with seed {SEED} "
                     f"({settings}); keys <method>.<param>, scratch.<param>, <method>.losses, "
                     f"<method>.check_iterations/check_mse (1-step MSE on {N_VALIDATION} "
                     f"validation tasks), <method>.seconds")


def load_weights() -> dict[str, torch.Tensor]:
    """``data/maml_weights.pt`` after its checksum check (``torch.load(weights_only=True)``)."""
    return load_tensors(NAME)


def method_params(weights: dict[str, torch.Tensor], method: str) -> Params:
    """θ of ``method`` (one of :data:`RUNS` or ``"scratch"``) as a parameter dict."""
    prefix = f"{method}.net."
    params = {key[len(method) + 1:]: value for key, value in weights.items()
              if key.startswith(prefix)}
    if not params:
        stored = sorted({key.split(".")[0] for key in weights})
        raise KeyError(f"no weights for {method!r}; stored: {stored}")
    return params


def scratch_params(weights: dict[str, torch.Tensor]) -> Params:
    """The freshly initialised network (seed :data:`SEED`) as a parameter dict."""
    return method_params(weights, "scratch")
