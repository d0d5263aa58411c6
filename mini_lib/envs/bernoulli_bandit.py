r"""Bernoulli multi-armed bandits (Duan et al. 2016, RL²): a task family for chapter 07.

A task is the vector :math:`p \in [0, 1]^k` of the arms' success probabilities; pulling arm
:math:`a` pays 1 with probability :math:`p_a`, else 0. A *trial* is ``n_pulls`` pulls of the
same bandit, after which the env returns ``truncated=True`` (it never terminates). Duan et
al. draw every :math:`p_a` independently from U[0, 1] (:func:`uniform_arms`); any other prior,
dependent arms included, is a *sampler* ``(rng, n, k) -> (n, k)`` given to :func:`sample_tasks`.

The observation is what a recurrent RL² policy needs to learn within a trial, a float32
vector of length ``k + 2``::

    [one-hot of the previous arm (k) | previous reward | t / n_pulls]

all zeros at the start of a trial (no arm pulled yet, reward 0, t = 0). Duan et al. feed
the previous action, reward and termination flag; for a bandit every pull ends an episode,
so the flag carries nothing and the elapsed fraction of the trial takes its place.

Two implementations with one arithmetic: :class:`BernoulliBanditEnv`, a Gymnasium env
(``check_env``, ``gym.make("mini_lib/BernoulliBandit-v0")``), whose reward draws come from
``self.np_random`` (seeded by ``reset(seed=...)``), and :class:`BatchedBernoulliBandit`, T
tasks side by side in torch. Both pay ``float(u < p[arm])`` for a uniform ``u`` in [0, 1),
so fed the same uniforms they agree pull for pull (a test checks it). The task interface
follows point navigation's: :func:`sample_tasks` and ``reset_task``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
import torch

from mini_lib.checks import check_int

__all__ = ["DEFAULT_ARMS", "DEFAULT_PULLS", "BatchedBernoulliBandit", "BernoulliBanditEnv",
           "TaskSampler", "check_unit_interval", "sample_tasks", "uniform_arms"]

DEFAULT_ARMS = 5
DEFAULT_PULLS = 10

#: ``sampler(rng, n, k)`` returns ``n`` tasks: an array ``(n, k)`` of probabilities in [0, 1].
TaskSampler = Callable[[np.random.Generator, int, int], np.ndarray]


def uniform_arms(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
    """Duan et al.'s prior: every arm's probability independently U[0, 1]; ``(n, k)`` float."""
    return rng.random((n, k))


def sample_tasks(n: int, seed: int, k: int = DEFAULT_ARMS,
                 sampler: TaskSampler = uniform_arms) -> np.ndarray:
    """``n`` bandits with ``k`` arms from ``sampler(numpy.random.default_rng(seed), n, k)``:
    a float64 array ``(n, k)``. The sampler's output is checked (shape, values in [0, 1])."""
    n = check_int("n", n, 1)
    k = check_int("k", k, 2)
    rng = np.random.default_rng(check_int("seed", seed, 0))
    if not callable(sampler):
        raise ValueError(f"sampler must be a callable (rng, n, k) -> array (n, k), "
                         f"got {sampler!r}")
    tasks = np.asarray(sampler(rng, n, k), dtype=np.float64)
    if tasks.shape != (n, k):
        raise ValueError(f"sampler must return an array of shape (n, k) = {(n, k)}, "
                         f"got shape {tasks.shape}")
    check_unit_interval("sampler output", tasks)
    return tasks


def check_unit_interval(name: str, probs: np.ndarray) -> None:
    """ValueError naming ``name`` unless every entry of ``probs`` is in [0, 1] (NaN is not)."""
    bad = ~((probs >= 0.0) & (probs <= 1.0))  # also catches nan
    if bad.any():
        raise ValueError(f"{name} must be probabilities in [0, 1], got {probs[bad][:5].tolist()} "
                         f"among them")


def _check_probs(name: str, probs: Any, k: int) -> np.ndarray:
    try:
        probs = np.array(probs, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} must be {k} arm probabilities, got {probs!r}") from error
    if probs.shape != (k,):
        raise ValueError(f"{name} must be {k} arm probabilities (shape ({k},)), "
                         f"got shape {probs.shape}")
    check_unit_interval(name, probs)
    return probs


class BernoulliBanditEnv(gym.Env):
    """The Gymnasium version: ``Discrete(k)`` actions (the arm), observation
    ``Box(0, 1, (k + 2,), float32)`` as in the module docstring, truncated after ``n_pulls``.

    ``k`` defaults to ``len(probs)`` or :data:`DEFAULT_ARMS`; without ``probs`` the task is
    evenly spread, ``linspace(0.1, 0.9, k)``, until ``reset_task`` or
    ``reset(options={"task": p})`` switches it. ``info["task"]`` is a copy of ``p``.
    """

    metadata: ClassVar[dict] = {"render_modes": []}

    def __init__(self, probs: Any = None, k: int | None = None,
                 n_pulls: int = DEFAULT_PULLS) -> None:
        if k is None:
            k = DEFAULT_ARMS if probs is None else int(np.size(probs))
        self.k = check_int("k", k, 2)
        self.n_pulls = check_int("n_pulls", n_pulls, 1)
        self.observation_space = gym.spaces.Box(0.0, 1.0, (self.k + 2,), np.float32)
        self.action_space = gym.spaces.Discrete(self.k)
        self.probs = (np.linspace(0.1, 0.9, self.k) if probs is None
                      else _check_probs("probs", probs, self.k))
        self._start_trial()

    def reset_task(self, task: Any) -> None:
        """Switch to another bandit (``sample_tasks`` makes them); takes effect at once."""
        self.probs = _check_probs("task", task, self.k)

    def reset(self, *, seed: int | None = None,
              options: dict | None = None) -> tuple[np.ndarray, dict]:
        """A new trial (t = 0, no previous arm or reward); ``options={"task": p}`` switches
        the bandit first. ``seed`` seeds ``self.np_random``, the source of the reward draws."""
        super().reset(seed=seed)
        if options and "task" in options:
            self.reset_task(options["task"])
        self._start_trial()
        return self._observation(), {"task": self.probs.copy()}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        """Pull arm ``action``: reward ``float(u < p[action])`` with ``u = np_random.random()``."""
        if not self.action_space.contains(action):
            raise ValueError(f"action must be an integer in [0, {self.k - 1}], got {action!r}")
        if self.t >= self.n_pulls:
            raise RuntimeError(f"the trial ended after {self.n_pulls} pulls; call reset()")
        u = self.np_random.random()
        self.previous_action = int(action)
        self.previous_reward = float(u < self.probs[self.previous_action])
        self.t += 1
        truncated = self.t >= self.n_pulls
        return (self._observation(), self.previous_reward, False, truncated,
                {"task": self.probs.copy()})

    def _start_trial(self) -> None:
        self.t = 0
        self.previous_action: int | None = None
        self.previous_reward = 0.0

    def _observation(self) -> np.ndarray:
        observation = np.zeros(self.k + 2, dtype=np.float32)
        if self.previous_action is not None:
            observation[self.previous_action] = 1.0
        observation[self.k] = self.previous_reward
        observation[self.k + 1] = self.t / self.n_pulls
        return observation


class BatchedBernoulliBandit:
    """``len(probs)`` bandits side by side, one trial each, all pulled in lockstep.

    ``step(actions, uniforms=None)`` takes one arm per task (``(T,)`` integers) and returns
    the observations ``(T, k + 2)`` float32, the rewards ``(T,)`` float32 and ``truncated``
    ``(T,)`` bool (all True at pull ``n_pulls``; stepping further raises ``RuntimeError``).
    Rewards are ``u < probs[task, arm]``, with ``u`` the given ``uniforms`` (``(T,)`` in
    [0, 1), compared in float64 like the Gymnasium env) or drawn from ``generator`` (torch's
    global generator if None).
    """

    def __init__(self, probs: Any, n_pulls: int = DEFAULT_PULLS,
                 generator: torch.Generator | None = None) -> None:
        probs = torch.as_tensor(probs, dtype=torch.float64).detach().cpu().clone()
        if probs.ndim != 2 or probs.shape[0] < 1:
            raise ValueError(f"probs must have shape (n_tasks, k), got {tuple(probs.shape)}")
        check_int("k", probs.shape[1], 2)
        check_unit_interval("probs", probs.numpy())
        self.probs = probs
        self.n_pulls = check_int("n_pulls", n_pulls, 1)
        self.generator = generator
        self.reset()

    @property
    def n_tasks(self) -> int:
        return self.probs.shape[0]

    @property
    def k(self) -> int:
        return self.probs.shape[1]

    def reset(self) -> torch.Tensor:
        """A new trial for every task; returns the observations ``(T, k + 2)`` (all zeros)."""
        self.t = 0
        self.previous_action: torch.Tensor | None = None
        self.previous_reward = torch.zeros(self.n_tasks, dtype=torch.float32)
        return self._observation()

    def step(self, actions: Any,
             uniforms: Any = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Pull one arm per task; returns ``(observations, rewards, truncated)``."""
        if self.t >= self.n_pulls:
            raise RuntimeError(f"the trials ended after {self.n_pulls} pulls; call reset()")
        actions = torch.as_tensor(actions)
        if actions.shape != (self.n_tasks,) or actions.is_floating_point() or actions.is_complex():
            raise ValueError(f"actions must be integers of shape ({self.n_tasks},), got "
                             f"{actions.dtype} of shape {tuple(actions.shape)}")
        actions = actions.long()
        if actions.numel() and (actions.min() < 0 or actions.max() >= self.k):
            raise ValueError(f"actions must be arms in [0, {self.k - 1}], got "
                             f"{actions.tolist()}")
        if uniforms is None:
            uniforms = torch.rand(self.n_tasks, generator=self.generator, dtype=torch.float64)
        uniforms = torch.as_tensor(uniforms, dtype=torch.float64)
        if uniforms.shape != (self.n_tasks,):
            raise ValueError(f"uniforms must have shape ({self.n_tasks},), got "
                             f"{tuple(uniforms.shape)}")
        if not ((uniforms >= 0.0) & (uniforms <= 1.0)).all():
            raise ValueError(f"uniforms must be in [0, 1], got {uniforms.tolist()}")
        chosen = self.probs.gather(1, actions[:, None])[:, 0]
        self.previous_action = actions
        self.previous_reward = (uniforms < chosen).to(torch.float32)
        self.t += 1
        truncated = torch.full((self.n_tasks,), self.t >= self.n_pulls, dtype=torch.bool)
        return self._observation(), self.previous_reward.clone(), truncated

    def _observation(self) -> torch.Tensor:
        observation = torch.zeros(self.n_tasks, self.k + 2, dtype=torch.float32)
        if self.previous_action is not None:
            observation[torch.arange(self.n_tasks), self.previous_action] = 1.0
        observation[:, self.k] = self.previous_reward
        observation[:, self.k + 1] = self.t / self.n_pulls
        return observation
