"""Players as move distributions, and exact results of games between them.

A **player** maps a board (its turn) to move probabilities ``(9,)``. Because tic-tac-toe is
small, results need no sampling: :func:`outcome_probabilities` walks the game tree, weighting
each branch by both players' probabilities, and returns the exact chances of a win, a draw and
a loss; :func:`can_lose` asks whether *any* sequence of opponent moves beats the player (an
opponent who tries everything — a random player's worst case, and minimax's).

Players: :func:`random_player`, :func:`perfect_player` (uniform over the minimax-optimal
moves), :func:`search_player` (PUCT search on a network's table, no root noise; memoised, as
the search is deterministic) and :func:`prior_player` (the network alone, no search).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np

from mini_lib.games.mcts import SearchConfig, search, visit_policy
from mini_lib.games.minimax import negamax, optimal_moves
from mini_lib.games.network import PositionTable, table_evaluator
from mini_lib.games.tictactoe import Board, legal_mask, legal_moves, outcome, play, to_move

__all__ = ["Player", "can_lose", "outcome_probabilities", "perfect_player", "prior_player",
           "random_player", "search_player", "value_errors"]

Player = Callable[[Board], np.ndarray]


def random_player(board: Board) -> np.ndarray:
    """Every legal move equally likely."""
    mask = legal_mask(board)
    return mask / mask.sum()


def perfect_player(board: Board) -> np.ndarray:
    """Uniform over the moves that keep the minimax value."""
    probabilities = np.zeros(9)
    best = optimal_moves(board)
    probabilities[best] = 1.0 / len(best)
    return probabilities


def search_player(table: PositionTable, config: SearchConfig, temperature: float = 0.0
                  ) -> Player:
    """PUCT search with the network's table (``config.noise_fraction`` must be 0), moves from
    the visit counts at ``temperature``."""
    if config.noise_fraction:
        raise ValueError(f"a search player is deterministic: noise_fraction must be 0, got "
                         f"{config.noise_fraction}")
    evaluator = table_evaluator(table)

    @functools.cache
    def player(board: Board) -> np.ndarray:
        return visit_policy(search(board, evaluator, config), temperature)

    return player


def prior_player(table: PositionTable, temperature: float = 0.0) -> Player:
    """The network's move probabilities alone (``temperature`` 0: its most likely move)."""
    def player(board: Board) -> np.ndarray:
        return visit_policy(table[board][0], temperature)

    return player


def outcome_probabilities(player: Player, opponent: Player, side: int, start: Board
                          ) -> np.ndarray:
    """Exact ``[win, draw, loss]`` probabilities for ``player`` playing ``side`` (1 = X,
    −1 = O) from ``start``."""
    if side not in (1, -1):
        raise ValueError(f"side must be 1 (X) or -1 (O), got {side!r}")

    @functools.cache
    def result(board: Board) -> tuple[float, float, float]:
        final = outcome(board)
        if final is not None:
            if final == 0:
                return 0.0, 1.0, 0.0
            return (0.0, 0.0, 1.0) if to_move(board) == side else (1.0, 0.0, 0.0)
        probabilities = (player if to_move(board) == side else opponent)(board)
        total = np.zeros(3)
        for move in legal_moves(board):
            if probabilities[move] > 0:
                total += probabilities[move] * np.array(result(play(board, move)))
        return tuple(total)

    return np.array(result(start))


def can_lose(player: Player, side: int, start: Board, opponent: Player | None = None) -> bool:
    """Whether some line of play loses for ``player`` (``side``) from ``start``: every move the
    player gives positive probability, and every opponent move (or only those ``opponent``
    gives positive probability)."""
    if side not in (1, -1):
        raise ValueError(f"side must be 1 (X) or -1 (O), got {side!r}")

    @functools.cache
    def loses(board: Board) -> bool:
        final = outcome(board)
        if final is not None:
            return final != 0 and to_move(board) == side
        mover = player if to_move(board) == side else opponent
        moves = legal_moves(board)
        if mover is not None:
            probabilities = mover(board)
            moves = [m for m in moves if probabilities[m] > 0]
        return any(loses(play(board, m)) for m in moves)

    return loses(start)


def value_errors(table: PositionTable) -> tuple[float, float]:
    """Over every reachable position with a move left: the mean absolute error of the value
    head against the exact minimax value, and the fraction of positions whose most likely move
    is optimal."""
    errors, optimal = [], []
    for board, (priors, value) in table.items():
        if outcome(board) is None:
            errors.append(abs(value - negamax(board)))
            optimal.append(int(np.argmax(priors)) in optimal_moves(board))
    return float(np.mean(errors)), float(np.mean(optimal))
