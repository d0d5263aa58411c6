"""Meta-training and evaluation on any task family: MAML, FOMAML, Reptile, pretraining.

:func:`train_meta` takes a :class:`MAMLConfig` (the method and its hyperparameters) and a
:class:`TaskFamily` (the network, its loss, and a sampler of support and query batches), and
runs the chosen method of :mod:`mini_lib.meta.functional`. All four methods are evaluated
the same way (:func:`evaluate_adaptation`): take the learned :math:`\\theta`, do 0…n SGD steps
on each held-out task's support batch, score its query batch.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import torch
from torch import nn
from torch.func import vmap
from tqdm.auto import tqdm

from mini_lib.checks import check_finite, check_int, check_positive
from mini_lib.meta.functional import (
    Batch,
    LossFn,
    Params,
    adaptation_path,
    meta_gradient,
    params_of,
    pool_tasks,
    pretrain_gradient,
    reptile_step,
)

__all__ = [
    "METHODS",
    "AdaptationCheck",
    "MAMLConfig",
    "MetaTrainResult",
    "TaskFamily",
    "evaluate_adaptation",
    "train_meta",
]

METHODS = ("maml", "fomaml", "reptile", "pretrain")


class TaskFamily(Protocol):
    """A distribution over tasks, as :func:`train_meta` needs it.

    ``make_model()`` builds the network to meta-train (``train_meta`` seeds torch first);
    ``loss(params, batch)`` is its loss on one task's batch (see
    :data:`~mini_lib.meta.functional.LossFn`); ``sample(n_tasks, rng)`` draws fresh tasks from
    the NumPy generator and returns their ``(support, query)`` batches, each leaf with a
    leading task axis. ``steep_tasks`` names the tasks on which a too large inner step
    overshoots, for the divergence message (e.g. ``"steep tasks (amplitudes up to 5)"``).
    """

    @property
    def steep_tasks(self) -> str: ...

    @property
    def loss(self) -> LossFn: ...

    def make_model(self) -> nn.Module: ...

    def sample(self, n_tasks: int, rng: np.random.Generator) -> tuple[Batch, Batch]: ...


@dataclass(frozen=True)
class MAMLConfig:
    """Meta-training hyperparameters; every field is validated on creation.

    Defaults are Finn et al.'s sinusoid setup: ``meta_batch_size`` = 25 tasks per iteration,
    ``inner_steps`` = 1 SGD step of size ``alpha`` = 0.01, Adam with ``outer_lr`` = 1e-3,
    70 000 ``iterations`` (the number of points per task and the network belong to the task
    family).

    ``method`` is one of :data:`METHODS`. For ``"reptile"`` ``outer_lr`` is the interpolation
    step ε of ``θ ← θ + ε(φ − θ)`` (plain, no Adam; try ε ≈ 0.1 and 5–10 inner steps: with one
    step Reptile is just joint training); ``"pretrain"`` ignores ``alpha`` and ``inner_steps``.
    ``vectorized`` False loops over tasks instead of ``vmap`` (same numbers, slower).
    """

    method: str = "maml"
    iterations: int = 70_000
    meta_batch_size: int = 25
    alpha: float = 0.01
    inner_steps: int = 1
    outer_lr: float = 1e-3
    vectorized: bool = True

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {self.method!r}")
        check_int("iterations", self.iterations, 1)
        check_int("meta_batch_size", self.meta_batch_size, 1)
        check_positive("alpha", self.alpha)
        check_int("inner_steps", self.inner_steps, 0)
        check_positive("outer_lr", self.outer_lr)


@dataclass
class MetaTrainResult:
    """What meta-training produced: the network (θ), the meta-loss per iteration, timings."""

    model: nn.Module
    config: MAMLConfig
    losses: list[float] = field(default_factory=list)
    seconds: float = 0.0
    stopped_at: int | None = None

    @property
    def params(self) -> Params:
        """The learned starting point θ as a parameter dict."""
        return params_of(self.model)


def _diverged(config: MAMLConfig, iteration: int, loss: float) -> str:
    return f"{config.method} diverged at iteration {iteration}: the meta-loss became {loss}"


def _likely_causes(config: MAMLConfig, tasks: TaskFamily) -> list[str]:
    causes = []
    if config.method != "pretrain":
        causes.append(f"alpha={config.alpha:g} too large: the inner SGD step overshoots on "
                      f"{tasks.steep_tasks}; try 10x smaller")
        if config.method == "maml" and config.inner_steps > 1:
            causes.append(f"the second-order path through {config.inner_steps} inner steps "
                          f"blows up; use fewer inner steps or first-order MAML")
    causes.append(f"outer_lr={config.outer_lr:g} too high" +
                  (" (Reptile's ε should be at most 1)" if config.method == "reptile" else ""))
    return causes


def train_meta(
    config: MAMLConfig,
    tasks: TaskFamily,
    seed: int = 0,
    *,
    progress: bool = False,
    stop_when: Callable[[Params, int], bool] | None = None,
) -> MetaTrainResult:
    """Meta-train ``tasks.make_model()`` with ``config.method`` for ``config.iterations``.

    Every iteration draws ``meta_batch_size`` fresh tasks with ``tasks.sample``.
    ``stop_when(params, iteration)`` is called after every iteration (e.g. an
    :class:`AdaptationCheck`); returning True ends training early and records
    ``stopped_at``. A NaN/inf meta-loss raises :class:`~mini_lib.checks.DivergenceError`
    naming the likely cause. For tiny networks one torch thread
    (``torch.set_num_threads(1)``) runs ~3x faster than two.
    """
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    model = tasks.make_model()
    loss_fn = tasks.loss
    optimizer = torch.optim.Adam(model.parameters(), lr=config.outer_lr)
    result = MetaTrainResult(model, config)

    start = time.perf_counter()
    bar = tqdm(total=config.iterations, disable=not progress, desc=config.method, unit="it")
    for iteration in range(1, config.iterations + 1):
        # 1. a fresh batch of tasks, and θ as a dict (sharing storage with the model).
        support, query = tasks.sample(config.meta_batch_size, rng)
        params = params_of(model)

        # 2. Reptile moves θ towards the adapted φ; the others take an Adam step on a gradient.
        if config.method == "reptile":
            updated, loss = reptile_step(params, loss_fn, support, query, config.alpha,
                                         config.inner_steps, config.outer_lr)
            for name, p in params.items():
                p.copy_(updated[name])
        else:
            if config.method == "pretrain":
                gradient, loss = pretrain_gradient(params, loss_fn, pool_tasks(support, query))
            else:
                gradient, loss = meta_gradient(params, loss_fn, support, query, config.alpha,
                                               config.inner_steps,
                                               first_order=config.method == "fomaml",
                                               vectorized=config.vectorized)
            for name, p in model.named_parameters():
                p.grad = gradient[name]
            optimizer.step()

        # 3. stop a diverging run with its likely cause instead of training on NaNs.
        loss = loss.item()
        check_finite(functools.partial(_diverged, config, iteration, loss), loss,
                     functools.partial(_likely_causes, config, tasks))
        result.losses.append(loss)
        if iteration % 100 == 0:
            bar.set_postfix(meta_loss=f"{np.mean(result.losses[-100:]):.3f}")
        bar.update(1)
        if stop_when is not None and stop_when(params_of(model), iteration):
            result.stopped_at = iteration
            break
    bar.close()
    result.seconds = time.perf_counter() - start
    return result


# --- evaluation ------------------------------------------------------------------------------

def evaluate_adaptation(params: Params, loss_fn: LossFn, support: Batch, query: Batch,
                        alpha: float = 0.01, max_steps: int = 10) -> np.ndarray:
    """Query loss of every task after 0, 1, …, ``max_steps`` SGD steps on its support batch.

    ``support`` and ``query`` have a leading task axis. Returns an array ``(tasks,
    max_steps + 1)``: column ``n`` is the loss after ``n`` steps of size ``alpha`` (the steps
    of :func:`~mini_lib.meta.functional.adaptation_path`) from the starting point ``params``
    (any method's θ, or the pretrained network). Average over axis 0 for the curve; the
    per-task rows give its spread.
    """
    alpha = check_positive("alpha", alpha)
    max_steps = check_int("max_steps", max_steps, 0)
    params = {name: p.detach() for name, p in params.items()}

    def curve(support: Batch, query: Batch) -> torch.Tensor:
        path = adaptation_path(params, loss_fn, support, alpha, max_steps)
        return torch.stack([loss_fn(theta, query) for theta in path])

    with torch.no_grad():
        errors = vmap(curve)(support, query)
    return errors.double().numpy()


class AdaptationCheck:
    """``check(params, iteration) -> bool``: every ``every`` iterations, evaluate and compare.

    Computes the mean query loss of the tasks ``(support, query)`` after ``steps``
    adaptation steps of size ``alpha``; returns True once it is ≤ ``threshold`` (never, if
    ``threshold`` is None). Pass it as ``stop_when`` to :func:`train_meta`; ``history`` keeps
    ``(iteration, mean loss)``.
    """

    def __init__(self, loss_fn: LossFn, support: Batch, query: Batch, every: int = 1_000,
                 steps: int = 1, alpha: float = 0.01, threshold: float | None = None) -> None:
        self.loss_fn, self.support, self.query = loss_fn, support, query
        self.every = check_int("every", every, 1)
        self.steps = check_int("steps", steps, 0)
        self.alpha = check_positive("alpha", alpha)
        self.threshold = threshold
        self.history: list[tuple[int, float]] = []

    def __call__(self, params: Params, iteration: int) -> bool:
        if iteration % self.every:
            return False
        errors = evaluate_adaptation(params, self.loss_fn, self.support, self.query,
                                     self.alpha, self.steps)
        mean = float(errors[:, self.steps].mean())
        self.history.append((iteration, mean))
        return self.threshold is not None and mean <= self.threshold
