r"""Tabular TD control: Q-learning, Sarsa, Expected Sarsa and Double Q-learning.

All four learn a table ``Q[s, a]`` from experience with the same update

.. math:: Q(S_t, A_t) \leftarrow Q(S_t, A_t) + \alpha \big[\,\text{target} - Q(S_t, A_t)\big]

and differ only in the target (Sutton & Barto, 2nd ed., chapter 6):
Q-learning ``R + γ max_a Q(S', a)``; Sarsa ``R + γ Q(S', A')`` with ``A'`` the action actually
taken next; Expected Sarsa ``R + γ Σ_a π(a|S') Q(S', a)``; Double Q-learning keeps two tables
and evaluates one table's greedy action with the other. After a *terminal* transition the
target is just ``R`` (no future); after a time-limit truncation it still bootstraps.

``n_runs`` independent runs (own tables, own random streams) are trained on a
:class:`~mini_lib.tabular.sampling_table.SamplingTable` read from the env: with many runs all
of them are stepped together in NumPy, with few runs a plain Python loop
(:mod:`mini_lib.tabular.loop`) is faster; either way book-style averages take seconds.
"""

from __future__ import annotations

from dataclasses import dataclass

import gymnasium as gym
import numpy as np

from mini_lib.checks import check_in_range, check_int, check_probability
from mini_lib.tabular.loop import train_loop
from mini_lib.tabular.sampling_table import SamplingTable, sampling_table

__all__ = [
    "ALGORITHMS",
    "TabularConfig",
    "TabularResult",
    "double_q_learning",
    "epsilon_greedy",
    "epsilon_greedy_probs",
    "expected_sarsa",
    "q_learning",
    "q_learning_update",
    "sarsa",
    "train",
]

ALGORITHMS = ("q_learning", "sarsa", "expected_sarsa", "double_q_learning")
DEFAULT_MAX_STEPS = 10_000  # used when neither the config nor the env sets a time limit
LOOP_BELOW_RUNS = 20  # fewer runs: the plain-Python engine is faster than NumPy batching


@dataclass(frozen=True)
class TabularConfig:
    """Hyperparameters shared by the four algorithms (valid ranges checked on creation).

    ``alpha`` step size in (0, 1]; ``alpha_decay`` ω in [0, 1]: the n-th update of a pair
    ``(s, a)`` uses ``alpha / n**ω`` (0 = constant); ``epsilon`` exploration in [0, 1];
    ``gamma`` discount in [0, 1]; ``n_episodes`` ≥ 1 per run; ``n_runs`` ≥ 1 independent runs;
    ``max_steps`` per-episode time limit ≥ 1 (None: the env's ``TimeLimit``, else 10,000);
    ``q_init`` initial table value; ``seed`` for the random stream; ``progress`` a tqdm bar.
    """

    alpha: float = 0.5
    epsilon: float = 0.1
    gamma: float = 1.0
    n_episodes: int = 500
    n_runs: int = 1
    max_steps: int | None = None
    alpha_decay: float = 0.0
    q_init: float = 0.0
    seed: int = 0
    progress: bool = False

    def __post_init__(self) -> None:
        check_in_range("alpha", self.alpha, 0.0, 1.0, low_open=True)
        check_probability("alpha_decay", self.alpha_decay)
        check_probability("epsilon", self.epsilon)
        check_probability("gamma", self.gamma)
        check_int("n_episodes", self.n_episodes, 1, 10_000_000)
        check_int("n_runs", self.n_runs, 1, 1_000_000)
        if self.max_steps is not None:
            check_int("max_steps", self.max_steps, 1)
        check_in_range("q_init", self.q_init, -1e6, 1e6)
        check_int("seed", self.seed, 0, 2**63 - 1)


@dataclass(frozen=True)
class TabularResult:
    """What a batch of runs learned and earned.

    ``returns[run, episode]`` undiscounted sum of rewards (as in Sutton & Barto's figures);
    ``lengths[run, episode]`` steps; ``first_actions[run, episode]`` the first action of each
    episode; ``Q[run, s, a]`` the learned table (Double Q-learning: the mean of its two
    tables, which are in ``tables``).
    """

    algorithm: str
    config: TabularConfig
    returns: np.ndarray
    lengths: np.ndarray
    first_actions: np.ndarray
    Q: np.ndarray
    tables: tuple[np.ndarray, ...]

    def greedy_policy(self) -> np.ndarray:
        """Greedy action per run and state, shape ``(n_runs, n_states)``."""
        return np.argmax(self.Q, axis=2)


def q_learning_update(Q: np.ndarray, s: int, a: int, r: float, s_next: int, terminated: bool,
                      alpha: float, gamma: float) -> np.ndarray:
    """One Q-learning update of the table ``Q[s, a]`` in place (the readable, one-run version)."""
    target = r if terminated else r + gamma * np.max(Q[s_next])
    Q[s, a] += alpha * (target - Q[s, a])
    return Q


def _argmax_random(q: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Row-wise argmax; ties broken uniformly at random (not always the lowest index)."""
    ties = q == q.max(axis=1, keepdims=True)
    action = np.argmax(ties, axis=1)
    n_tied = ties.sum(axis=1)
    if n_tied.max() > 1:  # draw random numbers only where needed
        tied = np.flatnonzero(n_tied > 1)
        action[tied] = np.argmax(np.where(ties[tied], rng.random((tied.size, q.shape[1])), -1.0),
                                 axis=1)
    return action


def epsilon_greedy(q_values: np.ndarray, epsilon: float, rng: np.random.Generator,
                   mask: np.ndarray | None = None) -> np.ndarray | int:
    """ε-greedy action(s): with probability ε a uniformly random (allowed) action, otherwise a
    greedy one, ties broken at random. ``q_values`` of shape ``(A,)`` gives one int, ``(n, A)``
    an array of ``n`` actions; ``mask`` (same shape, bool) marks the allowed actions."""
    q = np.atleast_2d(q_values)
    if mask is not None:
        mask = np.atleast_2d(mask)
        q = np.where(mask, q, -np.inf)
    action = _argmax_random(q, rng)
    explore = rng.random(q.shape[0]) < epsilon
    if explore.any():
        explore = np.flatnonzero(explore)
        if mask is None:
            action[explore] = rng.integers(q.shape[1], size=explore.size)
        else:
            u = rng.random((explore.size, q.shape[1]))
            action[explore] = np.argmax(np.where(mask[explore], u, -1.0), axis=1)
    return int(action[0]) if np.ndim(q_values) == 1 else action


def epsilon_greedy_probs(q_values: np.ndarray, epsilon: float,
                         mask: np.ndarray | None = None) -> np.ndarray:
    """The probabilities with which :func:`epsilon_greedy` picks each action."""
    q = np.atleast_2d(np.asarray(q_values, dtype=float))
    allowed = np.ones(q.shape, bool) if mask is None else np.broadcast_to(mask, q.shape)
    q = np.where(allowed, q, -np.inf)
    ties = q == q.max(axis=1, keepdims=True)
    probs = (epsilon * allowed / allowed.sum(axis=1, keepdims=True)
             + (1 - epsilon) * ties / ties.sum(axis=1, keepdims=True))
    return probs[0] if np.ndim(q_values) == 1 else probs


def train(env: gym.Env | SamplingTable, algorithm: str, config: TabularConfig | None = None,
          engine: str = "auto") -> TabularResult:
    """Run ``config.n_runs`` independent learners of ``algorithm`` (one of :data:`ALGORITHMS`).

    ``engine="batched"`` steps all runs together with NumPy, ``"loop"`` runs them one after
    another in plain Python (faster below ~20 runs); ``"auto"`` picks by ``n_runs``.
    """
    if algorithm not in ALGORITHMS:
        raise ValueError(f"algorithm must be one of {ALGORITHMS}, got {algorithm!r}")
    if engine not in ("auto", "batched", "loop"):
        raise ValueError(f"engine must be 'auto', 'batched' or 'loop', got {engine!r}")
    config = TabularConfig() if config is None else config
    model = env if isinstance(env, SamplingTable) else sampling_table(env)
    max_steps = config.max_steps
    if max_steps is None:
        spec = getattr(env, "spec", None)
        max_steps = getattr(spec, "max_episode_steps", None) or DEFAULT_MAX_STEPS
    if engine == "loop" or (engine == "auto" and config.n_runs < LOOP_BELOW_RUNS):
        returns, lengths, first, Q = train_loop(model, algorithm, config, max_steps)
        tables = tuple(Q)
        return TabularResult(algorithm, config, returns, lengths, first,
                             np.mean(tables, axis=0), tables)
    rng = np.random.default_rng(config.seed)
    n_runs, n_episodes = config.n_runs, config.n_episodes
    S, A = model.n_states, model.n_actions
    double, sarsa = algorithm == "double_q_learning", algorithm == "sarsa"
    Q = np.full((2 if double else 1, n_runs * S, A), float(config.q_init))  # row = run*S + s
    counts = np.zeros(Q.shape) if config.alpha_decay > 0 else None
    masked = not model.action_mask.all()
    alpha, eps, gamma = config.alpha, config.epsilon, config.gamma

    returns = np.zeros((n_runs, n_episodes))
    lengths = np.zeros((n_runs, n_episodes), dtype=np.int64)
    first_actions = np.zeros((n_runs, n_episodes), dtype=np.int64)
    run = np.arange(n_runs)  # the runs still learning; the arrays below follow it
    episode, steps = np.zeros(n_runs, dtype=np.int64), np.zeros(n_runs, dtype=np.int64)
    episode_return = np.zeros(n_runs)
    state = model.reset(rng, n_runs)

    def act(rows: np.ndarray, states: np.ndarray) -> np.ndarray:
        q = Q[0, rows] + Q[1, rows] if double else Q[0, rows]
        return epsilon_greedy(q, eps, rng, model.action_mask[states] if masked else None)

    action = act(run * S + state, state) if sarsa else None
    bar = _progress_bar(n_runs * n_episodes) if config.progress else None
    while run.size:
        rows = run * S + state
        if not sarsa:
            action = act(rows, state)
        start = steps == 0
        first_actions[run[start], episode[start]] = action[start]
        next_state, reward, terminated = model.step(state, action, rng)
        episode_return += reward
        steps += 1
        next_rows = run * S + next_state

        # -- the TD target: the only line where the four algorithms differ ------------------
        table = (rng.random(run.size) < 0.5).astype(np.intp) if double else 0
        q_next = Q[table, next_rows]
        if masked:
            q_next = np.where(model.action_mask[next_state], q_next, -np.inf)
        if algorithm == "q_learning":
            future = q_next.max(axis=1)
        elif sarsa:
            next_action = act(next_rows, next_state)
            future = q_next[np.arange(run.size), next_action]
        elif algorithm == "expected_sarsa":
            probs = epsilon_greedy_probs(q_next, eps,
                                         model.action_mask[next_state] if masked else None)
            future = (probs * np.where(np.isfinite(q_next), q_next, 0.0)).sum(axis=1)
        else:  # double Q-learning: the other table evaluates this table's greedy action
            future = Q[1 - table, next_rows, _argmax_random(q_next, rng)]
        target = reward + gamma * (future * ~terminated)  # no future after termination

        step_size = alpha
        if counts is not None:
            counts[table, rows, action] += 1
            step_size = alpha / counts[table, rows, action] ** config.alpha_decay
        Q[table, rows, action] += step_size * (target - Q[table, rows, action])

        done = terminated | (steps >= max_steps)
        state = next_state
        if sarsa:
            action = next_action
        if done.any():
            d = np.flatnonzero(done)
            returns[run[d], episode[d]] = episode_return[d]
            lengths[run[d], episode[d]] = steps[d]
            episode[d] += 1
            episode_return[d], steps[d] = 0.0, 0
            state[d] = model.reset(rng, d.size)
            if sarsa:
                action[d] = act(run[d] * S + state[d], state[d])
            if bar is not None:
                bar.update(d.size)
            if episode[d].max() >= n_episodes:
                keep = episode < n_episodes
                run, episode, steps = run[keep], episode[keep], steps[keep]
                episode_return, state = episode_return[keep], state[keep]
                if sarsa:
                    action = action[keep]
    if bar is not None:
        bar.close()
    tables = tuple(q.reshape(n_runs, S, A) for q in Q)
    return TabularResult(algorithm, config, returns, lengths, first_actions,
                         np.mean(tables, axis=0), tables)


def _progress_bar(total: int):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="episodes (all runs)", leave=False)


def q_learning(env: gym.Env | SamplingTable, config: TabularConfig | None = None) -> TabularResult:
    """Off-policy TD control: target ``R + γ max_a Q(S', a)`` (Watkins 1989)."""
    return train(env, "q_learning", config)


def sarsa(env: gym.Env | SamplingTable, config: TabularConfig | None = None) -> TabularResult:
    """On-policy TD control: target ``R + γ Q(S', A')`` with ``A'`` the next ε-greedy action."""
    return train(env, "sarsa", config)


def expected_sarsa(env: gym.Env | SamplingTable,
                   config: TabularConfig | None = None) -> TabularResult:
    """Target ``R + γ Σ_a π(a|S') Q(S', a)``: Sarsa without the sampling noise of ``A'``."""
    return train(env, "expected_sarsa", config)


def double_q_learning(env: gym.Env | SamplingTable,
                      config: TabularConfig | None = None) -> TabularResult:
    """Two tables; each update picks one at random and evaluates its argmax with the other,
    which removes the maximization bias (van Hasselt 2010). Behaviour: ε-greedy on Q1 + Q2."""
    return train(env, "double_q_learning", config)
