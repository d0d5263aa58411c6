r"""Greedy evaluation of a learned policy, and how well its value estimates match reality.

A policy here is a batch mapping ``act(observations) -> actions``. Episodes run side by side
in ``n_episodes`` seeded copies of the environment, so one network call serves all of them.

:class:`SolvedCheck` is the course's "solved" criterion (CartPole-v1: mean greedy return ≥ 475
over 20 episodes), used by the DQN chapter and its peer benchmark alike.
:func:`value_vs_return` compares a Q-network's estimate :math:`\max_a Q(s_t, a)` with the
discounted return :math:`G_t` the greedy policy actually collected from :math:`s_t`: the
measurement behind the overestimation plot of van Hasselt et al. (2016).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from mini_lib.checks import check_int
from mini_lib.returns import returns_to_go

__all__ = [
    "SOLVED_CARTPOLE",
    "Episodes",
    "SolvedCheck",
    "ValueCheck",
    "evaluate_policy",
    "greedy_actor",
    "mean_interval",
    "run_episodes",
    "value_vs_return",
]

Actor = Callable[[np.ndarray], np.ndarray]

#: The course's "solved" bar for CartPole-v1: mean greedy return over 20 episodes.
SOLVED_CARTPOLE = 475.0


def greedy_actor(q_net: nn.Module) -> Actor:
    """``observations -> argmax_a Q(s, a)`` for a batch, without tracking gradients."""

    def act(observations: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            q = q_net(torch.as_tensor(observations, dtype=torch.float32))
        return q.argmax(dim=1).numpy()

    return act


@dataclass
class Episodes:
    """Per-episode observations ``(T_i, obs_dim)``, rewards ``(T_i,)`` and end flags."""

    observations: list[np.ndarray] = field(default_factory=list)
    rewards: list[np.ndarray] = field(default_factory=list)
    terminated: list[bool] = field(default_factory=list)

    def returns(self, first_steps: int | None = None) -> np.ndarray:
        """Undiscounted return of each episode (of its first ``first_steps`` steps)."""
        return np.array([r[:first_steps].sum() for r in self.rewards])


def run_episodes(act: Actor, envs: list[gym.Env], seed: int) -> Episodes:
    """One episode in each env (reset with ``seed, seed + 1, …``), all stepped together."""
    observations = [env.reset(seed=seed + i)[0] for i, env in enumerate(envs)]
    trace_obs: list[list[np.ndarray]] = [[] for _ in envs]
    trace_rew: list[list[float]] = [[] for _ in envs]
    ended = [False] * len(envs)
    terminated_flags = [False] * len(envs)
    while not all(ended):
        live = [i for i in range(len(envs)) if not ended[i]]
        actions = act(np.stack([observations[i] for i in live]))
        for i, action in zip(live, actions, strict=True):
            trace_obs[i].append(observations[i])
            observations[i], reward, terminated, truncated, _ = envs[i].step(int(action))
            trace_rew[i].append(float(reward))
            if terminated or truncated:
                ended[i], terminated_flags[i] = True, bool(terminated)
    return Episodes([np.array(o, dtype=np.float32) for o in trace_obs],
                    [np.array(r) for r in trace_rew], terminated_flags)


def _make_envs(env_id: str, n: int, max_episode_steps: int | None) -> list[gym.Env]:
    kwargs = {} if max_episode_steps is None else {"max_episode_steps": max_episode_steps}
    return [gym.make(env_id, **kwargs) for _ in range(n)]


def evaluate_policy(act: Actor, env_id: str = "CartPole-v1", n_episodes: int = 20,
                    seed: int = 10_000) -> np.ndarray:
    """Returns of ``n_episodes`` episodes of ``act`` (env reset seeds ``seed, seed + 1, …``)."""
    n_episodes = check_int("n_episodes", n_episodes, 1)
    return run_episodes(act, _make_envs(env_id, n_episodes, None), seed).returns()


class SolvedCheck:
    """``check(q_net, step) -> bool``: every ``every`` steps, is the greedy mean ≥ threshold?

    Pass it as ``stop_when`` to a training loop. Solved means the mean greedy return over
    ``n_episodes`` fixed-seed episodes reached ``threshold`` on ``consecutive`` evaluations in a
    row (a failed evaluation starts the count again): with one evaluation, a policy that is
    lucky on those 20 start states stops training and then fails on fresh ones; two in a row
    make the stop robust (``benchmarks/dqn_seeds.py``, ``benchmarks/pg_seeds.py``). ``history``
    keeps ``(step, mean return)`` of every evaluation; evaluation seeds are fixed, so two
    networks meet the same start states.
    """

    def __init__(self, env_id: str = "CartPole-v1", threshold: float = SOLVED_CARTPOLE,
                 every: int = 2_000, n_episodes: int = 20, seed: int = 10_000,
                 consecutive: int = 1) -> None:
        self.every = check_int("every", every, 1)
        self.n_episodes = check_int("n_episodes", n_episodes, 1)
        self.consecutive = check_int("consecutive", consecutive, 1)
        self.threshold, self.seed = float(threshold), seed
        self.envs = _make_envs(env_id, self.n_episodes, None)
        self.history: list[tuple[int, float]] = []
        self.streak = 0  # evaluations in a row at or above the threshold

    def evaluate(self, act: Actor, step: int) -> bool:
        """Evaluate ``act`` now, record it, and say whether the run counts as solved."""
        mean = float(run_episodes(act, self.envs, self.seed).returns().mean())
        self.history.append((step, mean))
        self.streak = self.streak + 1 if mean >= self.threshold else 0
        return self.streak >= self.consecutive

    def __call__(self, q_net: nn.Module, step: int) -> bool:
        if step % self.every:
            return False
        return self.evaluate(greedy_actor(q_net), step)


@dataclass(frozen=True)
class ValueCheck:
    """Greedy score and mean estimated vs actual discounted value over the visited states."""

    score: float
    estimated_value: float
    true_value: float


def value_vs_return(q_net: nn.Module, gamma: float, env_id: str = "CartPole-v1",
                    n_episodes: int = 5, seed: int = 20_000, score_steps: int = 500,
                    extra_steps: int = 500) -> ValueCheck:
    r"""Run greedy episodes; compare :math:`\max_a Q(s_t, a)` with the return :math:`G_t`.

    Episodes run for up to ``score_steps + extra_steps`` steps, and only states of the first
    ``score_steps`` steps are compared, so a state's true return is cut off at least
    ``extra_steps`` later: the error is at most :math:`\gamma^{500} r_{max}/(1-\gamma)`, 0.66
    for CartPole at γ = 0.99. ``score`` is the mean return of the first ``score_steps`` steps,
    which is exactly the CartPole-v1 score of the same episode.
    """
    envs = _make_envs(env_id, n_episodes, score_steps + extra_steps)
    episodes = run_episodes(greedy_actor(q_net), envs, seed)
    estimated, actual = [], []
    for observations, rewards in zip(episodes.observations, episodes.rewards, strict=True):
        first = observations[:score_steps]
        with torch.no_grad():
            estimated.append(q_net(torch.as_tensor(first)).max(dim=1).values.numpy())
        actual.append(returns_to_go(rewards, gamma)[:score_steps])
    return ValueCheck(float(episodes.returns(score_steps).mean()),
                      float(np.concatenate(estimated).mean()),
                      float(np.concatenate(actual).mean()))


def mean_interval(values: np.ndarray | torch.Tensor) -> tuple[float, float]:
    """``(mean, half-width)`` of a normal-approximation 95 % interval of the mean over the
    entries of ``values`` (e.g. 40 goals, or 1000 episodes' accuracies: 1.96 standard errors,
    standard deviation with ddof 1)."""
    values = np.asarray(values, dtype=float)
    if values.ndim != 1 or len(values) < 2:
        raise ValueError(f"values must be 1-D with at least 2 entries, got shape {values.shape}")
    return float(values.mean()), float(1.96 * values.std(ddof=1) / np.sqrt(len(values)))
