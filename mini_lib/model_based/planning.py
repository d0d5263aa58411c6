r"""Planning with a model: random shooting and the cross-entropy method, batched in torch.

Given a dynamics model :math:`\hat s' = f(s, a)` and a reward :math:`r(s, a, s')`, a planner
looks for the action sequence :math:`a_{0:H}` that maximises the predicted return
:math:`\sum_t r(\hat s_t, a_t, \hat s_{t+1})` from the current state, and the agent executes
only its first action (model-predictive control: it plans again at the next step).

- :func:`random_shooting`: sample ``n_sequences`` sequences uniformly in the action box,
  roll each through the model, keep the best (Nagabandi et al. 2018, 2019 use it with a
  learned model);
- :func:`cross_entropy_method`: refit a Gaussian over sequences to the best ``elite``
  fraction for a few iterations (Botev et al. 2013; Chua et al. 2018's PETS).

Everything carries a leading *task* axis — states ``(T, S)`` — so one call plans for many
tasks (or many episodes) at once; the model must accept ``(T, N, S)`` states and
``(T, N, A)`` actions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import torch

from mini_lib.checks import check_int, check_probability

__all__ = ["Plan", "cross_entropy_method", "predicted_returns", "random_shooting"]

#: ``model(states (T, N, S), actions (T, N, A)) -> next states (T, N, S)``
Model = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
#: ``reward(states, actions, next_states) -> rewards (T, N)``
Reward = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


class Plan(NamedTuple):
    """The best sequence found per task ``(T, H, A)``, its first action ``(T, A)`` and its
    predicted return ``(T,)``."""

    sequence: torch.Tensor
    first_action: torch.Tensor
    predicted_return: torch.Tensor


def predicted_returns(model: Model, reward: Reward, states: torch.Tensor,
                      sequences: torch.Tensor) -> torch.Tensor:
    """The model's return of every sequence ``(T, N, H, A)`` from ``states`` ``(T, S)``:
    ``(T, N)``, the rewards summed along the predicted trajectory."""
    if states.ndim != 2 or sequences.ndim != 4 or sequences.shape[0] != states.shape[0]:
        raise ValueError(f"states must be (T, S) and sequences (T, N, H, A) with the same T, "
                         f"got {tuple(states.shape)} and {tuple(sequences.shape)}")
    state = states[:, None, :].expand(-1, sequences.shape[1], -1)
    total = torch.zeros(sequences.shape[:2], dtype=sequences.dtype)
    for t in range(sequences.shape[2]):
        action = sequences[:, :, t]
        following = model(state, action)
        total = total + reward(state, action, following)
        state = following
    return total


def _check_box(low: torch.Tensor, high: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    low, high = torch.as_tensor(low, dtype=torch.float32), torch.as_tensor(high,
                                                                         dtype=torch.float32)
    if low.shape != high.shape or low.ndim != 1 or not bool((low < high).all()):
        raise ValueError(f"action_low and action_high must be 1-D of one shape with low < high, "
                         f"got {low.tolist()} and {high.tolist()}")
    return low, high


def _best(model: Model, reward: Reward, states: torch.Tensor,
          sequences: torch.Tensor) -> tuple[Plan, torch.Tensor]:
    returns = predicted_returns(model, reward, states, sequences)
    index = returns.argmax(dim=1)
    rows = torch.arange(len(states))
    best = sequences[rows, index]
    return Plan(best, best[:, 0], returns[rows, index]), returns


def random_shooting(model: Model, reward: Reward, states: torch.Tensor, horizon: int,
                    n_sequences: int, action_low, action_high,
                    generator: torch.Generator | None = None) -> Plan:
    """The best of ``n_sequences`` uniform random action sequences of length ``horizon``."""
    horizon = check_int("horizon", horizon, 1)
    n_sequences = check_int("n_sequences", n_sequences, 1)
    low, high = _check_box(action_low, action_high)
    shape = (states.shape[0], n_sequences, horizon, low.shape[0])
    sequences = low + (high - low) * torch.rand(shape, generator=generator)
    return _best(model, reward, states, sequences.to(states.dtype))[0]


def cross_entropy_method(model: Model, reward: Reward, states: torch.Tensor, horizon: int,
                         n_sequences: int, action_low, action_high, iterations: int = 5,
                         elite_fraction: float = 0.1,
                         generator: torch.Generator | None = None) -> Plan:
    """``iterations`` rounds: sample ``n_sequences`` from a Gaussian per task (clipped to the
    box; the first round centred in the box with half its width as standard deviation),
    refit mean and standard deviation to the best ``elite_fraction``. Returns the best
    sequence seen in any round."""
    horizon = check_int("horizon", horizon, 1)
    n_sequences = check_int("n_sequences", n_sequences, 2)
    iterations = check_int("iterations", iterations, 1)
    elite_fraction = check_probability("elite_fraction", elite_fraction)
    n_elite = max(1, round(elite_fraction * n_sequences))
    low, high = _check_box(action_low, action_high)
    n_tasks, dims = states.shape[0], low.shape[0]
    mean = ((low + high) / 2).expand(n_tasks, horizon, dims).clone()
    std = ((high - low) / 2).expand(n_tasks, horizon, dims).clone()
    best: Plan | None = None
    for _ in range(iterations):
        noise = torch.randn((n_tasks, n_sequences, horizon, dims), generator=generator)
        sequences = torch.maximum(torch.minimum(mean[:, None] + std[:, None] * noise, high), low)
        plan, returns = _best(model, reward, states, sequences.to(states.dtype))
        if best is None:
            best = plan
        else:
            better = plan.predicted_return > best.predicted_return
            best = Plan(*(torch.where(better.view(-1, *[1] * (new.ndim - 1)), new, old)
                          for new, old in zip(plan, best, strict=True)))
        elite = returns.topk(n_elite, dim=1).indices
        chosen = sequences[torch.arange(n_tasks)[:, None], elite]
        mean, std = chosen.mean(dim=1), chosen.std(dim=1, unbiased=False) + 1e-6
    return best
