"""Collecting experience: fixed-length rollouts (actor-critic) and whole episodes (REINFORCE).

No gradients are kept while acting; the losses re-evaluate the stored observations.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from mini_lib.checks import check_int
from mini_lib.policy_gradient.networks import CategoricalPolicy, check_policy_env

__all__ = ["EpisodeBatch", "Rollout", "RolloutState", "collect_episodes", "collect_rollout",
           "pad_episodes"]


def pad_episodes(sequences: Sequence, value: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack variable-length episodes ``(T_i, ...)`` into ``(B, T_max, ...)`` and a ``(B, T_max)``
    mask (1 on real steps, 0 on padding)."""
    tensors = [torch.as_tensor(np.asarray(s)) for s in sequences]
    padded = nn.utils.rnn.pad_sequence(tensors, batch_first=True, padding_value=value)
    lengths = torch.tensor([len(t) for t in tensors])
    mask = (torch.arange(padded.shape[1])[None, :] < lengths[:, None]).float()
    return padded, mask



@dataclass
class RolloutState:
    """Where a stream of rollouts stands: the current observation, the running episode and
    the random stream that samples the actions."""

    observation: np.ndarray
    rng: np.random.Generator
    episode_return: float = 0.0
    episode_length: int = 0

    @classmethod
    def start(cls, env: gym.Env, seed: int | None = None) -> RolloutState:
        """Reset ``env`` (with ``seed``) and start a new episode; actions are drawn from
        ``numpy.random.default_rng(seed)``."""
        observation, _ = env.reset(seed=seed)
        return cls(np.asarray(observation, dtype=np.float32), np.random.default_rng(seed))


@dataclass(frozen=True)
class Rollout:
    """``n_steps`` consecutive transitions, possibly spanning several episodes.

    ``next_observations[t]`` is the observation step ``t`` led to: at the end of an episode
    that is the final observation (before the reset), which truncation bootstraps from.
    ``episode_returns``/``episode_ends`` list the episodes that ended inside the rollout (their
    undiscounted return and the index of their last step).
    """

    observations: torch.Tensor
    actions: torch.Tensor
    rewards: torch.Tensor
    next_observations: torch.Tensor
    terminated: torch.Tensor
    truncated: torch.Tensor
    episode_returns: list[float] = field(default_factory=list)
    episode_ends: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return self.rewards.shape[0]


def _act(policy: CategoricalPolicy, observation: np.ndarray, rng: np.random.Generator) -> int:
    """Sample ``a ~ π(·|s)`` by inversion in NumPy: building a ``Categorical`` for every single
    step would cost several times more than the network itself."""
    with torch.no_grad():
        logits = policy.logits(torch.as_tensor(observation)).numpy()
    cumulative = np.cumsum(np.exp(logits - logits.max()))
    action = np.searchsorted(cumulative, rng.random() * cumulative[-1], side="right")
    return int(min(action, len(cumulative) - 1))


def collect_rollout(env: gym.Env, policy: CategoricalPolicy, n_steps: int,
                    state: RolloutState) -> Rollout:
    """Run ``policy`` for ``n_steps`` steps from ``state`` (updated in place, episodes that end
    are reset). No gradients are kept: the loss re-evaluates the stored observations."""
    check_policy_env(env)
    n_steps = check_int("n_steps", n_steps, 1)
    observations, actions, rewards, next_observations = [], [], [], []
    terminated_flags, truncated_flags, returns, ends = [], [], [], []
    for t in range(n_steps):
        action = _act(policy, state.observation, state.rng)
        next_observation, reward, terminated, truncated, _ = env.step(action)
        next_observation = np.asarray(next_observation, dtype=np.float32)
        observations.append(state.observation)
        actions.append(action)
        rewards.append(float(reward))
        next_observations.append(next_observation)
        terminated_flags.append(bool(terminated))
        truncated_flags.append(bool(truncated))
        state.episode_return += float(reward)
        state.episode_length += 1
        if terminated or truncated:
            returns.append(state.episode_return)
            ends.append(t)
            observation, _ = env.reset()
            state.observation = np.asarray(observation, dtype=np.float32)
            state.episode_return, state.episode_length = 0.0, 0
        else:
            state.observation = next_observation
    return Rollout(torch.as_tensor(np.stack(observations)), torch.tensor(actions),
                   torch.tensor(rewards), torch.as_tensor(np.stack(next_observations)),
                   torch.tensor(terminated_flags), torch.tensor(truncated_flags), returns, ends)


@dataclass(frozen=True)
class EpisodeBatch:
    """Whole episodes padded to a common length ``T`` (REINFORCE's unit of experience).

    ``observations (B, T, obs)``, ``actions (B, T)``, ``rewards (B, T)``, ``mask (B, T)`` 1 on
    real steps; ``truncated (B,)`` True where a time limit (not termination) ended the
    episode, and ``final_observations (B, obs)`` the observation it ended in.
    """

    observations: torch.Tensor
    actions: torch.Tensor
    rewards: torch.Tensor
    mask: torch.Tensor
    truncated: torch.Tensor
    final_observations: torch.Tensor

    @property
    def lengths(self) -> torch.Tensor:
        return self.mask.sum(dim=1).long()

    @property
    def returns(self) -> list[float]:
        """Undiscounted return of each episode."""
        return self.rewards.sum(dim=1).tolist()


def collect_episodes(env: gym.Env, policy: CategoricalPolicy, n_episodes: int,
                     rng: np.random.Generator) -> EpisodeBatch:
    """Run ``n_episodes`` whole episodes of ``policy`` (each starts with ``env.reset()``),
    sampling actions with ``rng``."""
    check_policy_env(env)
    n_episodes = check_int("n_episodes", n_episodes, 1)
    observations, actions, rewards, truncated, finals = [], [], [], [], []
    for _ in range(n_episodes):
        observation = np.asarray(env.reset()[0], dtype=np.float32)
        obs, acts, rews = [], [], []
        terminated = was_truncated = False
        while not (terminated or was_truncated):
            action = _act(policy, observation, rng)
            next_observation, reward, terminated, was_truncated, _ = env.step(action)
            obs.append(observation)
            acts.append(action)
            rews.append(float(reward))
            observation = np.asarray(next_observation, dtype=np.float32)
        observations.append(np.stack(obs))
        actions.append(np.array(acts))
        rewards.append(np.array(rews, dtype=np.float32))
        truncated.append(bool(was_truncated and not terminated))
        finals.append(observation)
    padded_obs, mask = pad_episodes(observations)
    return EpisodeBatch(padded_obs, pad_episodes(actions)[0], pad_episodes(rewards)[0], mask,
                        torch.tensor(truncated), torch.as_tensor(np.stack(finals)))
