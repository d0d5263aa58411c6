"""Chapter 00's exercises: the discounted return and one Bellman optimality backup.

Each checker returns a :class:`~mini_lib.exercises.kit.CheckResult`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from mini_lib.exercises.kit import CheckResult, run_cases
from mini_lib.returns import discounted_return
from mini_lib.tabular.dynamic_programming import bellman_backup

__all__ = ["check_bellman_backup", "check_discounted_return"]


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
    return run_cases(fn, cases, mistakes, "discounted_return")


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
    return run_cases(fn, cases, mistakes, "bellman_backup")
