r"""Dynamic programming on a known model: the ground truth for every tabular chapter.

Value iteration repeats the Bellman optimality backup

.. math:: V_{k+1}(s) = \max_a \Big[ R(s,a) + \gamma \sum_{s'} P(s' \mid s,a)\, V_k(s') \Big],

a γ-contraction in the max-norm, so ``‖V_k − V*‖∞ ≤ γ^k ‖V_0 − V*‖∞``. Policy evaluation
solves the linear Bellman equation ``V = R_π + γ P_π V`` exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mini_lib.checks import check_int, check_positive, check_probability, check_shape
from mini_lib.envs.tabular_mdp import check_model

__all__ = [
    "ValueIterationResult",
    "bellman_backup",
    "greedy_policy",
    "policy_evaluation",
    "value_iteration",
]


@dataclass(frozen=True)
class ValueIterationResult:
    """What value iteration found.

    ``V`` optimal state values, ``Q`` optimal action values, ``policy`` a greedy action per
    state, ``iterations`` sweeps until the change dropped below ``tol``, ``history`` the value
    function after every sweep (``history[0]`` is the zero initialisation).
    """

    V: np.ndarray
    Q: np.ndarray
    policy: np.ndarray
    iterations: int
    history: list[np.ndarray] = field(repr=False)


def bellman_backup(P: np.ndarray, R: np.ndarray, V: np.ndarray, gamma: float) -> np.ndarray:
    """One-step look-ahead: ``Q[s, a] = R[s, a] + γ Σ_s' P[s, a, s'] V[s']``."""
    return R + gamma * (P @ V)


def greedy_policy(Q: np.ndarray) -> np.ndarray:
    """The action with the largest value in each state (lowest index on ties)."""
    return np.argmax(Q, axis=1)


def value_iteration(
    P: np.ndarray,
    R: np.ndarray,
    gamma: float,
    terminal: np.ndarray | None = None,
    *,
    tol: float = 1e-10,
    max_iterations: int = 10_000,
) -> ValueIterationResult:
    """Compute the optimal values of a finite MDP.

    ``terminal`` states keep value 0. Stops when ``max |V_{k+1} − V_k| < tol``; if that never
    happens in ``max_iterations`` sweeps (typically γ = 1 with a policy that never reaches
    a terminal state, so values drift forever) it raises ``RuntimeError`` saying so.
    """
    P, R, terminal = check_model(P, R, terminal)
    gamma = check_probability("gamma", gamma)
    tol = check_positive("tol", tol)
    max_iterations = check_int("max_iterations", max_iterations, 1)

    V = np.zeros(P.shape[0])
    history = [V]
    for iteration in range(1, max_iterations + 1):
        Q = bellman_backup(P, R, V, gamma)
        V_new = np.where(terminal, 0.0, Q.max(axis=1))
        history.append(V_new)
        change = np.max(np.abs(V_new - V))
        V = V_new
        if change < tol:
            Q = bellman_backup(P, R, V, gamma)
            return ValueIterationResult(V, Q, greedy_policy(Q), iteration, history)
    raise RuntimeError(
        f"value iteration did not converge in {max_iterations} sweeps (last change {change:.3g}, "
        f"tol {tol:g}) with gamma={gamma:g}. With gamma = 1 the values diverge when some "
        f"state cannot reach a terminal state; use gamma < 1."
    )


def policy_evaluation(
    P: np.ndarray,
    R: np.ndarray,
    policy: np.ndarray,
    gamma: float,
    terminal: np.ndarray | None = None,
) -> np.ndarray:
    """Exact value ``V_π`` of a policy by solving ``(I − γ P_π) V = R_π`` on non-terminal states.

    ``policy`` is either an action per state, shape ``(n_states,)``, or action probabilities,
    shape ``(n_states, n_actions)``.
    """
    P, R, terminal = check_model(P, R, terminal)
    gamma = check_probability("gamma", gamma)
    n_states, n_actions, _ = P.shape
    policy = np.asarray(policy)
    if policy.ndim == 1:
        check_shape("policy", policy, (n_states,))
        if (not np.issubdtype(policy.dtype, np.integer) or policy.min() < 0
                or policy.max() >= n_actions):
            raise ValueError(f"policy as an action per state must hold integers in "
                             f"[0, {n_actions - 1}], got {policy!r}")
        pi = np.eye(n_actions)[policy]
    else:
        pi = check_shape("policy", policy.astype(float), (n_states, n_actions))
        if np.any(pi < 0) or not np.allclose(pi.sum(axis=1), 1.0):
            raise ValueError("policy as probabilities must have non-negative rows summing to 1")

    P_pi = np.einsum("sa,sat->st", pi, P)
    R_pi = np.einsum("sa,sa->s", pi, R)
    live = ~terminal
    A = np.eye(live.sum()) - gamma * P_pi[np.ix_(live, live)]
    V = np.zeros(n_states)
    try:
        V[live] = np.linalg.solve(A, R_pi[live])
    except np.linalg.LinAlgError:
        raise ValueError(
            f"policy_evaluation: the Bellman equation has no unique solution for gamma={gamma:g}; "
            f"with gamma = 1 the policy must reach a terminal state from every state"
        ) from None
    return V
