"""The policy/value network: one mapping board → (move probabilities, value).

Input: :func:`~mini_lib.games.tictactoe.encode` (27 numbers, from the player to move's side);
a shared body (:func:`mini_lib.nets.mlp`, ReLU) and two heads: 9 move logits (illegal moves
masked out before the softmax) and a value in (−1, 1) (tanh) for the player to move.

Tic-tac-toe has only 5478 positions, so :func:`position_table` evaluates them all in one
batched forward pass, and the tree search looks its answers up (:func:`table_evaluator`):
fast, and the same numbers whichever order the search asks in.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from mini_lib.checks import check_int
from mini_lib.games.mcts import Evaluator
from mini_lib.games.tictactoe import Board, encode, legal_mask, reachable_positions
from mini_lib.nets import mlp

__all__ = ["PolicyValueNet", "PositionTable", "masked_log_policy", "position_table",
           "table_evaluator"]

#: what an illegal move's logit is replaced by (finite, so 0 · log p stays 0)
ILLEGAL_LOGIT = -1e4


class PolicyValueNet(nn.Module):
    """``encode(boards)`` ``(n, 27)`` → ``(logits (n, 9), value (n,))``."""

    def __init__(self, hidden: int = 64, layers: int = 2) -> None:
        super().__init__()
        self.hidden = check_int("hidden", hidden, 1)
        self.layers = check_int("layers", layers, 1, 6)
        self.body = nn.Sequential(mlp((27, *[hidden] * layers), nn.ReLU), nn.ReLU())
        self.policy = nn.Linear(hidden, 9)
        self.value = nn.Linear(hidden, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Move logits and the value for the player to move."""
        features = self.body(x)
        return self.policy(features), torch.tanh(self.value(features)).squeeze(-1)


def masked_log_policy(logits: torch.Tensor, legal: torch.Tensor) -> torch.Tensor:
    """Log move probabilities ``(n, 9)`` with illegal moves (``legal`` False) excluded."""
    return F.log_softmax(logits.masked_fill(~legal, ILLEGAL_LOGIT), dim=-1)


PositionTable = dict[Board, tuple[np.ndarray, float]]


def position_table(net: PolicyValueNet, boards: tuple[Board, ...] | None = None
                   ) -> PositionTable:
    """``board → (move probabilities (9,), value)`` for every reachable position (or
    ``boards``), from one batched forward pass in eval mode."""
    boards = reachable_positions() if boards is None else boards
    legal = torch.from_numpy(np.stack([legal_mask(b) for b in boards]))
    net.eval()
    with torch.no_grad():
        logits, values = net(encode(boards))
        probabilities = masked_log_policy(logits, legal).exp().double().numpy()
    probabilities[~legal.numpy()] = 0.0
    return {b: (probabilities[i], float(values[i])) for i, b in enumerate(boards)}


def table_evaluator(table: PositionTable) -> Evaluator:
    """An evaluator for :func:`~mini_lib.games.mcts.search` that looks positions up."""
    return table.__getitem__
