"""A mediocre "expert" and supervised pretraining on its games — AlphaGo's (2016) first stage,
which AlphaGo Zero (2017) dropped.

:func:`expert_player` looks one move ahead: it completes its own line if it can, else blocks
the opponent's, else moves at random. It never misses a win or a block, and knows nothing of
forks, so it loses to anyone who sets one up. :func:`expert_examples` records its games
against itself as ``(board, π, z)`` — π its move distribution, ``z`` the game's result for the
player to move — and :func:`pretrain` fits a :class:`~mini_lib.games.network.PolicyValueNet`
to them with the loss of the AlphaZero loop (:func:`~mini_lib.games.alphazero.fit_examples`).
"""

from __future__ import annotations

import dataclasses
import math
import time
from typing import NamedTuple

import numpy as np
import torch

from mini_lib.checks import check_in_range, check_int
from mini_lib.games.alphazero import Example, augment, fit_examples
from mini_lib.games.network import PolicyValueNet, position_table
from mini_lib.games.players import value_errors
from mini_lib.games.tictactoe import EMPTY, LINES, Board, legal_moves, outcome, play, to_move

__all__ = ["PretrainConfig", "PretrainResult", "expert_examples", "expert_moves",
           "expert_player", "pretrain"]


def _completing(board: Board, player: int) -> list[int]:
    return [m for m in legal_moves(board)
            if any(m in line and sum(board[i] == player for i in line) == 2 for line in LINES)]


def expert_moves(board: Board) -> list[int]:
    """Winning moves if any; else the moves that block an opponent's line; else every move."""
    mover = to_move(board)
    return _completing(board, mover) or _completing(board, -mover) or legal_moves(board)


def expert_player(board: Board) -> np.ndarray:
    """Uniform over :func:`expert_moves`."""
    probabilities = np.zeros(9)
    moves = expert_moves(board)
    probabilities[moves] = 1.0 / len(moves)
    return probabilities


def expert_examples(games: int, rng: np.random.Generator) -> list[Example]:
    """``games`` games of the expert against itself, as training examples."""
    examples = []
    for _ in range(check_int("games", games, 1)):
        board, visited = EMPTY, []
        while outcome(board) is None:
            policy = expert_player(board)
            visited.append((board, policy))
            board = play(board, int(rng.choice(9, p=policy)))
        final, n = float(outcome(board)), len(visited)
        examples += [Example(b, pi, final if (n - k) % 2 == 0 else -final)
                     for k, (b, pi) in enumerate(visited)]
    return examples


@dataclasses.dataclass(frozen=True)
class PretrainConfig:
    """Supervised pretraining on ``games`` expert games (8 symmetries each)."""

    games: int = 500
    steps: int = 1500
    batch: int = 128
    lr: float = 3e-3
    weight_decay: float = 1e-4
    hidden: int = 64

    def __post_init__(self) -> None:
        check_int("games", self.games, 1)
        check_int("steps", self.steps, 1)
        check_int("batch", self.batch, 1)
        check_in_range("lr", self.lr, 0.0, math.inf, low_open=True, high_open=True)
        check_in_range("weight_decay", self.weight_decay, 0.0, 1.0)
        check_int("hidden", self.hidden, 1)


class PretrainResult(NamedTuple):
    """The network (eval mode), losses, its value error and optimal-move fraction, seconds."""

    net: PolicyValueNet
    losses: list[float]
    value_error: float
    policy_optimal: float
    seconds: float


def pretrain(config: PretrainConfig, seed: int = 0,
             initial_state: dict[str, torch.Tensor] | None = None) -> PretrainResult:
    """Fit a network (fresh, or from ``initial_state``) to the expert's games."""
    if not isinstance(config, PretrainConfig):
        raise ValueError(f"config must be a PretrainConfig, got {type(config).__name__}")
    seed = check_int("seed", seed, 0)
    start = time.perf_counter()
    torch.manual_seed(seed)
    net = PolicyValueNet(config.hidden)
    if initial_state is not None:
        net.load_state_dict(initial_state)
    optimiser = torch.optim.Adam(net.parameters(), lr=config.lr,
                                 weight_decay=config.weight_decay)
    examples = augment(expert_examples(config.games, np.random.default_rng(seed)))
    losses = fit_examples(net, optimiser, examples, config.steps, config.batch,
                          torch.Generator().manual_seed(seed))
    error, optimal = value_errors(position_table(net))
    return PretrainResult(net, losses, error, optimal, time.perf_counter() - start)
