"""Checkers for the A3C chapter's two exercises: n-step returns and a Hogwild worker's update.

:func:`check_n_step_returns` compares the learner's n-step returns with
:func:`mini_lib.policy_gradient.advantages.n_step_returns` on rollouts with terminals and
truncations; :func:`check_worker_update` runs a worker's update four times, another worker
changing the shared weights in between, against one plain-SGD step at the freshly pulled
weights. Both name the typical mistakes (listed with their hints below) and return a
:class:`~mini_lib.exercises.kit.CheckResult`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn.utils import parameters_to_vector, vector_to_parameters

from mini_lib.exercises.kit import CheckResult, as_array, report_failure, short, single_threaded
from mini_lib.policy_gradient.advantages import n_step_returns as reference_n_step_returns

__all__ = ["check_n_step_returns", "check_worker_update"]


# -- exercise: n-step returns ------------------------------------------------------------------

# (T, terminated steps, truncated steps, gamma, n, what the case tests)
_LAYOUTS: tuple[tuple[int, tuple[int, ...], tuple[int, ...], float, int, str], ...] = (
    (6, (), (), 0.9, 3, "no episode end (windows of n steps, cut by the rollout end)"),
    (7, (3,), (), 0.9, 3, "a terminal in the middle"),
    (7, (), (2,), 0.9, 3, "a truncation (time limit) in the middle"),
    (9, (2,), (6,), 0.5, 4, "a terminal and a truncation"),
    (6, (1,), (4,), 0.9, 1, "n = 1 (the TD target)"),
    (6, (2,), (), 0.9, 6, "n = T (Monte Carlo, bootstrapped at the rollout end)"),
    (5, (), (1,), 0.99, 10, "n > T (Monte Carlo, bootstrapped at the rollout end)"),
    (5, (2,), (), 0.0, 3, "gamma = 0"),
    (6, (4,), (1,), 1.0, 3, "gamma = 1"),
    (5, (0, 4), (), 0.9, 2, "terminals at the first and the last step"),
    (5, (0,), (4,), 0.9, 3, "a truncation at the last step"),
    (6, (1,), (2,), 0.9, 3, "a terminal and a truncation one after the other"),
)
#: rewards, next_values, terminated, truncated, gamma, n, description
_Case = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float, int, str]


def _nstep_cases() -> list[_Case]:
    """Rewards in multiples of 1/4, values in multiples of 1/2 (exact in float32)."""
    rng = np.random.default_rng(4)
    cases = []
    for T, term_at, trunc_at, gamma, n, note in _LAYOUTS:
        rewards = (rng.integers(-4, 9, size=T) / 4).astype(np.float32)
        values = (rng.integers(1, 11, size=T) / 2).astype(np.float32)
        steps = np.arange(T)
        cases.append((rewards, values, np.isin(steps, term_at), np.isin(steps, trunc_at),
                      gamma, n, note))
    return cases


def _window(r: np.ndarray, v: np.ndarray, term: np.ndarray, trunc: np.ndarray, g: float,
            n: int, stop: str = "ended", mask: str = "terminated", power: int = 0,
            value_at: str = "end", rollout_end: str = "stop") -> np.ndarray:
    """n-step returns with optional typical slips: ``stop`` (the flags that end a window),
    ``mask`` (those that cancel the bootstrap), ``power`` (added to the bootstrap's exponent),
    ``value_at`` ("end", "t" or "t-1") and ``rollout_end`` ("stop", "wrap", "no bootstrap")."""
    T = r.size
    flags = {"ended": term | trunc, "terminated": term, "none": np.zeros(T, dtype=bool)}
    out = np.zeros(T)
    for t in range(T):
        total, m, last = 0.0, 0, t
        while m < n and (t + m < T or rollout_end == "wrap"):
            last = (t + m) % T
            total += g ** m * float(r[last])
            m += 1
            if flags[stop][last]:
                break
        cut = m < n and not flags[stop][last]  # by the rollout end
        index = {"end": last, "t": t, "t-1": t - 1}[value_at]
        if not flags[mask][last] and not (cut and rollout_end == "no bootstrap"):
            total += g ** (m + power) * float(v[index])
        out[t] = total
    return out


#: (the slips of :func:`_window` that make the mistake, its hint)
_NSTEP_MISTAKES: list[tuple[tuple[dict[str, Any], ...], str]] = [
    (({"mask": "none"},),
     "you bootstrap through a terminal state: a step that terminated has no next state, its "
     "value counts 0 — multiply the bootstrap by (1 − terminated)."),
    (({"mask": "ended"},),
     "you treat a truncated step as terminal: a time limit cut the episode, but its final "
     "observation still has a value — bootstrap from next_values there; only terminated "
     "cancels the bootstrap."),
    (({"stop": "none"}, {"stop": "none", "mask": "none"}),
     "your window runs across the end of an episode and sums the next episode's rewards: "
     "stop at the first step where terminated or truncated is True."),
    (({"stop": "terminated"},),
     "your window runs across a truncation into the next episode: a truncated step also ends "
     "the episode — stop there and bootstrap from its next_values."),
    (({"power": -1}, {"power": 1}),
     "the bootstrap's discount is off by one: after m rewards, weighted γ^0 … γ^(m−1), the "
     "value V(s_{t+m}) gets γ^m."),
    (({"value_at": "t"}, {"value_at": "t-1"}),
     "you bootstrap from the value where the window *starts* (V(s_t), or next_values[t] = "
     "V(s_{t+1})); it must be the value where it ends, V(s_{t+m}) = next_values[t + m − 1]."),
    (({"rollout_end": "wrap"}, {"rollout_end": "wrap", "stop": "none"}),
     "at the end of the rollout your window wraps around to its start (% T, torch.roll or a "
     "negative index): stop at the last step, T − 1, and bootstrap from next_values[T − 1]."),
    (({"rollout_end": "no bootstrap"},),
     "at the end of the rollout the window is cut short but the episode goes on: bootstrap "
     "from next_values[T − 1] (with γ^m) — only a terminal cancels the bootstrap."),
]


def _failure(what: str, error: Exception, causes: dict[str, str]) -> CheckResult:
    """:func:`report_failure`, plus the likely cause when the error's text names it."""
    message = report_failure(what, error).message
    known = [cause for key, cause in causes.items() if key in f"{type(error).__name__} {error}"]
    return CheckResult(False, f"{message} — {known[0]}" if known else message)


def _close(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=1e-5, atol=1e-5))


def check_n_step_returns(fn: Callable[..., Any]) -> CheckResult:
    """Check ``fn(rewards, next_values, terminated, truncated, gamma, n) -> G`` for one
    rollout: ``G_t = Σ_{k<m} γ^k r_{t+k+1} + γ^m (1 − terminated) V(s_{t+m})``, the window of
    ``m ≤ n`` steps stopping at an episode end or the rollout end. The answer may be a
    tensor, a NumPy array or a list with one value per step."""
    what, cases, answers = "n_step_returns", _nstep_cases(), []
    for r, v, term, trunc, g, n, _ in cases:
        try:  # fresh tensors each call: in-place edits can't leak into the next case
            with single_threaded():
                got = as_array(fn(torch.tensor(r), torch.tensor(v), torch.tensor(term),
                                  torch.tensor(trunc), g, n))
        except Exception as error:  # the learner's bug, reported rather than raised
            return _failure(what, error, {
                "IndexError": "the window must stop at the end of the rollout: m ≤ T − t, so "
                              "the last index you read is T − 1.",
                "bool tensor": "terminated and truncated are bool tensors (as Gymnasium gives "
                        "them): use ~terminated or terminated.float()."})
        if got.shape != r.shape:
            return CheckResult(False, f"❌ {what}: for a rollout of {r.size} steps the answer "
                                      f"should have shape ({r.size},), one G_t per step, got "
                                      f"shape {got.shape}.")
        answers.append(got)
    expected = [reference_n_step_returns(r.astype(float), v.astype(float), term, trunc, g,
                                         n).numpy() for r, v, term, trunc, g, n, _ in cases]
    wrong = [i for i, (got, G) in enumerate(zip(answers, expected, strict=True))
             if not _close(got, G)]
    if not wrong:
        return CheckResult(True, f"✅ {what}: correct on all {len(cases)} test cases.")
    for variants, hint in _NSTEP_MISTAKES:
        if any(all(_close(got, _window(*case[:6], **slips))
                   for case, got in zip(cases, answers, strict=True)) for slips in variants):
            return CheckResult(False, f"❌ {what}: {hint}")
    r, v, term, trunc, g, n, note = cases[wrong[0]]
    return CheckResult(False, f"❌ {what}: wrong answer for {note}: rewards={short(r)}, "
                              f"next_values={short(v)}, terminated at "
                              f"{np.flatnonzero(term).tolist()}, truncated at "
                              f"{np.flatnonzero(trunc).tolist()}, gamma={g}, n={n}: expected "
                              f"{short(expected[wrong[0]])}, got {short(answers[wrong[0]])}.")


# -- exercise: a Hogwild worker's update -------------------------------------------------------

_LR, _N_CALLS = 0.1, 4
_PULL_HINT = ("you don't pull fresh weights: the loss is computed on stale local weights while "
              "other workers move the shared model — start every call with "
              "local.load_state_dict(shared.state_dict()).")
_PULL_AFTER_HINT = ("you pull the shared weights too late (after the loss, its backward or the "
                    "step): load_state_dict first, then the loss and its backward.")
_ZERO_HINT = ("the local gradients accumulate from call to call: clear them before the "
              "backward (local.zero_grad()). optimizer.zero_grad() is not enough — it sets the "
              "*shared* grads to None and never touches the local ones.")
_LINK_HINT = ("you link the gradients to the shared parameters only once (e.g. `if "
              "shared_param.grad is not None: return`): once zero_grad has set the local or "
              "shared grads to None, the shared model steps with an old gradient or not at "
              "all — set shared_param.grad = param.grad on every call.")
_LOCAL_STEP_HINT = ("the shared parameters never move: you update the local model (a local "
                    "optimizer or local params -= …) — hand the local gradients to the shared "
                    "parameters' .grad and step the optimizer you are given.")
_NO_GRAD_HINT = ("the shared parameters never move: they have no .grad when optimizer.step() "
                 "runs — after the local backward set shared_param.grad = param.grad (or a "
                 "copy) for every pair of parameters.")
#: (description, model builder, seed): local and shared get different initial weights
_MODELS: tuple[tuple[str, Callable[[], nn.Module], int], ...] = (
    ("a linear layer 3 → 2", lambda: nn.Linear(3, 2), 0),
    ("a 2 → 4 → 1 tanh network",
     lambda: nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 1)), 1),
)
WorkerUpdate = Callable[[nn.Module, nn.Module, torch.optim.Optimizer,
                         Callable[[nn.Module], torch.Tensor]], Any]


def _simulate(mode: str, grad: Callable[[torch.Tensor], torch.Tensor], theta: torch.Tensor,
              local: torch.Tensor, deltas: list[torch.Tensor]) -> list[torch.Tensor]:
    """The shared parameters after each call, for the correct update or one typical bug."""
    out, acc, first = [], torch.zeros_like(theta), None
    for delta in deltas:
        theta = theta + delta
        g = grad(local if mode.startswith(("never", "pull")) else theta)
        if mode == "accumulate":
            g = acc = acc + g
        elif mode == "first gradient":
            g = first = g if first is None else first
        elif mode.startswith("pull"):  # after the backward, or at the end of the call
            local = theta if mode == "pull after backward" else theta - _LR * g
        theta = theta - _LR * g
        out.append(theta)
    return out


def check_worker_update(fn: WorkerUpdate) -> CheckResult:
    """Check ``fn(local, shared, optimizer, loss_fn)``: pull the shared weights into
    ``local``, clear its grads, backward ``loss_fn(local)``, hand every local gradient to the
    shared parameter's ``.grad`` and ``optimizer.step()`` (it holds ``shared.parameters()``)."""
    with single_threaded(), torch.random.fork_rng():  # the learner's RNG state is kept
        for description, build, seed in _MODELS:
            result = _check_worker_case(fn, description, build, seed)
            if not result.passed:
                return result
    return CheckResult(True, f"✅ worker_update: one SGD step at the freshly pulled weights on "
                             f"each of {_N_CALLS} calls, in all {len(_MODELS)} test cases.")


def _flat(model: nn.Module) -> torch.Tensor:
    return parameters_to_vector(model.parameters()).detach().clone()


def _same(a: list[torch.Tensor], b: list[torch.Tensor]) -> bool:
    return all(torch.allclose(p, q, rtol=1e-7, atol=1e-9) for p, q in zip(a, b, strict=True))


def _check_worker_case(fn: WorkerUpdate, description: str, build: Callable[[], nn.Module],
                       seed: int) -> CheckResult:
    what = "worker_update"
    torch.manual_seed(seed)
    shared, local = build().double(), build().double()
    x = torch.randn(8, next(shared.parameters()).shape[1], dtype=torch.float64)
    with torch.no_grad():
        y = torch.randn_like(shared(x))
    deltas = [[0.3 * torch.randn_like(p) for p in shared.parameters()] for _ in range(_N_CALLS)]
    scratch, called_with = copy.deepcopy(shared), []

    def loss_fn(model: nn.Module) -> torch.Tensor:
        if model is not scratch:
            called_with.append(model)
        return ((model(x) - y) ** 2).mean()

    def grad(weights: torch.Tensor) -> torch.Tensor:
        vector_to_parameters(weights, scratch.parameters())
        return parameters_to_vector(torch.autograd.grad(loss_fn(scratch),
                                                        list(scratch.parameters())))

    theta0, local0 = _flat(shared), _flat(local)
    optimizer = torch.optim.SGD(shared.parameters(), lr=_LR)
    before, after, local_after = [], [], []
    for delta in deltas:
        with torch.no_grad():  # another worker changes the shared weights
            for p, d in zip(shared.parameters(), delta, strict=True):
                p.add_(d)
        before.append(_flat(shared))
        try:
            fn(local, shared, optimizer, loss_fn)
        except Exception as error:  # the learner's bug, reported rather than raised
            return _failure(what, error, {"inplace operation": _PULL_AFTER_HINT})
        after.append(_flat(shared))
        local_after.append(_flat(local))

    if not called_with:
        return CheckResult(False, f"❌ {what}: loss_fn was never called: backward loss_fn(local).")
    if any(model is shared for model in called_with):
        return CheckResult(False, f"❌ {what}: you compute the loss on the shared model: each "
                                  f"worker runs loss_fn(local) and its backward on its own "
                                  f"copy, and hands only the gradient to the shared model.")

    def trajectory(mode: str) -> list[torch.Tensor]:
        return _simulate(mode, grad, theta0, local0, [parameters_to_vector(d) for d in deltas])

    expected, pulled = trajectory("correct"), _same(local_after, before)
    if _same(after, expected):
        return CheckResult(True, f"✅ {what}: correct for {description}.")
    if _same(after, before):
        return CheckResult(False, f"❌ {what}: {_NO_GRAD_HINT if pulled else _LOCAL_STEP_HINT}")
    if _same(after[1:], before[1:]) or (pulled and _same(after, trajectory("first gradient"))):
        return CheckResult(False, f"❌ {what}: {_LINK_HINT}")
    for mode, hint in [("accumulate", _ZERO_HINT), ("first gradient", _PULL_HINT),
                       ("never pull", _PULL_HINT), ("pull after backward", _PULL_AFTER_HINT),
                       ("pull at the end", _PULL_AFTER_HINT)]:
        if _same(after, trajectory(mode)):
            return CheckResult(False, f"❌ {what}: {hint}")
    k = next(i for i in range(_N_CALLS) if not _same(after[i:i + 1], expected[i:i + 1]))
    gap = float((after[k] - expected[k]).abs().max())
    return CheckResult(False, f"❌ {what}: for {description}, after call {k + 1} of {_N_CALLS} "
                              f"the shared parameters are not one SGD step at the gradient of "
                              f"the freshly pulled weights (largest difference {gap:.3g}).")
