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
from mini_lib.tabular import epsilon_greedy_probs, q_learning_update

__all__ = [
    "CheckResult",
    "check_bellman_backup",
    "check_discounted_return",
    "check_epsilon_greedy",
    "check_q_learning_update",
]


@dataclass(frozen=True)
class CheckResult:
    """Outcome of a checker: ``passed`` and a message for the learner."""

    passed: bool
    message: str

    def __bool__(self) -> bool:
        return self.passed

    def __repr__(self) -> str:
        return self.message


def _failure(what: str, error: Exception) -> CheckResult:
    """What to tell a learner whose function raised ``error`` (a stub says so kindly)."""
    if isinstance(error, NotImplementedError):
        return CheckResult(False, f"⏳ {what}: not implemented yet — fill in the cell above.")
    return CheckResult(False, f"❌ {what} raised {type(error).__name__}: {error}")


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
        except Exception as error:  # the learner's bug, reported rather than raised
            return _failure(what, error)
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


# -- chapter 01, exercise: one Q-learning update -----------------------------------------------

def _q_update_case(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Call an update ``fn(Q, s, a, r, s_next, terminated, alpha, gamma)`` on a *copy* of Q and
    return the updated table (whether ``fn`` updates in place or returns a new table)."""
    def run(Q, s, a, r, s_next, terminated, alpha, gamma):
        table = np.array(Q, dtype=float)
        returned = fn(table, s, a, r, s_next, terminated, alpha, gamma)
        return table if returned is None else returned
    return run


def _q_update_mistake(target: Callable[..., float]) -> Callable[..., Any]:
    def update(Q, s, a, r, s_next, terminated, alpha, gamma):
        Q[s, a] += alpha * (target(Q, s, a, r, s_next, terminated, gamma) - Q[s, a])
    return update


def check_q_learning_update(fn: Callable[..., Any]) -> CheckResult:
    """Check ``fn(Q, s, a, r, s_next, terminated, alpha, gamma)``, the tabular Q-learning update
    ``Q[s,a] += α (r + γ max_a' Q[s_next, a'] − Q[s,a])``, with no bootstrap when terminated."""
    rng = np.random.default_rng(7)
    cases = []
    for n_states, n_actions in [(5, 3), (6, 4), (3, 2)]:
        for terminated in (False, True):
            for alpha, gamma in [(0.5, 0.9), (0.1, 1.0), (1.0, 0.0)]:
                Q = rng.normal(size=(n_states, n_actions)).round(2)
                s, s_next = rng.integers(n_states, size=2)
                a, r = int(rng.integers(n_actions)), round(float(rng.normal()), 2)
                args = (Q, int(s), a, r, int(s_next), terminated, alpha, gamma)
                expected = _q_update_case(q_learning_update)(*args)
                cases.append((args, expected, f"a {n_states}×{n_actions} table, s={s}, a={a}, "
                                              f"r={r}, s_next={s_next}, terminated="
                                              f"{terminated}, alpha={alpha}, gamma={gamma}"))
    m = _q_update_mistake
    mistakes = [
        (m(lambda Q, s, a, r, sn, t, g: r + g * Q[sn].max()),
         "you bootstrap from a terminal state: after termination there is no future, so the "
         "target is just r."),
        (m(lambda Q, s, a, r, sn, t, g: r if t else r + g * Q[:, a].max()),
         "the max is over the wrong axis: take the max over *actions* in the next state, "
         "Q[s_next].max() — not over states."),
        (m(lambda Q, s, a, r, sn, t, g: r if t else r + g * Q.max(axis=1)[a]),
         "the max is over the right axis but for the wrong row: use the next state's row, "
         "Q[s_next]."),
        (m(lambda Q, s, a, r, sn, t, g: r if t else r + g * Q[s].max()),
         "you bootstrap from the *current* state s; the target looks one step ahead, at s_next."),
        (m(lambda Q, s, a, r, sn, t, g: r if t else r + g * Q[sn, a]),
         "you use Q[s_next, a] (the same action again); Q-learning takes the max over the next "
         "state's actions."),
        (m(lambda Q, s, a, r, sn, t, g: r if t else r + Q[sn].max()),
         "the next-state value is not discounted by γ."),
        (lambda Q, s, a, r, sn, t, alpha, g: Q.__setitem__(
            (s, a), r if t else r + g * Q[sn].max()),
         "you overwrite Q[s, a] with the target; move it only a step α towards the target."),
    ]
    learner = _q_update_case(fn)
    wrapped = [(_q_update_case(f), hint) for f, hint in mistakes]
    return _run_cases(learner, cases, wrapped, "q_learning_update")


# -- chapter 01, exercise: ε-greedy with random tie-breaking ----------------------------------

def _epsilon_greedy_mistakes() -> list[tuple[Callable[[np.ndarray, float], np.ndarray], str]]:
    """Exact action distributions of typical wrong ε-greedy implementations."""
    def first_argmax(q, eps):
        p = np.full(q.size, eps / q.size)
        p[np.argmax(q)] += 1 - eps
        return p

    def explore_non_greedy(q, eps):
        ties = q == q.max()
        p = (1 - eps) * ties / ties.sum()
        if (~ties).any():
            p = p + eps * ~ties / (~ties).sum()
        else:
            p = p + eps * ties / ties.sum()
        return p

    def flipped(q, eps):
        return epsilon_greedy_probs(q, 1 - eps)

    def always_greedy(q, eps):
        ties = q == q.max()
        return ties / ties.sum()

    return [
        (first_argmax, "ties are always broken towards the first action (np.argmax returns the "
                       "lowest index): pick uniformly at random among the tied best actions."),
        (always_greedy, "the agent never explores: with probability ε pick a uniformly random "
                        "action."),
        (flipped, "ε and 1 − ε are swapped: explore with probability ε, act greedily with "
                  "probability 1 − ε."),
        (explore_non_greedy, "when exploring you exclude the greedy action(s); the random action "
                             "is uniform over *all* actions."),
    ]


def check_epsilon_greedy(fn: Callable[[np.ndarray, float, np.random.Generator], int],
                         n_samples: int = 4000) -> CheckResult:
    """Check ``fn(q_values, epsilon, rng) -> action`` by sampling: the frequencies of its
    actions must match ε-greedy with random tie-breaking (5 standard errors)."""
    what = "epsilon_greedy"
    cases = [(np.zeros(4), 0.0), (np.array([1.0, 3.0, 3.0, 2.0]), 0.2),
             (np.array([5.0, 1.0, 2.0]), 1.0), (np.array([0.0, 1.0]), 0.1),
             (np.array([2.0, 2.0, 2.0]), 0.3)]
    rng = np.random.default_rng(11)
    frequencies = []
    for q, eps in cases:
        counts = np.zeros(q.size)
        for _ in range(n_samples):
            try:
                action = fn(q.copy(), eps, rng)
            except Exception as error:  # the learner's bug, reported rather than raised
                return _failure(what, error)
            if not isinstance(action, int | np.integer) or not 0 <= action < q.size:
                return CheckResult(False, f"❌ {what}: must return an action index in "
                                          f"[0, {q.size - 1}], got {action!r}.")
            counts[action] += 1
        frequencies.append(counts / n_samples)

    def agrees(probs_of: Callable[[np.ndarray, float], np.ndarray]) -> list[bool]:
        out = []
        for (q, eps), freq in zip(cases, frequencies, strict=True):
            p = probs_of(q, eps)
            tolerance = 5 * np.sqrt(p * (1 - p) / n_samples) + 1e-3
            out.append(bool(np.all(np.abs(freq - p) <= tolerance)))
        return out

    ok = agrees(epsilon_greedy_probs)
    if all(ok):
        return CheckResult(True, f"✅ {what}: action frequencies match ε-greedy with random "
                                 f"tie-breaking in all {len(cases)} test cases.")
    for probs_of, hint in _epsilon_greedy_mistakes():
        if all(agrees(probs_of)):
            return CheckResult(False, f"❌ {what}: {hint}")
    (q, eps), freq = next((c, f) for c, f, good in zip(cases, frequencies, ok, strict=True)
                          if not good)
    return CheckResult(False, f"❌ {what}: for q={_short(q)}, epsilon={eps} the action "
                              f"frequencies were {_short(freq)}, expected "
                              f"{_short(epsilon_greedy_probs(q, eps))}.")

