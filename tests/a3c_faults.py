"""Helpers for tests/test_a3c.py that must run inside worker processes.

Spawned children unpickle functions by module and name, so these live at the top level of an
importable module (pytest puts tests/ on ``sys.path``, and spawn passes ``sys.path`` on to the
children). Exceptions carry the wall time at which they were raised, so a test can time how
fast the caller re-raises them.
"""

from __future__ import annotations

import time

import gymnasium as gym
import torch

from mini_lib.policy_gradient.shared_adam import SharedAdam

FAIL_AFTER_STEPS = 200


class InjectedFault(RuntimeError):
    """Raised by a worker's environment on purpose; ``args == (message, time raised)``."""


class UnpicklableFault(RuntimeError):
    """Pickles, but cannot be rebuilt: ``__init__`` needs two arguments, ``args`` has one."""

    def __init__(self, step: int, raised_at: float) -> None:
        super().__init__(f"unpicklable fault at step {step} (raised at {raised_at})")


class _FailAfter(gym.Wrapper):
    def __init__(self, env: gym.Env, steps: int, error: type[Exception]) -> None:
        super().__init__(env)
        self.steps, self.error, self.taken = steps, error, 0

    def step(self, action):
        self.taken += 1
        if self.taken > self.steps:
            raise self.error(f"injected fault at step {self.taken}", time.time())
        return self.env.step(action)


def make_failing_cartpole() -> gym.Env:
    """CartPole-v1 that raises :class:`InjectedFault` on its 201st step."""
    return _FailAfter(gym.make("CartPole-v1"), FAIL_AFTER_STEPS, InjectedFault)


def make_unpicklable_failing_cartpole() -> gym.Env:
    """CartPole-v1 that raises :class:`UnpicklableFault` on its 201st step."""
    return _FailAfter(gym.make("CartPole-v1"), FAIL_AFTER_STEPS, UnpicklableFault)


def adam_steps_in_child(params: list[torch.Tensor], state: list[dict[str, torch.Tensor]],
                        lr: float, n_steps: int) -> None:
    """Join a parent's :class:`SharedAdam` through its shared state and take ``n_steps``
    steps with gradient ``p + 1`` (a child process's target)."""
    optimizer = SharedAdam(params, lr=lr, state=state)
    for _ in range(n_steps):
        for p in params:
            p.grad = p.detach() + 1.0
        optimizer.step()

