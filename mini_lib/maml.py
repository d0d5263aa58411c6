r"""Model-agnostic meta-learning (Finn, Abbeel & Levine 2017) on the sinusoid tasks, in torch.func.

A network's parameters :math:`\theta` are a *starting point*. On a task, a few SGD steps on the
``K`` support points turn them into adapted parameters

.. math:: \varphi = \theta - \alpha \nabla_\theta L_\text{support}(\theta) \quad
          (\text{repeated } n \text{ times}),

and MAML moves :math:`\theta` to minimise the *query* loss after adaptation,
:math:`\mathbb{E}_\text{task}\, L_\text{query}(\varphi(\theta))`. Its gradient flows back
through the inner steps (a Hessian-vector product per step). Every piece is a pure function of
a parameter dict, so ``torch.func`` does the work: :func:`adapt` calls ``grad`` inside,
:func:`maml_loss` ``vmap``\ s it over the tasks, and :func:`meta_gradient` takes ``grad`` of
that. The variants:

- ``"maml"``: the exact meta-gradient (second order);
- ``"fomaml"``: first-order MAML, the inner gradient treated as a constant, so the
  meta-gradient is :math:`\nabla_\varphi L_\text{query}(\varphi)` (Finn et al. §5.2);
- ``"reptile"`` (Nichol, Achiam & Schulman 2018): no query loss at all, just
  :math:`\theta \leftarrow \theta + \varepsilon\,\text{mean}_\text{tasks}(\varphi - \theta)`;
- ``"pretrain"``: the baseline, one network fitted to all tasks at once.

All four are evaluated the same way (:func:`evaluate_adaptation`): take the learned
:math:`\theta`, do 0…10 SGD steps on a held-out task's support points, score its query points.
Read top to bottom: network, inner loop, meta-losses, config, training loop, evaluation.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, grad, grad_and_value, vmap
from tqdm.auto import tqdm

from mini_lib.checks import DivergenceError, check_int, check_positive
from mini_lib.sinusoid import SinusoidTasks, sample_tasks

__all__ = [
    "METHODS",
    "AdaptationCheck",
    "MAMLConfig",
    "MetaTrainResult",
    "Params",
    "SinusoidMLP",
    "adapt",
    "evaluate_adaptation",
    "forward",
    "joint_loss",
    "maml_loss",
    "meta_gradient",
    "model_params",
    "mse",
    "pretrain_gradient",
    "reptile_step",
    "train_meta",
]

METHODS = ("maml", "fomaml", "reptile", "pretrain")

#: A network's parameters by name, as ``functional_call`` takes them.
Params = dict[str, torch.Tensor]


# --- the network -----------------------------------------------------------------------------

class SinusoidMLP(nn.Module):
    """The regressor of Finn et al.: 1 → 40 → 40 → 1 with ReLU (``hidden`` sets the widths)."""

    def __init__(self, hidden: tuple[int, ...] = (40, 40),
                 linear: type[nn.Linear] = nn.Linear) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = 1
        for h in hidden:
            layers += [linear(width, h), nn.ReLU()]
            width = h
        layers.append(linear(width, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def model_params(model: nn.Module) -> Params:
    """The module's parameters as a dict of tensors detached from autograd (same storage)."""
    return {name: p.detach() for name, p in model.named_parameters()}


class _ShapeOnlyLinear(nn.Linear):
    def reset_parameters(self) -> None:
        pass  # no random initial values: functional_call brings the weights


@functools.cache
def _skeleton(hidden: tuple[int, ...]) -> SinusoidMLP:
    # Weights on the "meta" device have a shape but no data, and are never initialised: no
    # random numbers drawn (which would shift seeded runs, and which vmap forbids), no memory.
    # functional_call swaps in the real weights, so one skeleton serves every parameter dict
    # of that architecture.
    with torch.device("meta"):
        return SinusoidMLP(hidden, linear=_ShapeOnlyLinear)


def forward(params: Params, x: torch.Tensor) -> torch.Tensor:
    """The MLP whose parameters are ``params`` applied to ``x`` (shape ``(..., 1)``)."""
    hidden = tuple(w.shape[0] for name, w in params.items() if name.endswith("weight"))[:-1]
    return functional_call(_skeleton(hidden), params, (x,))


def mse(params: Params, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean squared error of the network ``params`` on the points ``(x, y)``."""
    return ((forward(params, x) - y) ** 2).mean()


# --- the inner loop: adapt to one task -------------------------------------------------------

def adapt(params: Params, x: torch.Tensor, y: torch.Tensor, alpha: float, steps: int,
          first_order: bool = False) -> Params:
    """``steps`` SGD steps of size ``alpha`` on the MSE of one task's points ``(x, y)``.

    Differentiable in ``params``: under an outer ``grad`` the result carries the second-order
    path through every inner gradient. ``first_order=True`` detaches the inner gradients, so
    ``∂φ/∂θ`` becomes the identity (first-order MAML, and all Reptile needs).
    """
    for _ in range(steps):
        gradient = grad(mse)(params, x, y)
        if first_order:
            gradient = {name: g.detach() for name, g in gradient.items()}
        params = {name: p - alpha * gradient[name] for name, p in params.items()}
    return params


def _query_loss_after_adaptation(params: Params, x_support: torch.Tensor,
                                 y_support: torch.Tensor, x_query: torch.Tensor,
                                 y_query: torch.Tensor, alpha: float, steps: int,
                                 first_order: bool) -> torch.Tensor:
    adapted = adapt(params, x_support, y_support, alpha, steps, first_order)
    return mse(adapted, x_query, y_query)


# --- the outer loop: meta-losses and their gradients -----------------------------------------

def maml_loss(params: Params, tasks: SinusoidTasks, alpha: float, steps: int, *,
              first_order: bool = False, vectorized: bool = True) -> torch.Tensor:
    """Mean over the tasks of the query MSE after ``steps`` inner steps on the support points.

    ``vectorized=True`` maps one task's computation over the task axis with ``vmap`` (one
    batched call per layer); ``False`` runs the same function in a Python loop over tasks.
    """
    per_task = functools.partial(_query_loss_after_adaptation, alpha=alpha, steps=steps,
                                 first_order=first_order)
    data = (tasks.x_support, tasks.y_support, tasks.x_query, tasks.y_query)
    if vectorized:
        losses = vmap(per_task, in_dims=(None, 0, 0, 0, 0))(params, *data)
    else:
        losses = torch.stack([per_task(params, *(d[i] for d in data)) for i in range(len(tasks))])
    return losses.mean()


def meta_gradient(params: Params, tasks: SinusoidTasks, alpha: float, steps: int, *,
                  first_order: bool = False, vectorized: bool = True
                  ) -> tuple[Params, torch.Tensor]:
    """``(∇_θ maml_loss, maml_loss)``: MAML's meta-gradient, or FOMAML's with ``first_order``."""
    return grad_and_value(maml_loss)(params, tasks, alpha, steps, first_order=first_order,
                                     vectorized=vectorized)


def joint_loss(params: Params, tasks: SinusoidTasks) -> torch.Tensor:
    """The pretraining baseline's loss: one network's MSE on all points of all tasks."""
    x = torch.cat([tasks.x_support, tasks.x_query], dim=1)
    y = torch.cat([tasks.y_support, tasks.y_query], dim=1)
    return mse(params, x, y)


def pretrain_gradient(params: Params, tasks: SinusoidTasks) -> tuple[Params, torch.Tensor]:
    """``(∇_θ joint_loss, joint_loss)`` for the pretraining baseline."""
    return grad_and_value(joint_loss)(params, tasks)


def reptile_step(params: Params, tasks: SinusoidTasks, alpha: float, steps: int,
                 epsilon: float) -> tuple[Params, torch.Tensor]:
    """Reptile's update ``θ + ε · mean_tasks(φ − θ)`` and the mean query MSE at ``φ``.

    ``φ`` is ``steps`` SGD steps on each task's support points. The query loss is only
    reported (as MAML's meta-loss is); Reptile's update never looks at the query points.
    """
    with torch.no_grad():  # torch.func.grad inside still works: it ignores an outer no_grad
        adapted = vmap(functools.partial(adapt, alpha=alpha, steps=steps, first_order=True),
                       in_dims=(None, 0, 0))(params, tasks.x_support, tasks.y_support)
        query_loss = vmap(mse)(adapted, tasks.x_query, tasks.y_query).mean()
        updated = {name: p + epsilon * (adapted[name].mean(dim=0) - p)
                   for name, p in params.items()}
    return updated, query_loss


# --- configuration and training --------------------------------------------------------------

@dataclass(frozen=True)
class MAMLConfig:
    """Meta-training hyperparameters; every field is validated on creation.

    Defaults are Finn et al.'s sinusoid setup: ``k_shot`` = 10 support (and 10 query) points
    per task, ``meta_batch_size`` = 25 tasks per iteration, ``inner_steps`` = 1 SGD step of
    size ``alpha`` = 0.01, Adam with ``outer_lr`` = 1e-3, a 1-40-40-1 ReLU network
    (``hidden``), 70 000 ``iterations``.

    ``method`` is one of :data:`METHODS`. For ``"reptile"`` ``outer_lr`` is the interpolation
    step ε of ``θ ← θ + ε(φ − θ)`` (plain, no Adam; try ε ≈ 0.1 and 5–10 inner steps: with one
    step Reptile is just joint training); ``"pretrain"`` ignores ``alpha`` and ``inner_steps``.
    ``vectorized`` False loops over tasks instead of ``vmap`` (same numbers, slower).
    """

    method: str = "maml"
    iterations: int = 70_000
    meta_batch_size: int = 25
    k_shot: int = 10
    alpha: float = 0.01
    inner_steps: int = 1
    outer_lr: float = 1e-3
    hidden: tuple[int, ...] = (40, 40)
    vectorized: bool = True

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {self.method!r}")
        check_int("iterations", self.iterations, 1)
        check_int("meta_batch_size", self.meta_batch_size, 1)
        check_int("k_shot", self.k_shot, 1)
        check_positive("alpha", self.alpha)
        check_int("inner_steps", self.inner_steps, 0)
        check_positive("outer_lr", self.outer_lr)
        if not self.hidden or any(isinstance(h, bool) or not isinstance(h, int) or h < 1
                                  for h in self.hidden):
            raise ValueError(f"hidden must be a non-empty tuple of widths >= 1, "
                             f"got {self.hidden!r}")


@dataclass
class MetaTrainResult:
    """What meta-training produced: the network (θ), the meta-loss per iteration, timings."""

    model: SinusoidMLP
    config: MAMLConfig
    losses: list[float] = field(default_factory=list)
    seconds: float = 0.0
    stopped_at: int | None = None

    @property
    def params(self) -> Params:
        """The learned starting point θ as a parameter dict."""
        return model_params(self.model)


def _divergence_message(loss: float, iteration: int, config: MAMLConfig) -> str:
    causes = []
    if config.method != "pretrain":
        causes.append(f"alpha={config.alpha:g} too large: the inner SGD step overshoots on "
                      f"steep tasks (amplitudes up to 5); try 10x smaller")
        if config.method == "maml" and config.inner_steps > 1:
            causes.append(f"the second-order path through {config.inner_steps} inner steps "
                          f"blows up; use fewer inner steps or first-order MAML")
    causes.append(f"outer_lr={config.outer_lr:g} too high" +
                  (" (Reptile's ε should be at most 1)" if config.method == "reptile" else ""))
    return (f"{config.method} diverged at iteration {iteration}: the meta-loss became {loss}. "
            f"Likely cause: " + "; or ".join(causes) + ".")


def train_meta(
    config: MAMLConfig,
    seed: int = 0,
    *,
    progress: bool = False,
    stop_when: Callable[[Params, int], bool] | None = None,
) -> MetaTrainResult:
    """Meta-train a :class:`SinusoidMLP` with ``config.method`` for ``config.iterations``.

    Every iteration draws ``meta_batch_size`` fresh tasks. ``stop_when(params, iteration)`` is
    called after every iteration (e.g. an :class:`AdaptationCheck`); returning True ends
    training early and records ``stopped_at``. A NaN/inf meta-loss raises
    :class:`~mini_lib.checks.DivergenceError` naming the likely cause. The network is tiny:
    one torch thread (``torch.set_num_threads(1)``) runs it ~3x faster than two.
    """
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    model = SinusoidMLP(config.hidden)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.outer_lr)
    result = MetaTrainResult(model, config)

    start = time.perf_counter()
    bar = tqdm(total=config.iterations, disable=not progress, desc=config.method, unit="it")
    for iteration in range(1, config.iterations + 1):
        # 1. a fresh batch of tasks, and θ as a dict (sharing storage with the model).
        tasks = sample_tasks(config.meta_batch_size, config.k_shot, rng)
        params = model_params(model)

        # 2. Reptile moves θ towards the adapted φ; the others take an Adam step on a gradient.
        if config.method == "reptile":
            updated, loss = reptile_step(params, tasks, config.alpha, config.inner_steps,
                                         config.outer_lr)
            for name, p in params.items():
                p.copy_(updated[name])
        else:
            if config.method == "pretrain":
                gradient, loss = pretrain_gradient(params, tasks)
            else:
                gradient, loss = meta_gradient(params, tasks, config.alpha, config.inner_steps,
                                               first_order=config.method == "fomaml",
                                               vectorized=config.vectorized)
            for name, p in model.named_parameters():
                p.grad = gradient[name]
            optimizer.step()

        # 3. stop a diverging run with its likely cause instead of training on NaNs.
        loss = loss.item()
        if not math.isfinite(loss):
            raise DivergenceError(_divergence_message(loss, iteration, config))
        result.losses.append(loss)
        if iteration % 100 == 0:
            bar.set_postfix(meta_loss=f"{np.mean(result.losses[-100:]):.3f}")
        bar.update(1)
        if stop_when is not None and stop_when(model_params(model), iteration):
            result.stopped_at = iteration
            break
    bar.close()
    result.seconds = time.perf_counter() - start
    return result


# --- evaluation ------------------------------------------------------------------------------

def evaluate_adaptation(params: Params, tasks: SinusoidTasks, alpha: float = 0.01,
                        max_steps: int = 10) -> np.ndarray:
    """Query MSE of every task after 0, 1, …, ``max_steps`` SGD steps on its support points.

    Returns an array ``(tasks, max_steps + 1)``: column ``n`` is the error after ``n`` steps
    of size ``alpha`` from the starting point ``params`` (any method's θ, or the pretrained
    network). Average over axis 0 for the curve; the per-task rows give its spread.
    """
    alpha = check_positive("alpha", alpha)
    max_steps = check_int("max_steps", max_steps, 0)
    params = {name: p.detach() for name, p in params.items()}

    def curve(x_support, y_support, x_query, y_query):
        theta, errors = params, [mse(params, x_query, y_query)]
        for _ in range(max_steps):
            theta = adapt(theta, x_support, y_support, alpha, 1, first_order=True)
            errors.append(mse(theta, x_query, y_query))
        return torch.stack(errors)

    with torch.no_grad():
        errors = vmap(curve)(tasks.x_support, tasks.y_support, tasks.x_query, tasks.y_query)
    return errors.double().numpy()


class AdaptationCheck:
    """``check(params, iteration) -> bool``: every ``every`` iterations, evaluate and compare.

    Computes the mean query MSE of ``tasks`` after ``steps`` adaptation steps of size
    ``alpha``; returns True once it is ≤ ``threshold`` (never, if ``threshold`` is None). Pass
    it as ``stop_when`` to :func:`train_meta`; ``history`` keeps ``(iteration, mean MSE)``.
    """

    def __init__(self, tasks: SinusoidTasks, every: int = 1_000, steps: int = 1,
                 alpha: float = 0.01, threshold: float | None = None) -> None:
        self.tasks = tasks
        self.every = check_int("every", every, 1)
        self.steps = check_int("steps", steps, 0)
        self.alpha = check_positive("alpha", alpha)
        self.threshold = threshold
        self.history: list[tuple[int, float]] = []

    def __call__(self, params: Params, iteration: int) -> bool:
        if iteration % self.every:
            return False
        errors = evaluate_adaptation(params, self.tasks, self.alpha, self.steps)
        mean = float(errors[:, self.steps].mean())
        self.history.append((iteration, mean))
        return self.threshold is not None and mean <= self.threshold
