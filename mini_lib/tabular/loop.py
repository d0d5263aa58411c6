"""The same four TD-control algorithms as plain Python loops, one run after another.

NumPy's per-call overhead (~100 µs for one batched step of every run) only pays off with many
runs. For a handful of runs — a slider redraw — a plain loop over Python lists is faster
(~2 µs per step). :func:`mini_lib.tabular.train` picks this engine for ``n_runs`` < 20;
tests check that both engines learn the same thing.
"""

from __future__ import annotations

import random

import numpy as np

__all__ = ["train_loop"]


def train_loop(model, algorithm: str, config, max_steps: int) -> tuple[np.ndarray, ...]:
    """Run ``config.n_runs`` learners one after another; returns
    ``(returns, lengths, first_actions, tables)`` shaped like the batched engine's."""
    n_runs, n_episodes = config.n_runs, config.n_episodes
    S, A = model.n_states, model.n_actions
    alpha, eps, gamma, omega = config.alpha, config.epsilon, config.gamma, config.alpha_decay
    nxt, rew = model.next_state.tolist(), model.reward.tolist()
    term, cum = model.terminated.tolist(), np.cumsum(model.prob, axis=2).tolist()
    noise, noisy = model.reward_std.tolist(), bool(np.any(model.reward_std))
    allowed = [np.flatnonzero(m).tolist() for m in model.action_mask]
    init_cum, start = np.cumsum(model.initial).tolist(), model.fixed_start
    K, masked, inf = model.prob.shape[2], not model.action_mask.all(), float("inf")
    double, sarsa = algorithm == "double_q_learning", algorithm == "sarsa"
    seeds = np.random.SeedSequence(config.seed).generate_state(n_runs)

    returns = np.zeros((n_runs, n_episodes))
    lengths = np.zeros((n_runs, n_episodes), dtype=np.int64)
    first = np.zeros((n_runs, n_episodes), dtype=np.int64)
    tables = np.zeros((2 if double else 1, n_runs, S, A))
    for run in range(n_runs):
        rnd = random.Random(int(seeds[run]))
        Qs = [[[config.q_init] * A for _ in range(S)] for _ in range(2 if double else 1)]
        counts = [[[0] * A for _ in range(S)] for _ in Qs]

        def act(s: int, rnd: random.Random = rnd, Qs: list = Qs) -> int:
            acts = allowed[s]
            if eps and rnd.random() < eps:
                return acts[int(rnd.random() * len(acts))]
            if double:
                row = [x + y for x, y in zip(Qs[0][s], Qs[1][s], strict=True)]
            else:
                row = Qs[0][s]
            if masked:
                row = [row[a] if a in acts else -inf for a in range(A)]
            best = max(row)
            if row.count(best) == 1:
                return row.index(best)
            ties = [a for a in range(A) if row[a] == best]
            return ties[int(rnd.random() * len(ties))]

        for episode in range(n_episodes):
            s = start if start is not None else _draw(init_cum, rnd.random())
            a = act(s) if sarsa else 0
            total, t = 0.0, 0
            while True:
                if not sarsa:
                    a = act(s)
                if t == 0:
                    first[run, episode] = a
                k = 0 if K == 1 else _draw(cum[s][a], rnd.random())
                s2, r, done = nxt[s][a][k], rew[s][a][k], term[s][a][k]
                if noisy and noise[s][a]:
                    r += noise[s][a] * rnd.gauss(0.0, 1.0)
                total += r
                t += 1
                i = (rnd.random() < 0.5) if double else 0
                U = Qs[i]
                if sarsa:
                    a2 = act(s2)
                if done:
                    future = 0.0
                elif algorithm == "q_learning":
                    future = max(U[s2][b] for b in allowed[s2]) if masked else max(U[s2])
                elif sarsa:
                    future = U[s2][a2]
                elif algorithm == "expected_sarsa":
                    q = [U[s2][b] for b in allowed[s2]]
                    future = eps * sum(q) / len(q) + (1 - eps) * max(q)
                else:  # double Q-learning: the other table evaluates U's greedy action
                    q = [U[s2][b] for b in allowed[s2]]
                    best = max(q)
                    ties = [b for b, v in zip(allowed[s2], q, strict=True) if v == best]
                    future = Qs[1 - i][s2][ties[int(rnd.random() * len(ties))]]
                step = alpha
                if omega:
                    counts[i][s][a] += 1
                    step = alpha / counts[i][s][a] ** omega
                U[s][a] += step * (r + gamma * future - U[s][a])
                s = s2
                if sarsa:
                    a = a2
                if done or t >= max_steps:
                    break
            returns[run, episode], lengths[run, episode] = total, t
        for i, Q in enumerate(Qs):
            tables[i, run] = Q
    return returns, lengths, first, tables


def _draw(cumulative: list[float], u: float) -> int:
    """Inverse-CDF draw from a short cumulative list."""
    for index, c in enumerate(cumulative):
        if u < c:
            return index
    return len(cumulative) - 1
