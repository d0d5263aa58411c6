r"""Checkers for chapter 08's exercises: pooling a context into a posterior, generated weights.

:func:`check_pool` tests ``pool(means, variances, mask)``, ContextEncoder's product of masked
Gaussian factors and the prior N(0, I), against :func:`reference_pool`, with the transitions
permuted and added one at a time. It names: order-dependent pooling (last transition only, a
moving-average update, position weights), the prior forgotten, precisions averaged (or
variances summed), a 0/0 mean, a plain average of the means, the mask ignored, the wrong axis.

:func:`check_policy_mean` tests ``policy_mean(flat, target, observations)`` (``flat`` cut into
``target``'s parameters for ``functional_call``): values, and gradient with respect to
``flat``. It names: flat copied into the Parameters (the seed article's ``set_params``), the
graph cut (``detach``), the target's own parameters, part of ``flat`` cut off, a weight as
``(in, out).T``, the pieces in another order, the target changed on the side.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable

import numpy as np
import torch
from torch import nn
from torch.func import functional_call

from mini_lib.exercises.kit import (
    CheckResult,
    as_array,
    report_failure,
    short,
    single_threaded,
    tensors_close,
)
from mini_lib.meta.functional import Params
from mini_lib.tasks.navigation import NavigationPolicy

__all__ = ["check_policy_mean", "check_pool", "reference_pool"]


def _fail(what: str, text: str) -> CheckResult:
    return CheckResult(False, f"❌ {what}: {text}")


# -- exercise 1: a permutation-invariant pooling ------------------------------------------------

Pool = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]

_ORDER_HINT = ("permuting the transitions (with their mask) changed your posterior: your "
               "pooling depends on their order — the last transition only, a running update "
               "(RNN-like, a moving average) or weights by position. A context is a *set*: "
               "multiply all the factors, σ⁻² = 1 + Σ_i mask_i σ_i⁻², a sum over dim=1.")
_PRIOR_HINT = ("a task with no transitions gets an infinite variance (or NaN): the prior is "
               "forgotten. N(0, I) is one more factor, precision 1: σ⁻² = 1 + Σ_i mask_i σ_i⁻², "
               "so without transitions the posterior is the prior, mean 0, variance 1.")
_EMPTY_MEAN_HINT = ("the mean of a task with no transitions is NaN (0/0): divide Σ_i mask_i "
                    "σ_i⁻² μ_i by the posterior precision 1 + Σ_i mask_i σ_i⁻², not a count.")
_WIDER_HINT = ("one more transition made your posterior *wider*: each factor must add its "
               "precision, σ⁻² = 1 + Σ_i mask_i σ_i⁻². Averaging the precisions (or summing the "
               "variances) lets a vague transition undo a precise one: no narrowing with data.")
_PLAIN_MEAN_HINT = ("your mean does not depend on the variances: a plain average of the means. "
                    "Weight by precision, prior included: μ = σ² Σ_i mask_i σ_i⁻² μ_i.")
_MEAN_HINT = ("the variance is right but the mean is not: μ = σ² Σ_i mask_i σ_i⁻² μ_i, σ² "
              "the posterior variance (the prior pulls the mean towards 0).")
_MASK_HINT = ("changing padded transitions (mask 0) changed your posterior: the mask is "
              "ignored (or used on the means only). Multiply the precisions σ_i⁻² by "
              "mask[..., None] before summing, so that padding contributes nothing.")
_AXIS_HINT = ("your answer has shape {shape}: you pooled over the {axis}. Pool over the "
              "transitions, dim=1, for (tasks, latent).")
_POOL_CASES = [(4, 6, 2), (3, 1, 3), (3, 9, 4)]  # (tasks, N, latent), N ≠ latent, tasks ≠ N


def reference_pool(means: torch.Tensor, variances: torch.Tensor,
                   mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """ContextEncoder's posterior ``(mean, variance)`` ``(…, latent)``: precision
    ``1 + Σ_i mask_i / variances_i`` over the transitions (dim −2), mean
    ``σ² Σ_i mask_i means_i / variances_i``."""
    precision_i = mask[..., None].to(variances.dtype) / variances
    precision = 1.0 + precision_i.sum(dim=-2)
    return (precision_i * means).sum(dim=-2) / precision, 1.0 / precision


def _pool_cases() -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """Factors with precisions over two orders of magnitude; task 0 full, task 1 empty."""
    generator, f64 = torch.Generator().manual_seed(8), torch.float64
    cases = []
    for tasks, n, latent in _POOL_CASES:
        means = 2 * torch.randn(tasks, n, latent, generator=generator, dtype=f64)
        variances = (4 * torch.rand(tasks, n, latent, generator=generator, dtype=f64) - 2).exp()
        mask = (torch.rand(tasks, n, generator=generator) < 0.6).to(f64)
        mask[0], mask[1], mask[2, 0] = 1.0, 0.0, 1.0
        mask[2, 1::max(n - 2, 1)] = 0.0  # task 2: a hole at 1, the last transition padded
        cases.append((means, variances, mask))
    return cases


def _pool_answer(fn: Pool, args: tuple[torch.Tensor, ...]) -> tuple | str:
    """``fn``'s (mean, variance) as arrays, or what is wrong with their type or shape."""
    tasks, n, latent = args[0].shape
    out = fn(*(x.clone() for x in args))
    if not isinstance(out, tuple | list) or len(out) != 2:
        return f"return a pair (mean, variance), each (tasks, latent); got {type(out).__name__}."
    answer = tuple(as_array(x) for x in out)
    axes = {(tasks, n): "latent axis", (n, latent): "tasks"}
    if wrong := [x.shape for x in answer if x.shape != (tasks, latent)]:
        return (_AXIS_HINT.format(shape=wrong[0], axis=axes[wrong[0]]) if wrong[0] in axes else
                f"for {tasks} tasks × N = {n} transitions, latent {latent}, mean and variance "
                f"should have shape {(tasks, latent)}, got {wrong[0]}.")
    return answer


def _same(a: tuple | str, b: tuple) -> bool:  # to float32 rounding: sums in another order
    return not isinstance(a, str) and all(np.allclose(x, y, rtol=1e-6, atol=1e-6, equal_nan=True)
                                          for x, y in zip(a, b, strict=True))


def _finite_problem(answer: tuple, mask: torch.Tensor) -> str | None:
    empty = (mask.sum(dim=1) == 0).numpy()
    bad_mean, bad_var = (~np.isfinite(x).all(axis=1) for x in answer)
    if (bad := bad_mean | bad_var).any() and not (bad & ~empty).any():
        return _PRIOR_HINT if bad_var.any() else _EMPTY_MEAN_HINT
    return None if not bad.any() else (f"inf or NaN for tasks {np.flatnonzero(bad)} of mask "
                                       f"{short(mask.numpy())}: padded entries must add 0 "
                                       f"precision (multiply the precisions by the mask).")


def _widens(fn: Pool) -> bool:
    """One task's transitions, the most precise first, given one more per row of the mask."""
    f64 = torch.float64
    variances = torch.tensor([0.05, 0.3, 1.0, 4.0, 20.0], dtype=f64)[None, :, None].expand(6, 5, 2)
    means = torch.linspace(-1, 2, 10, dtype=f64).reshape(1, 5, 2).expand(6, 5, 2)
    mask = (torch.arange(5)[None, :] < torch.arange(6)[:, None]).to(f64)
    answer = _pool_answer(fn, (means, variances, mask))
    return isinstance(answer, str) or bool(np.any(np.diff(answer[1], axis=0) > 1e-12))


def _value_problem(fn: Pool, args: tuple[torch.Tensor, ...], answer: tuple) -> str | None:
    means, variances, mask = args
    expected = tuple(x.numpy() for x in reference_pool(*args))
    if _same(answer, expected):
        return None
    full = mask.sum(dim=1).numpy() > 0
    if np.allclose(answer[1][full], 1.0 / (mask[..., None] / variances).sum(dim=1)[full]):
        return _PRIOR_HINT
    if np.allclose(answer[1], expected[1]):  # does the mean move with the variances?
        factor = torch.linspace(0.3, 3.0, variances.numel(), dtype=torch.float64)
        rescaled = _pool_answer(fn, (means, variances * factor.reshape(variances.shape), mask))
        same_mean = not isinstance(rescaled, str) and np.allclose(rescaled[0], answer[0])
        return _PLAIN_MEAN_HINT if same_mean else _MEAN_HINT
    return (f"wrong answer for {len(mask)} tasks × N = {mask.shape[1]}, mask "
            f"{short(mask.numpy())}: expected {short(expected)}, got {short(answer)}.")


def check_pool(fn: Pool) -> CheckResult:
    """Check ``fn(means, variances, mask) -> (mean, variance)`` ``(tasks, latent)``: the product
    of the masked factors ``(tasks, N, latent)`` and N(0, I), in any order, never wider."""
    what = "pool"
    with single_threaded():
        try:
            answers = []
            for args in _pool_cases():
                means, variances, mask = args
                if isinstance(answer := _pool_answer(fn, args), str):
                    return _fail(what, answer)
                perm = torch.arange(means.shape[1]).roll(1)  # the last transition first
                if not _same(_pool_answer(fn, tuple(x[:, perm] for x in args)), answer):
                    return _fail(what, _ORDER_HINT)  # the main bug: named before the others
                if problem := _finite_problem(answer, mask):
                    return _fail(what, problem)
                padded = mask[..., None] == 0
                moved = (torch.where(padded, means + 5.0, means),
                         torch.where(padded, 3.0 * variances + 0.1, variances), mask)
                if not _same(_pool_answer(fn, moved), answer):
                    return _fail(what, _MASK_HINT)
                answers.append((args, answer))
            if _widens(fn):
                return _fail(what, _WIDER_HINT)
            for args, answer in answers:
                if problem := _value_problem(fn, args, answer):
                    return _fail(what, problem)
        except Exception as error:  # the learner's bug, reported rather than raised
            return report_failure(what, error)
    return CheckResult(True, f"✅ {what}: the product of Gaussians on all {len(_POOL_CASES)} "
                             f"cases (no transitions: the prior), the same for every order of "
                             f"the transitions, never wider for one more.")


# -- exercise 2: generated weights that stay in the graph ---------------------------------------

PolicyMean = Callable[[torch.Tensor, nn.Module, torch.Tensor], torch.Tensor]

_FIX = ("cut flat with torch.split(flat, sizes) in named_parameters() order, build params = "
        "{name: piece.reshape(p.shape)} and return torch.func.functional_call(target, params, "
        "(observations,)).")
_COPY_HINT = ("you copy flat's numbers into the target's Parameters (p.data.copy_, copy_ under "
              "torch.no_grad, load_state_dict, = nn.Parameter(...)): the output comes from those "
              "Parameters, leaves of their own, so the gradient stops there and never reaches "
              "flat or the hypernetwork — the seed article's set_params(params) then "
              "loss.backward(): its meta-policy never learns. Leave them alone: " + _FIX)
_DETACH_HINT = ("flat gets no gradient from your output: the graph is cut (.detach(), .data, "
                ".item(), torch.tensor(flat.tolist()), nn.Parameter(piece), torch.no_grad()), "
                "the hypernetwork could not learn. Keep the pieces views of flat: " + _FIX)
_OWN_HINT = "flat is not used: you return the target's own policy (its own Parameters); " + _FIX
_CUT_HINT = ("they are cut from the graph (detach, .data, a new tensor). Keep every piece a "
             "view of flat: " + _FIX)
_WEIGHT_HINT = ("a weight is filled in the wrong order: nn.Linear's weight is (out, in), "
                "row-major — piece.reshape(p.shape), not piece.reshape(in, out).T.")
_PIECE_ORDER_HINT = ("the pieces are taken in another order than target.named_parameters() "
                     "(sorted by name? biases first?): flat holds them in that order.")
_SIDE_EFFECT_HINT = ("right values and gradient, but your call changed the target's parameters, "
                     "a side effect every later use of target would see: do not write into it.")
_POLICY_CASES = [((8,), (6,)), ((3, 5), (2, 3))]  # (hidden, leading shape of observations)


def _cut(flat: torch.Tensor, named: list[tuple[str, torch.Tensor]], order: tuple[int, ...],
         transposed: bool = False) -> Params:
    """``flat`` cut into ``named``'s pieces taken in ``order``; ``transposed``: the mistake."""
    params, pieces = {}, torch.split(flat, [named[i][1].numel() for i in order])
    for i, piece in zip(order, pieces, strict=True):
        name, shape = named[i][0], tuple(named[i][1].shape)
        wrong = transposed and len(shape) == 2  # reshape(in, out).T
        params[name] = piece.reshape(shape[::-1]).T if wrong else piece.reshape(shape)
    return params


def _value_mistake(got: torch.Tensor, flat: torch.Tensor, target: nn.Module,
                   observations: torch.Tensor) -> str | None:
    named = list(target.named_parameters())
    identity = tuple(range(len(named)))  # every other order, and the weights transposed
    for order, transposed in itertools.product(itertools.permutations(identity), (False, True)):
        out = functional_call(target, _cut(flat, named, order, transposed), (observations,))
        if (order, transposed) != (identity, False) and tensors_close(got, out):
            return _WEIGHT_HINT if order == identity else _PIECE_ORDER_HINT
    return None


def _gradient(out: torch.Tensor, flat: torch.Tensor, weights: torch.Tensor) -> torch.Tensor | None:
    if not out.requires_grad:
        return None
    grad = torch.autograd.grad((out * weights).sum(), flat, allow_unused=True)[0]
    return None if grad is None or not grad.any() else grad


def _mutated(target: nn.Module, before: dict[str, torch.Tensor]) -> bool:
    after = {name: p.detach() for name, p in target.named_parameters()}
    return after.keys() != before.keys() or not all(torch.equal(after[name], p)
                                                    for name, p in before.items())


def _policy_problem(fn: PolicyMean, hidden: tuple[int, ...], lead: tuple[int, ...]) -> str | None:
    target = NavigationPolicy(hidden).double()
    before = {name: p.detach().clone() for name, p in target.named_parameters()}
    pristine = copy.deepcopy(target)
    named = list(pristine.named_parameters())
    sizes = [p.numel() for _, p in named]
    flat = torch.randn(sum(sizes), dtype=torch.float64, requires_grad=True)
    observations = torch.randn(*lead, 2, dtype=torch.float64)
    expected = functional_call(pristine, _cut(flat, named, tuple(range(len(named)))),
                               (observations,))
    weights = torch.randn(expected.shape, dtype=torch.float64)
    expected_grad = _gradient(expected, flat, weights)
    out = fn(flat, target, observations.clone())
    if not isinstance(out, torch.Tensor):
        return f"return the mean actions as a torch tensor (in the graph), got {type(out)}."
    if out.shape != expected.shape:
        return f"the mean actions must have shape {tuple(expected.shape)}, not {tuple(out.shape)}."
    values_ok = tensors_close(out.detach(), expected.detach())
    grad, mutated = _gradient(out, flat, weights), _mutated(target, before)
    if grad is None:  # copying mutates the target too: named first, as the cause
        right = "the values are right, but " if values_ok else ""
        own = tensors_close(out.detach(), pristine(observations).detach())
        return right + _COPY_HINT if mutated else _OWN_HINT if own else right + _DETACH_HINT
    if not values_ok:
        return _value_mistake(out.detach(), flat.detach(), pristine, observations) or (
            f"wrong mean actions for hidden = {hidden} (largest difference "
            f"{(out.detach() - expected.detach()).abs().max():.3g}): " + _FIX)
    if not tensors_close(grad, expected_grad):
        cut = [name for (name, _), g, e in zip(named, grad.split(sizes),
                                               expected_grad.split(sizes), strict=True)
               if e.any() and not g.any()]
        return (f"right values, but the gradient does not reach the pieces of flat for {cut}: "
                + _CUT_HINT if cut else "right values, but flat's gradient is not the exact one.")
    return _SIDE_EFFECT_HINT if mutated else None


def check_policy_mean(fn: PolicyMean) -> CheckResult:
    """Check ``fn(flat, target, observations) -> mean actions``: ``flat`` cut into ``target``'s
    parameters for ``functional_call``, so a loss has a gradient for ``flat``; target unchanged."""
    what = "policy_mean"
    with single_threaded(), torch.random.fork_rng(devices=[]):
        for seed, (hidden, lead) in enumerate(_POLICY_CASES):
            torch.manual_seed(seed)
            try:
                problem = _policy_problem(fn, hidden, lead)
            except Exception as error:  # the learner's bug, reported rather than raised
                return report_failure(what, error)
            if problem:
                return _fail(what, problem)
    return CheckResult(True, f"✅ {what}: the mean actions of functional_call on both policies, "
                             f"the exact gradient with respect to flat, the target untouched.")
