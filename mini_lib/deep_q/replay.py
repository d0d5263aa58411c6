"""A preallocated ring buffer of transitions for off-policy learning (DQN's replay memory).

Storing ``terminated`` (the episode really ended: no future value) separately from
``truncated`` (a time limit cut it: the future still counts) is what makes the TD target
correct under Gymnasium's API; the buffer keeps only ``terminated``, because a truncated
transition is bootstrapped like any other.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from mini_lib.checks import check_int

__all__ = ["ReplayBuffer", "TransitionBatch"]


@dataclass(frozen=True)
class TransitionBatch:
    """A batch of transitions as torch tensors (``terminated`` as float 0/1)."""

    observations: torch.Tensor
    actions: torch.Tensor
    rewards: torch.Tensor
    next_observations: torch.Tensor
    terminated: torch.Tensor


class ReplayBuffer:
    """Fixed-capacity FIFO memory; once full, the oldest transition is overwritten."""

    def __init__(self, capacity: int, observation_shape: tuple[int, ...]) -> None:
        self.capacity = check_int("capacity", capacity, 1)
        self.observations = np.zeros((capacity, *observation_shape), dtype=np.float32)
        self.next_observations = np.zeros((capacity, *observation_shape), dtype=np.float32)
        self.actions = np.zeros(capacity, dtype=np.int64)
        self.rewards = np.zeros(capacity, dtype=np.float32)
        self.terminated = np.zeros(capacity, dtype=np.float32)
        self._next = 0
        self.size = 0

    def __len__(self) -> int:
        return self.size

    def add(self, observation, action: int, reward: float, next_observation,
            terminated: bool) -> None:
        """Store one transition (overwrites the oldest when full)."""
        i = self._next
        self.observations[i] = observation
        self.actions[i] = action
        self.rewards[i] = reward
        self.next_observations[i] = next_observation
        self.terminated[i] = float(terminated)
        self._next = (i + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def sample(self, batch_size: int, rng: np.random.Generator) -> TransitionBatch:
        """``batch_size`` transitions drawn uniformly with replacement from those stored."""
        batch_size = check_int("batch_size", batch_size, 1)
        if self.size < batch_size:
            raise ValueError(f"batch_size must be <= the number of stored transitions "
                             f"({self.size}), got {batch_size}")
        index = rng.integers(0, self.size, size=batch_size)
        return TransitionBatch(
            observations=torch.from_numpy(self.observations[index]),
            actions=torch.from_numpy(self.actions[index]),
            rewards=torch.from_numpy(self.rewards[index]),
            next_observations=torch.from_numpy(self.next_observations[index]),
            terminated=torch.from_numpy(self.terminated[index]),
        )
