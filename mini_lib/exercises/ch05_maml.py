"""Checkers for the MAML chapter's exercises: a functional inner step and Reptile's outer update.

:func:`check_inner_step` runs the learner's ``inner_step(params, x, y, alpha)`` — one SGD step
on the MSE of a task's points that returns *new* parameters and keeps the graph, so MAML can
differentiate the query loss after adapting back to θ — on small float64 sinusoid networks
(:func:`mini_lib.tasks.sinusoid.mse` is the loss). It checks the values against
:func:`mini_lib.meta.functional.adapt`, that θ itself is left unchanged, and that the
meta-gradient through the step equals the exact second-order one; it names the typical bugs:
an in-place update (``p -= …``, ``p.data``, ``torch.no_grad``), a result cut off from θ
(``detach``), ``create_graph=True`` missing (which silently gives first-order MAML), a wrong
sign, and a forgotten α.

:func:`check_reptile_update` runs ``reptile_update(theta, adapted, epsilon)`` — ``adapted``
holds each parameter of every task's φ stacked along a first task axis — and names: the wrong
sign, a sum instead of the mean over tasks, a forgotten ε, one task instead of all, a mean
over the wrong axes, and an update of θ in place.

Both return a :class:`~mini_lib.exercises.kit.CheckResult`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from mini_lib.exercises.kit import (
    CheckResult,
    flat_params,
    report_failure,
    run_cases,
    single_threaded,
    tensors_close,
)
from mini_lib.meta.functional import Params, adapt, meta_gradient, params_of
from mini_lib.tasks.sinusoid import SinusoidMLP, batch_mse, mse, sample_tasks

__all__ = ["check_inner_step", "check_reptile_update"]

InnerStep = Callable[[Params, torch.Tensor, torch.Tensor, float], Params]


# -- exercise 1: one functional inner step -----------------------------------------------------

_IN_PLACE_HINT = ("you update θ in place (p -= …, p.data, p.sub_ or an update under "
                  "torch.no_grad()). MAML must keep θ unchanged and differentiate *through* the "
                  "step: return new tensors, {name: p - alpha * g for ...}.")
_CREATE_GRAPH_HINT = ("the values are right, but the meta-gradient through your step is the "
                      "first-order one: the inner gradient is treated as a constant. Pass "
                      "create_graph=True to torch.autograd.grad so that the second-order "
                      "term (the Hessian of the support loss) reaches θ.")
_DETACHED_HINT = ("the adapted parameters are cut off from θ (detach(), .data, torch.no_grad or "
                  "new tensors built from numbers): no meta-gradient can flow back. Compute "
                  "p - alpha * g from the parameters themselves.")


def _inner_cases() -> list[tuple[Params, torch.Tensor, torch.Tensor, torch.Tensor,
                                 torch.Tensor, float]]:
    """Tiny float64 networks, one task each: (θ, x, y, x_query, y_query, α)."""
    cases = []
    for seed, hidden, k_shot, alpha in [(0, (4, 4), 5, 0.1), (1, (6,), 3, 0.05),
                                        (2, (5, 3), 8, 0.3)]:
        torch.manual_seed(seed)
        theta = params_of(SinusoidMLP(hidden).double())
        tasks = sample_tasks(1, k_shot, np.random.default_rng(seed), k_query=7,
                             dtype=torch.float64)
        cases.append((theta, tasks.x_support[0], tasks.y_support[0], tasks.x_query[0],
                      tasks.y_query[0], alpha))
    return cases


def _leaves(theta: Params) -> Params:
    return {name: p.detach().clone().requires_grad_(True) for name, p in theta.items()}


def check_inner_step(fn: InnerStep) -> CheckResult:
    """Check ``fn(params, x, y, alpha) -> adapted``: ``p − α ∇_p MSE(params; x, y)`` for every
    parameter, as new tensors that keep the graph back to ``params`` (second order)."""
    with single_threaded():
        return _check_inner_step(fn)


def _check_inner_step(fn: InnerStep) -> CheckResult:
    what = "inner_step"
    cases = _inner_cases()
    for index, (theta, x, y, x_query, y_query, alpha) in enumerate(cases):
        params = _leaves(theta)
        before = {name: p.detach().clone() for name, p in params.items()}
        description = f"a {len(before) // 2}-layer network, K = {len(x)}, alpha = {alpha}"
        try:
            adapted = fn(params, x, y, alpha)
        except RuntimeError as error:
            if "in-place" in str(error) or "leaf Variable" in str(error):
                return CheckResult(False, f"❌ {what}: {_IN_PLACE_HINT} (PyTorch said: {error})")
            return report_failure(what, error)
        except Exception as error:  # the learner's bug, reported rather than raised
            return report_failure(what, error)

        if not isinstance(adapted, dict) or set(adapted) != set(params):
            keys = sorted(adapted) if isinstance(adapted, dict) else type(adapted).__name__
            return CheckResult(False, f"❌ {what}: return a dict with the same names as params "
                                      f"({sorted(params)}), got {keys}.")
        if any(not torch.equal(before[n], params[n].detach()) for n in params):
            return CheckResult(False, f"❌ {what}: {_IN_PLACE_HINT}")
        for name, p in adapted.items():
            if not isinstance(p, torch.Tensor) or p.shape != params[name].shape:
                shape = tuple(p.shape) if isinstance(p, torch.Tensor) else type(p).__name__
                return CheckResult(False, f"❌ {what}: adapted[{name!r}] should be a tensor of "
                                          f"shape {tuple(params[name].shape)}, got {shape}.")

        # The values: one SGD step (and the typical wrong ones).
        gradient = torch.func.grad(mse)(theta, x, y)
        got = flat_params(adapted)
        one_step = adapt(theta, batch_mse, (x, y), alpha, 1)
        if not tensors_close(got, flat_params(one_step)):
            wrong = {
                "the sign is wrong: you step *up* the gradient (p + α g); gradient descent "
                "moves against it, p − α g.":
                    {n: p + alpha * gradient[n] for n, p in theta.items()},
                "α is missing: the step is p − g; scale the gradient by the inner learning "
                "rate, p − alpha · g.": {n: p - gradient[n] for n, p in theta.items()},
                "that is two (or more) steps; the exercise is exactly one step.":
                    adapt(theta, batch_mse, (x, y), alpha, 2),
            }
            for hint, values in wrong.items():
                if tensors_close(got, flat_params(values)):
                    return CheckResult(False, f"❌ {what}: {hint}")
            gap = float((got - flat_params(one_step)).abs().max())
            return CheckResult(False, f"❌ {what}: wrong adapted parameters for {description} "
                                      f"(largest difference from p − α ∇L: {gap:.3g}).")

        # The graph: the meta-gradient of the query loss through the step.
        if not any(p.requires_grad for p in adapted.values()):
            return CheckResult(False, f"❌ {what}: {_DETACHED_HINT}")
        try:
            meta = torch.autograd.grad(mse(adapted, x_query, y_query), list(params.values()),
                                       allow_unused=True)
        except RuntimeError as error:
            return CheckResult(False, f"❌ {what}: {_DETACHED_HINT} (PyTorch said: {error})")
        meta = {n: torch.zeros_like(p) if g is None else g
                for (n, p), g in zip(params.items(), meta, strict=True)}
        task = ((x[None], y[None]), (x_query[None], y_query[None]))  # a task axis of one
        exact, _ = meta_gradient(theta, batch_mse, *task, alpha, 1)
        if not tensors_close(flat_params(meta), flat_params(exact), rtol=1e-6):
            first_order, _ = meta_gradient(theta, batch_mse, *task, alpha, 1, first_order=True)
            if tensors_close(flat_params(meta), flat_params(first_order), rtol=1e-6):
                return CheckResult(False, f"❌ {what}: {_CREATE_GRAPH_HINT}")
            if all(float(g.abs().max()) == 0.0 for g in meta.values()):
                return CheckResult(False, f"❌ {what}: {_DETACHED_HINT}")
            return CheckResult(False, f"❌ {what}: the values are right but the gradient "
                                      f"through your step is not the meta-gradient (case "
                                      f"{index + 1}: {description}); keep every operation "
                                      f"differentiable.")
    return CheckResult(True, f"✅ {what}: right values, θ untouched, and the exact second-order "
                             f"meta-gradient flows through it in all {len(cases)} test cases.")


# -- exercise 2: Reptile's outer update --------------------------------------------------------

def _reptile_cases() -> list[tuple[tuple, np.ndarray, str]]:
    rng = np.random.default_rng(3)
    cases = []
    for n_tasks, epsilon in [(3, 0.1), (5, 0.5), (1, 1.0), (4, 1.0), (2, 0.25)]:
        theta = {"w": rng.normal(size=(4, 3)), "b": rng.normal(size=4)}
        adapted = {n: p + rng.normal(scale=0.5, size=(n_tasks, *p.shape))
                   for n, p in theta.items()}
        expected = np.concatenate([(p + epsilon * (adapted[n] - p).mean(axis=0)).ravel()
                                   for n, p in theta.items()])
        cases.append(((theta, adapted, epsilon), expected,
                      f"{n_tasks} task(s), epsilon = {epsilon}"))
    return cases


def _reptile_learner(fn: Callable[..., Any]) -> Callable[..., np.ndarray]:
    """Call ``fn`` on fresh float64 tensors; the answer as one flat array (w, then b)."""
    def run(theta: dict, adapted: dict, epsilon: float) -> np.ndarray:
        out = fn({n: torch.tensor(p) for n, p in theta.items()},
                 {n: torch.tensor(p) for n, p in adapted.items()}, epsilon)
        if not isinstance(out, dict) or set(out) != set(theta):
            raise TypeError(f"return a dict with the keys of theta {sorted(theta)}, got "
                            f"{sorted(out) if isinstance(out, dict) else type(out).__name__}")
        parts = []
        for n, p in theta.items():
            value = torch.as_tensor(out[n]).detach().double().numpy()
            parts.append((np.broadcast_to(value, p.shape) if value.ndim == 0 else value).ravel())
        return np.concatenate(parts)
    return run


def _numpy_update(rule: Callable[[np.ndarray, np.ndarray, float], np.ndarray]):
    def update(theta: dict, adapted: dict, epsilon: float) -> np.ndarray:
        return np.concatenate([np.broadcast_to(rule(p, adapted[n], epsilon), p.shape).ravel()
                               for n, p in theta.items()])
    return update


_REPTILE_MISTAKES = [
    (_numpy_update(lambda p, phi, e: p - e * (phi - p).mean(axis=0)),
     "the sign is wrong: Reptile moves θ *towards* the adapted φ, θ + ε (φ − θ) (not "
     "θ − ε (φ − θ), nor θ + ε (θ − φ))."),
    (_numpy_update(lambda p, phi, e: p + e * (phi - p).sum(axis=0)),
     "you sum over the tasks; average them: θ + ε · mean_tasks(φ − θ) (a sum makes the step "
     "grow with the meta-batch size)."),
    (_numpy_update(lambda p, phi, e: phi.mean(axis=0)),
     "ε is missing: you jump all the way to the mean φ (that is ε = 1); move only a fraction ε "
     "of the way."),
    (_numpy_update(lambda p, phi, e: p + e * (phi[0] - p)),
     "you use only the first task's φ; average φ − θ over all tasks (axis 0)."),
    (_numpy_update(lambda p, phi, e: p + e * (phi[-1] - p)),
     "you use only the last task's φ; average φ − θ over all tasks (axis 0)."),
    (_numpy_update(lambda p, phi, e: p + e * (phi - p).mean()),
     "the mean is over every axis (one number for the whole tensor); average over the task "
     "axis only: (phi - theta).mean(dim=0)."),
]


def check_reptile_update(fn: Callable[[dict, dict, float], dict]) -> CheckResult:
    """Check ``fn(theta, adapted, epsilon) -> new theta``: ``θ + ε · mean_tasks(φ − θ)`` per
    parameter, where ``adapted[name]`` stacks every task's φ along axis 0; θ must not change."""
    what = "reptile_update"
    with single_threaded():
        result = run_cases(_reptile_learner(fn), _reptile_cases(), _REPTILE_MISTAKES, what)
        if not result.passed:
            return result
        (theta, adapted, epsilon), _, _ = _reptile_cases()[0]
        theta_t = {n: torch.tensor(p) for n, p in theta.items()}
        try:
            fn(theta_t, {n: torch.tensor(p) for n, p in adapted.items()}, epsilon)
        except Exception as error:  # the learner's bug, reported rather than raised
            return report_failure(what, error)
        if any(not np.array_equal(theta_t[n].numpy(), theta[n]) for n in theta):
            return CheckResult(False, f"❌ {what}: you change theta in place (+=, add_ or "
                                      f"copy_); return new tensors and leave the caller's θ "
                                      f"alone — the training loop decides when to copy.")
    return result
