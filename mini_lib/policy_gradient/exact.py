r"""The exact policy gradient of a small tabular MDP, and the REINFORCE estimate of it.

For a softmax policy :math:`\pi_\theta(a \mid s) = \mathrm{softmax}(\theta[s])_a` the objective
:math:`J(\theta) = \mu^\top V^\pi` is computed exactly by policy evaluation (a linear solve).
The policy-gradient theorem gives its gradient in closed form:

.. math::

    d^\pi = \mu^\top (I - \gamma P^\pi)^{-1}, \qquad
    \frac{\partial J}{\partial \theta[s, a]} = d^\pi(s)\, \pi(a \mid s)\, A^\pi(s, a),

with the *unnormalised* discounted visitation :math:`d^\pi(s) = \sum_t \gamma^t \Pr(s_t = s)`
and the advantage :math:`A^\pi = Q^\pi - V^\pi`. REINFORCE estimates the same vector from
sampled episodes, :math:`\hat g = \sum_t \gamma^t (G_t - b(s_t)) \nabla_\theta \log
\pi(a_t \mid s_t)`, one estimate per episode, so its mean and variance can be measured
against the truth. Episodes are simulated side by side (vectorised over episodes).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from mini_lib.checks import check_in_range, check_int, check_shape
from mini_lib.envs.tabular_mdp import TabularMDP
from mini_lib.tabular.dynamic_programming import policy_evaluation

__all__ = [
    "ExactGradient",
    "exact_gradient",
    "objective",
    "reinforce_estimates",
    "softmax_policy",
    "total_variance",
]


def _check_theta(mdp: TabularMDP, theta: np.ndarray) -> np.ndarray:
    """``theta`` as a float array of shape ``(n_states, n_actions)``, else ``ValueError``."""
    return check_shape("theta", np.asarray(theta, dtype=float), (mdp.n_states, mdp.n_actions))


def _check_gamma(gamma: float) -> float:
    return check_in_range("gamma", gamma, 0.0, 1.0, high_open=True)


def softmax_policy(theta: np.ndarray) -> np.ndarray:
    """``π[s, a] = exp(θ[s, a]) / Σ_b exp(θ[s, b])``, computed without overflow."""
    theta = np.asarray(theta, dtype=float)
    z = np.exp(theta - theta.max(axis=-1, keepdims=True))
    return z / z.sum(axis=-1, keepdims=True)


@dataclass(frozen=True)
class ExactGradient:
    """``J`` and its gradient ``grad[s, a]``, with the quantities the theorem is made of."""

    J: float
    grad: np.ndarray
    pi: np.ndarray
    V: np.ndarray
    Q: np.ndarray
    advantage: np.ndarray
    visitation: np.ndarray


def objective(mdp: TabularMDP, gamma: float, theta: np.ndarray) -> float:
    """``J(θ) = μ · V^π`` by exact policy evaluation (``μ`` = ``mdp.initial``, γ < 1)."""
    pi = softmax_policy(_check_theta(mdp, theta))
    V = policy_evaluation(mdp.P, mdp.R, pi, _check_gamma(gamma), mdp.terminal)
    return float(mdp.initial @ V)


def exact_gradient(mdp: TabularMDP, gamma: float, theta: np.ndarray) -> ExactGradient:
    """``∇J(θ)[s, a] = d^π(s) π(a|s) A^π(s, a)`` (policy-gradient theorem, tabular softmax)."""
    pi = softmax_policy(_check_theta(mdp, theta))
    P, R, live, gamma = mdp.P, mdp.R, ~mdp.terminal, _check_gamma(gamma)
    V = policy_evaluation(P, R, pi, gamma, mdp.terminal)
    Q = np.where(live[:, None], R + gamma * (P @ V), 0.0)
    advantage = Q - V[:, None]
    # The episode stops in a terminal state: no transitions out of it.
    P_pi = np.einsum("sa,sat->st", pi, P) * live[:, None]
    visitation = np.linalg.solve((np.eye(mdp.n_states) - gamma * P_pi).T, mdp.initial)
    grad = visitation[:, None] * pi * advantage
    return ExactGradient(float(mdp.initial @ V), grad, pi, V, Q, advantage, visitation)


def _cumulative(probabilities: np.ndarray) -> np.ndarray:
    """Cumulative sums along the last axis, ending at exactly 1 (no index past the end)."""
    cumulative = np.cumsum(probabilities, axis=-1)
    return cumulative / cumulative[..., -1:]


def _sample_index(cumulative: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One index per row of a cumulative distribution ``(n, k)``, by inversion."""
    u = rng.random((cumulative.shape[0], 1))
    return np.minimum((u >= cumulative).sum(axis=1), cumulative.shape[1] - 1)


def reinforce_estimates(
    mdp: TabularMDP,
    gamma: float,
    theta: np.ndarray,
    n_episodes: int,
    rng: np.random.Generator,
    baseline: float | np.ndarray | None = None,
    max_steps: int | None = None,
) -> np.ndarray:
    r"""One REINFORCE gradient estimate per sampled episode, shape ``(n_episodes, S, A)``.

    ``ĝ = Σ_t γ^t (G_t − b(s_t)) ∇_θ log π(a_t|s_t)`` with ``∇_θ[s] log π(a|s) = e_a − π(s)``.
    ``baseline`` is ``None`` (b = 0), a constant, or a per-state array such as
    ``exact_gradient(mdp, gamma, theta).V``; any of them leaves the mean unchanged. Episodes end
    in a terminal state or after ``max_steps`` steps (default: enough steps that
    ``γ^max_steps < 1e-8``; a truncated episode biases the mean by at most
    ``γ^max_steps · max|R| / (1 − γ)``). The same ``rng`` state gives the same episodes
    whatever the baseline, so estimators can be compared on common samples.
    """
    theta = _check_theta(mdp, theta)
    gamma = _check_gamma(gamma)
    n_episodes = check_int("n_episodes", n_episodes, 1)
    if max_steps is None:
        max_steps = 1 if gamma == 0 else max(1, math.ceil(math.log(1e-8) / math.log(gamma)))
    max_steps = check_int("max_steps", max_steps, 1)
    n_states, n_actions = mdp.n_states, mdp.n_actions
    if baseline is None:
        baseline = 0.0
    b = np.broadcast_to(np.asarray(baseline, dtype=float), (n_states,))

    pi = softmax_policy(theta)
    cum_pi, cum_P = _cumulative(pi), _cumulative(mdp.P)
    cum_mu = np.broadcast_to(_cumulative(mdp.initial), (n_episodes, n_states))

    # 1. simulate all episodes together, one time step per iteration; only the episodes
    #    still running are stepped, so a few long episodes cost little.
    episode = np.arange(n_episodes)
    state = _sample_index(cum_mu, rng)
    running = ~mdp.terminal[state]
    episode, state = episode[running], state[running]
    steps = []  # per time step: (episodes still running, their states, actions, rewards)
    for _ in range(max_steps):
        if episode.size == 0:
            break
        action = _sample_index(cum_pi[state], rng)
        steps.append((episode, state, action, mdp.R[state, action]))
        state = _sample_index(cum_P[state, action], rng)
        running = ~mdp.terminal[state]
        episode, state = episode[running], state[running]

    # 2. the weight γ^t (G_t − b(s_t)) of every step, with the reward-to-go G_t computed
    #    backwards (the episodes running at t + 1 are a subset of those running at t).
    G = np.zeros(n_episodes)
    weights = []
    for t in range(len(steps) - 1, -1, -1):
        episode, state, _, reward = steps[t]
        G[episode] = reward + gamma * G[episode]
        weights.append(gamma**t * (G[episode] - b[state]))
    weights.reverse()

    # 3. Σ_t weight_t (e_{a_t} − π(s_t)) added into row s_t, for every episode at once.
    if not steps:  # every episode started in a terminal state
        return np.zeros((n_episodes, n_states, n_actions))
    size = n_episodes * n_states
    weight = np.concatenate(weights)
    s_index = np.concatenate([e * n_states + s for e, s, _, _ in steps])
    sa_index = s_index * n_actions + np.concatenate([a for _, _, a, _ in steps])
    chosen = np.bincount(sa_index, weight, size * n_actions)
    per_state = np.bincount(s_index, weight, size).reshape(n_episodes, n_states)
    return chosen.reshape(n_episodes, n_states, n_actions) - per_state[:, :, None] * pi


def total_variance(estimates: np.ndarray) -> float:
    """Trace of the covariance of per-episode estimates (summed per-component variance).

    The variance of a mean over a batch of ``B`` episodes is this divided by ``B``.
    """
    estimates = np.asarray(estimates, dtype=float)
    flat = estimates.reshape(estimates.shape[0], -1)
    return float(flat.var(axis=0, ddof=1).sum()) if flat.shape[0] > 1 else 0.0
