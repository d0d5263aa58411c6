r"""The RL² network: a GRU whose hidden state is the agent's memory of the current trial.

Input at pull ``t`` is the bandit's observation (:mod:`mini_lib.envs.bernoulli_bandit`):
the previous arm (one-hot), the previous reward and ``t / n``. The GRU's hidden state
:math:`h_t` summarises the trial so far; two linear heads read it: the arm's logits
:math:`\pi(\cdot \mid h_t)` and the value :math:`V(h_t)` (one body for actor and critic).
The hidden state is carried across the ``n`` pulls of a trial and reset to zero between
trials — the reset is what makes a trial "one task".
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from mini_lib.checks import check_int

__all__ = ["RecurrentActorCritic", "RecurrentOutput"]


class RecurrentOutput(NamedTuple):
    """What :meth:`RecurrentActorCritic.forward` returns, time on the first axis."""

    logits: torch.Tensor  # (T, B, k)
    values: torch.Tensor  # (T, B)
    states: torch.Tensor  # (T, B, H): the hidden state h_t after reading input t
    last_state: torch.Tensor  # (1, B, H): to continue the sequence


class RecurrentActorCritic(nn.Module):
    """GRU body of width ``hidden`` with a policy head (``n_arms`` logits) and a value head.

    ``forward(inputs, state=None)`` reads a whole sequence ``(T, B, n_arms + 2)`` in one fused
    GRU call (training) or one step ``T = 1`` at a time with the returned ``last_state``
    (acting); ``state=None`` starts from zeros, the start of a trial.
    """

    def __init__(self, n_arms: int, hidden: int = 64) -> None:
        super().__init__()
        self.n_arms = check_int("n_arms", n_arms, 2)
        self.hidden = check_int("hidden", hidden, 1)
        self.gru = nn.GRU(self.n_arms + 2, self.hidden)
        self.policy_head = nn.Linear(self.hidden, self.n_arms)
        self.value_head = nn.Linear(self.hidden, 1)

    def forward(self, inputs: torch.Tensor,
                state: torch.Tensor | None = None) -> RecurrentOutput:
        if inputs.ndim != 3 or inputs.shape[2] != self.n_arms + 2:
            raise ValueError(f"inputs must have shape (T, B, n_arms + 2 = {self.n_arms + 2}), "
                             f"got {tuple(inputs.shape)}")
        states, last_state = self.gru(inputs, state)
        return RecurrentOutput(self.policy_head(states), self.value_head(states)[..., 0],
                               states, last_state)
