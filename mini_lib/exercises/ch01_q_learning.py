"""Chapter 01's exercises: one Q-learning update and ε-greedy with random tie-breaking.

Each checker returns a :class:`~mini_lib.exercises.kit.CheckResult`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from mini_lib.exercises.kit import CheckResult, report_failure, run_cases, short
from mini_lib.tabular.td_control import epsilon_greedy_probs, q_learning_update

__all__ = ["check_epsilon_greedy", "check_q_learning_update"]


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
    return run_cases(learner, cases, wrapped, "q_learning_update")


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
                return report_failure(what, error)
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
    return CheckResult(False, f"❌ {what}: for q={short(q)}, epsilon={eps} the action "
                              f"frequencies were {short(freq)}, expected "
                              f"{short(epsilon_greedy_probs(q, eps))}.")
