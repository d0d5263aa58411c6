"""Checkers that tell a learner whether their implementation is right, and if not, why.

Each checker runs the learner's function on a handful of cases, compares with the reference
implementation, and, when the answers match a *known typical mistake*, names that mistake.
A checker returns a :class:`CheckResult`; shown as the last line of a cell it prints its
message.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from mini_lib.dynamic_programming import bellman_backup
from mini_lib.returns import discounted_return

__all__ = ["CheckResult", "check_bellman_backup", "check_discounted_return"]


@dataclass(frozen=True)
class CheckResult:
    """Outcome of a checker: ``passed`` and a message for the learner."""

    passed: bool
    message: str

    def __bool__(self) -> bool:
        return self.passed

    def __repr__(self) -> str:
        return self.message


def _run_cases(
    learner: Callable[..., Any],
    cases: list[tuple[tuple, Any, str]],
    mistakes: list[tuple[Callable[..., Any], str]],
    what: str,
) -> CheckResult:
    """Compare ``learner(*args)`` with the expected answers; diagnose known mistakes."""
    failed: tuple[str, Any, Any] | None = None
    for args, expected, description in cases:
        try:
            got = learner(*args)
        except NotImplementedError:
            return CheckResult(False, f"⏳ {what}: not implemented yet — fill in the cell above.")
        except Exception as error:  # the learner's bug, reported rather than raised
            return CheckResult(False, f"❌ {what} raised {type(error).__name__}: {error}")
        got_array = np.asarray(got, dtype=float)
        if got_array.shape != np.shape(expected):
            return CheckResult(False, f"❌ {what}: for {description} the answer should have "
                                      f"shape {np.shape(expected)}, got shape {got_array.shape}.")
        if not np.allclose(got_array, expected, atol=1e-8):
            failed = (description, expected, got)
            break
    if failed is None:
        return CheckResult(True, f"✅ {what}: correct on all {len(cases)} test cases.")

    for mistake, hint in mistakes:
        if all(_matches(mistake, learner, args) for args, _, _ in cases):
            return CheckResult(False, f"❌ {what}: {hint}")
    description, expected, got = failed
    return CheckResult(False, f"❌ {what}: wrong answer for {description}: expected "
                              f"{_short(expected)}, got {_short(got)}.")


def _matches(mistake: Callable[..., Any], learner: Callable[..., Any], args: tuple) -> bool:
    try:
        a = np.asarray(mistake(*args), dtype=float)
        b = np.asarray(learner(*args), dtype=float)
    except Exception:
        return False
    return a.shape == b.shape and np.allclose(a, b, atol=1e-8)


def _short(x: Any) -> str:
    """A compact, rounded rendering of a test input or answer."""
    if isinstance(x, tuple):
        text = "(" + ", ".join(_short(v) for v in x) + ")"
    elif isinstance(x, float | np.floating):
        text = f"{x:.4g}"
    elif isinstance(x, np.ndarray | list):
        text = np.array2string(np.asarray(x, dtype=float), precision=3, separator=", ",
                               threshold=12)
    else:
        text = repr(x)
    return text if len(text) < 200 else text[:200] + "…"


# -- exercise: discounted return ---------------------------------------------------------------

def check_discounted_return(fn: Callable[[list[float], float], float]) -> CheckResult:
    """Check ``fn(rewards, gamma) -> G_0 = Σ_k γ^k r_{k+1}``."""
    sequences = [[1.0], [0.0, 0.0, 1.0], [1.0, 2.0, 3.0, 4.0], [-1.0] * 10, [5.0, -2.0, 0.5],
                 []]
    gammas = [0.0, 0.5, 0.9, 1.0]
    cases = [((list(r), g), discounted_return(r, g), f"rewards={r}, gamma={g}")
             for r in sequences for g in gammas]
    mistakes = [
        (lambda r, g: float(np.sum(r)), "you ignore γ: the rewards must be discounted."),
        (lambda r, g: float(np.sum(np.asarray(r) * g ** np.arange(1, len(r) + 1))),
         "discounting starts one step too early: the first reward gets weight γ⁰ = 1, not γ."),
        (lambda r, g: float(np.sum(np.asarray(r) * g ** np.arange(len(r))[::-1])),
         "the weights are reversed: the *first* reward gets γ⁰, the last gets γ^(T−1)."),
        (lambda r, g: float(np.sum(r) * g ** max(len(r) - 1, 0)),
         "you discount every reward by the same factor; reward k gets its own weight γ^k."),
    ]
    return _run_cases(fn, cases, mistakes, "discounted_return")


# -- exercise: one Bellman optimality backup ---------------------------------------------------

def _reference_backup(P: np.ndarray, R: np.ndarray, V: np.ndarray, gamma: float) -> np.ndarray:
    return bellman_backup(P, R, V, gamma).max(axis=1)


def _random_mdp(rng: np.random.Generator, n_states: int, n_actions: int):
    P = rng.random((n_states, n_actions, n_states)) ** 3
    P /= P.sum(axis=2, keepdims=True)
    R = rng.normal(size=(n_states, n_actions))
    V = rng.normal(size=n_states)
    return P, R, V


def check_bellman_backup(
    fn: Callable[[np.ndarray, np.ndarray, np.ndarray, float], np.ndarray],
) -> CheckResult:
    """Check ``fn(P, R, V, gamma) -> V_new[s] = max_a (R[s,a] + γ Σ_s' P[s,a,s'] V[s'])``."""
    rng = np.random.default_rng(2024)
    cases = []
    for n_states, n_actions in [(4, 4), (5, 3), (3, 2), (6, 6)]:
        P, R, V = _random_mdp(rng, n_states, n_actions)
        for gamma in (0.0, 0.9, 1.0):
            cases.append(((P, R, V, gamma), _reference_backup(P, R, V, gamma),
                          f"a random MDP with {n_states} states, {n_actions} actions, "
                          f"gamma={gamma}"))
    mistakes = [
        (lambda P, R, V, g: (R + g * (P @ V)).max(axis=0),
         "the max is over the wrong axis: take the max over *actions* (axis 1), one value per "
         "state."),
        (lambda P, R, V, g: (R + g * (P @ V)).mean(axis=1),
         "you average over actions (that evaluates the uniform random policy); the optimality "
         "backup takes the max."),
        (lambda P, R, V, g: (R + (P @ V)).max(axis=1),
         "the next-state value is not discounted by γ."),
        (lambda P, R, V, g: (g * (P @ V)).max(axis=1), "the immediate reward R[s, a] is missing."),
        (lambda P, R, V, g: (R + g * np.einsum("sat,s->sa", P, V)).max(axis=1),
         "P @ V must sum over the *next* state s' (the last axis of P), not the current one."),
        (lambda P, R, V, g: (R + g * (P @ V)).min(axis=1),
         "use max, not min: we want the best action."),
    ]
    return _run_cases(fn, cases, mistakes, "bellman_backup")
