"""Meta-training on 2D navigation: MAML-RL (second or first order) and multi-task pretraining.

One iteration (Finn et al. 2017, Algorithm 3, with Adam instead of TRPO for the outer step):
sample ``meta_batch`` goals; sample ``trajectories`` support episodes per goal with θ; adapt
θ → φ_i by ``inner_steps`` policy-gradient steps of size ``alpha`` (``vmap`` over the goals);
sample query episodes with each φ_i; step θ along the gradient of the mean query surrogate
(:func:`mini_lib.meta.functional.meta_gradient`). Pretraining — one policy for all goals, the
baseline of Fig. 5 and what the source articles call MAML — steps θ along the support loss
alone; the oracle is pretrained the same way but sees the goal (the upper bound of Fig. 5).
Adam is used because TRPO's conjugate gradient and line search cost 10–25 extra
Hessian-vector products per iteration; learn2learn's 2D-navigation examples use Adam too.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from tqdm.auto import tqdm

from mini_lib.checks import (
    check_finite,
    check_int,
    check_positive,
    check_probability,
    check_widths,
)
from mini_lib.envs.point_navigation import sample_tasks
from mini_lib.meta.functional import (
    Params,
    adapt,
    first_order_gradient,
    meta_gradient,
    params_of,
    pretrain_gradient,
)
from mini_lib.tasks.navigation import NavigationBatch, NavigationPolicy, pg_loss, sample_batch
from mini_lib.tasks.navigation_dynamics import GOAL, Dynamics, sample_dynamics

__all__ = ["METHODS", "TASKS", "NavigationConfig", "NavigationResult", "adaptation_batches",
           "evaluate_adaptation", "task_batch", "train_navigation"]

METHODS = ("maml", "fomaml", "pretrain", "oracle")
#: ``"goals"``: chapter 06's tasks (where to go); ``"actuators"``: chapter 08's (one known goal,
#: actions turned and scaled per task, :mod:`mini_lib.tasks.navigation_dynamics`)
TASKS = ("goals", "actuators")


@dataclass(frozen=True)
class NavigationConfig:
    """``method`` in :data:`METHODS`; ``iterations`` ≥ 1; ``meta_batch`` goals and
    ``trajectories`` episodes per goal and batch; inner step ``alpha`` > 0, ``inner_steps`` ≥ 1;
    Adam's ``outer_lr`` > 0; policy ``hidden`` widths; discount ``gamma`` in [0, 1]; the task
    family ``tasks`` in :data:`TASKS`."""

    method: str = "maml"
    iterations: int = 300
    meta_batch: int = 20
    trajectories: int = 20
    alpha: float = 0.1
    inner_steps: int = 1
    outer_lr: float = 3e-3
    hidden: tuple[int, ...] = (64, 64)
    gamma: float = 0.99
    tasks: str = "goals"

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {self.method!r}")
        if self.tasks not in TASKS:
            raise ValueError(f"tasks must be one of {TASKS}, got {self.tasks!r}")
        if self.tasks == "actuators" and self.method == "oracle":
            raise ValueError("method='oracle' observes the goal, which actuator tasks share: "
                             "use 'maml', 'fomaml' or 'pretrain' with tasks='actuators'")
        check_int("iterations", self.iterations, 1)
        check_int("meta_batch", self.meta_batch, 1)
        check_int("trajectories", self.trajectories, 2)
        check_positive("alpha", self.alpha)
        check_int("inner_steps", self.inner_steps, 1)
        check_positive("outer_lr", self.outer_lr)
        check_widths("hidden", self.hidden)
        check_probability("gamma", self.gamma)


@dataclass
class NavigationResult:
    """The trained parameters, and per iteration the mean return before adaptation (support
    episodes) and after it (query episodes; for pretraining, none: NaN)."""

    model: NavigationPolicy
    params: Params
    pre_returns: list[float] = field(default_factory=list)
    post_returns: list[float] = field(default_factory=list)
    seconds: float = 0.0


def _adapt_all(params: Params, model: NavigationPolicy, batch, alpha: float, steps: int,
               per_task: bool) -> Params:
    in_dims = (0 if per_task else None, None, 0, None, None, None)
    return torch.func.vmap(adapt, in_dims=in_dims)(params, pg_loss(model), batch, alpha, steps,
                                                   True)


def _likely_causes(config: NavigationConfig) -> list[str]:
    causes = [f"outer_lr={config.outer_lr:g} is too large (Adam 1e-3 is stable here)"]
    if config.method in ("maml", "fomaml"):
        causes.insert(0, f"the inner step alpha={config.alpha:g} is too large: the adapted "
                         f"policy's log-std and mean blow up (0.1 works)")
    return causes


def task_batch(tasks: str, n: int, seed: int) -> tuple[np.ndarray, Dynamics | None]:
    """``n`` tasks of the family ``tasks`` drawn from ``seed``: goals ``(n, 2)`` and, for
    actuator tasks, their :class:`~mini_lib.tasks.navigation_dynamics.Dynamics` (else None)."""
    if tasks == "goals":
        return sample_tasks(n, seed=seed), None
    if tasks == "actuators":
        dynamics = sample_dynamics(n, np.random.default_rng(check_int("seed", seed, 0)))
        return np.tile(np.asarray(GOAL, dtype=np.float32), (n, 1)), dynamics
    raise ValueError(f"tasks must be one of {TASKS}, got {tasks!r}")


def train_navigation(config: NavigationConfig, seed: int = 0, *,
                     progress: bool = False) -> NavigationResult:
    """Meta-train (or pretrain) a :class:`NavigationPolicy`; the tasks of iteration ``i`` are
    ``task_batch(config.tasks, meta_batch, seed=1000 * (seed + 1) + i)``, the action noise comes
    from a generator seeded ``seed``: the same seed gives the same run."""
    torch.manual_seed(seed)
    model = NavigationPolicy(config.hidden, observe_goal=config.method == "oracle")
    theta = {k: torch.nn.Parameter(v.clone()) for k, v in params_of(model).items()}
    optimizer = torch.optim.Adam(theta.values(), lr=config.outer_lr)
    loss, generator = pg_loss(model), torch.Generator().manual_seed(seed)
    result = NavigationResult(model, theta)
    start = time.perf_counter()
    bar = tqdm(range(config.iterations), disable=not progress, desc=config.method, unit="it")
    for i in bar:
        params = {k: v.detach() for k, v in theta.items()}
        goals, actuators = task_batch(config.tasks, config.meta_batch, 1000 * (seed + 1) + i)
        support = sample_batch(model, params, goals, config.trajectories, generator,
                               config.gamma, actuators=actuators)
        result.pre_returns.append(support.mean_return)
        if config.method in ("pretrain", "oracle"):
            pooled = tuple(x.flatten(0, 1) for x in support.batch)  # all goals as one task
            gradient, value = pretrain_gradient(params, loss, pooled)
            result.post_returns.append(float("nan"))
        else:
            adapted = _adapt_all(params, model, support.batch, config.alpha,
                                 config.inner_steps, per_task=False)
            query = sample_batch(model, adapted, goals, config.trajectories, generator,
                                 config.gamma, actuators=actuators)
            if config.method == "fomaml":  # the gradient at φ: no second adaptation needed
                gradient, value = first_order_gradient(adapted, loss, query.batch)
            else:
                gradient, value = meta_gradient(params, loss, support.batch, query.batch,
                                                config.alpha, config.inner_steps)
            result.post_returns.append(query.mean_return)
            bar.set_postfix(after_adaptation=f"{query.mean_return:.1f}")
        check_finite(f"{config.method} diverged at iteration {i}: the surrogate loss became "
                     f"{float(value):.3g}", float(value), _likely_causes(config))
        for name, p in theta.items():
            p.grad = gradient[name]
        optimizer.step()
    result.params = {k: v.detach().clone() for k, v in theta.items()}
    result.seconds = time.perf_counter() - start
    return result


def adaptation_batches(model: NavigationPolicy, params: Params, goals: np.ndarray,
                       trajectories: int, alpha: float | Sequence[float], steps: int,
                       seed: int = 0, actuators: Dynamics | None = None
                       ) -> list[NavigationBatch]:
    """The episodes sampled before adapting and after each of ``steps`` policy-gradient
    steps: ``trajectories`` fresh episodes per goal of the current policy, each step on the
    previous batch. ``alpha`` is one step size for every step, or one per step (a schedule
    of length ``steps``); the action noise comes from a generator seeded ``seed``; actuator
    tasks pass their ``actuators`` (see :func:`task_batch`)."""
    steps = check_int("steps", steps, 0)
    alphas = [alpha] * steps if isinstance(alpha, int | float) else list(alpha)
    if len(alphas) != steps:
        raise ValueError(f"alpha must be one step size or {steps} of them (one per step), "
                         f"got {len(alphas)}")
    for a in alphas:
        check_positive("alpha", a)
    generator = torch.Generator().manual_seed(seed)
    batches, current, per_task = [], params, False
    for k in range(steps + 1):
        batches.append(sample_batch(model, current, goals, trajectories, generator,
                                    actuators=actuators))
        if k < steps:
            current = _adapt_all(current, model, batches[-1].batch, alphas[k], 1, per_task)
            per_task = True
    return batches


def evaluate_adaptation(model: NavigationPolicy, params: Params, goals: np.ndarray,
                        trajectories: int, alpha: float | Sequence[float], steps: int,
                        seed: int = 0, actuators: Dynamics | None = None) -> list[float]:
    """Mean return on ``goals`` after 0, 1, …, ``steps`` steps (:func:`adaptation_batches`)."""
    batches = adaptation_batches(model, params, goals, trajectories, alpha, steps, seed,
                                 actuators)
    return [batch.mean_return for batch in batches]
