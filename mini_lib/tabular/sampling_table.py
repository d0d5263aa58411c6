"""A finite environment as arrays, stepped for many independent runs at once.

Book-style learning curves average 50–10,000 independent runs. Stepping one Gymnasium env
per run in Python would take minutes; instead we read the environment's transition table
once and step every run together with NumPy. :func:`sampling_table` reads

* Gymnasium's toy-text envs (``CliffWalking-v1``, ``FrozenLake-v1``, ``Taxi-v4``) and our
  :class:`~mini_lib.envs.maximization_bias.MaximizationBiasEnv`: ``env.unwrapped.P[s][a]`` is a
  list of ``(prob, next_state, reward, terminated)`` and ``initial_state_distrib`` the start
  distribution;
* our :class:`~mini_lib.envs.gridworld.GridWorldEnv`: ``env.unwrapped.mdp`` (``P``, ``terminal``)
  plus the step cost and the reward for entering a goal or pit.

Optional extras: ``reward_std[s, a]`` (Gaussian reward noise, Sutton & Barto Example 6.7) and
``action_mask`` (actions allowed per state, as Taxi's ``info["action_mask"]``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import gymnasium as gym
import numpy as np

from mini_lib.envs.gridworld import TERMINAL_REWARD, GridWorldEnv
from mini_lib.envs.spaces import check_tabular_env

__all__ = ["SamplingTable", "greedy_path", "sampling_table"]


@dataclass(frozen=True)
class SamplingTable:
    """Outcomes of every (state, action) pair, padded to ``K`` outcomes.

    ``prob[s, a, k]``, ``next_state[s, a, k]``, ``reward[s, a, k]`` (mean reward),
    ``terminated[s, a, k]``; ``reward_std[s, a]`` Gaussian reward noise; ``initial[s]`` start
    distribution; ``action_mask[s, a]`` True where the action is allowed.
    """

    prob: np.ndarray
    next_state: np.ndarray
    reward: np.ndarray
    terminated: np.ndarray
    reward_std: np.ndarray
    initial: np.ndarray
    action_mask: np.ndarray

    @property
    def n_states(self) -> int:
        return self.prob.shape[0]

    @property
    def n_actions(self) -> int:
        return self.prob.shape[1]

    @property
    def deterministic(self) -> bool:
        return self.prob.shape[2] == 1

    @cached_property
    def fixed_start(self) -> int | None:
        """The start state if there is exactly one, else ``None`` (sample from ``initial``)."""
        return int(np.argmax(self.initial)) if np.count_nonzero(self.initial) == 1 else None

    @cached_property
    def _noisy(self) -> bool:
        return bool(np.any(self.reward_std))

    def reset(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` start states drawn from the initial distribution."""
        if self.fixed_start is not None:
            return np.full(n, self.fixed_start)
        return _sample(np.cumsum(self.initial), rng.random(n))

    def step(self, state: np.ndarray, action: np.ndarray, rng: np.random.Generator):
        """Step ``len(state)`` runs at once: returns next states, rewards, terminated flags."""
        if self.deterministic:
            next_state, reward = self.next_state[state, action, 0], self.reward[state, action, 0]
            terminated = self.terminated[state, action, 0]
        else:
            cumulative = np.cumsum(self.prob[state, action], axis=1)
            k = _sample(cumulative, rng.random(state.size))
            next_state, reward = self.next_state[state, action, k], self.reward[state, action, k]
            terminated = self.terminated[state, action, k]
        if self._noisy:
            reward = reward + self.reward_std[state, action] * rng.standard_normal(state.size)
        return next_state, reward, terminated


def _sample(cumulative: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Inverse-CDF sampling: the first index whose cumulative probability exceeds ``u``."""
    index = ((u[..., None] >= cumulative).sum(axis=-1) if cumulative.ndim > 1
             else np.searchsorted(cumulative, u, side="right"))
    return np.minimum(index, cumulative.shape[-1] - 1)


def sampling_table(env: gym.Env) -> SamplingTable:
    """Read the transition table of a finite Gymnasium env into a :class:`SamplingTable`."""
    check_tabular_env(env)
    base = env.unwrapped
    n_states, n_actions = int(env.observation_space.n), int(env.action_space.n)
    if isinstance(base, GridWorldEnv):
        table, initial = _gridworld_table(base), np.eye(n_states)[base.start_state]
    elif hasattr(base, "P") and hasattr(base, "initial_state_distrib"):
        if getattr(base, "fickle_passenger", False):
            raise ValueError("Taxi with fickle_passenger=True changes the destination outside "
                             "its transition table P; use fickle_passenger=False")
        table, initial = base.P, np.asarray(base.initial_state_distrib, dtype=float)
    else:
        raise ValueError(f"cannot read a transition table from {type(base).__name__}: it needs "
                         f"P[s][a] = [(prob, next_state, reward, terminated), ...] and "
                         f"initial_state_distrib, like Gymnasium's toy-text environments")
    n_outcomes = max(len(table[s][a]) for s in range(n_states) for a in range(n_actions))
    shape = (n_states, n_actions, n_outcomes)
    prob, reward = np.zeros(shape), np.zeros(shape)
    next_state = np.zeros(shape, dtype=np.intp)
    terminated = np.zeros(shape, dtype=bool)
    for s in range(n_states):
        for a in range(n_actions):
            for k, (p, s_next, r, done) in enumerate(table[s][a]):
                prob[s, a, k], next_state[s, a, k] = p, s_next
                reward[s, a, k], terminated[s, a, k] = r, done
    if not np.allclose(prob.sum(axis=2), 1.0):
        raise ValueError("the environment's P[s][a] probabilities do not sum to 1")
    std = np.asarray(getattr(base, "reward_std", np.zeros((n_states, n_actions))), dtype=float)
    mask = getattr(base, "action_mask_table", None)
    mask = np.ones((n_states, n_actions), bool) if mask is None else np.asarray(mask, bool)
    return SamplingTable(prob, next_state, reward, terminated, std, initial, mask)


def _gridworld_table(env: GridWorldEnv) -> list[list[list[tuple]]]:
    """GridWorld's model as toy-text outcome lists: reward = step cost + arrival reward."""
    arrival = np.array([TERMINAL_REWARD.get(c, 0.0) for c in env.cells.ravel()])
    mdp = env.mdp
    return [[[(float(mdp.P[s, a, t]), int(t), float(env.step_reward + arrival[t]),
               bool(mdp.terminal[t])) for t in np.flatnonzero(mdp.P[s, a])]
             for a in range(mdp.n_actions)] for s in range(mdp.n_states)]


def greedy_path(model: SamplingTable, Q: np.ndarray, start: int | None = None,
                max_steps: int = 100) -> list[int]:
    """States visited by the greedy policy of ``Q`` when every move has its most likely outcome.

    Stops at a terminal transition, after ``max_steps`` or when a state repeats (a loop).
    """
    state = int(np.argmax(model.initial)) if start is None else start
    path = [state]
    for _ in range(max_steps):
        q = np.where(model.action_mask[state], Q[state], -np.inf)
        action = int(np.argmax(q))
        k = int(np.argmax(model.prob[state, action]))
        state = int(model.next_state[state, action, k])
        path.append(state)
        if model.terminated[path[-2], action, k] or state in path[:-1]:
            break
    return path
