"""Exact game values of tic-tac-toe by negamax over the whole game tree (memoised).

``negamax(board)`` is the value for the player to move with perfect play on both sides:
``1`` a forced win, ``0`` a draw, ``-1`` a forced loss. The game-tree counterpart of chapter
00's value iteration: ``V(s) = max_a −V(s')``, with the sign flip because the players take
turns. All 5478 reachable positions are solved in about a tenth of a second.
"""

from __future__ import annotations

import functools

from mini_lib.games.tictactoe import Board, legal_moves, outcome, play, reachable_positions

__all__ = ["exact_values", "move_values", "negamax", "optimal_moves"]


@functools.cache
def negamax(board: Board) -> int:
    """The perfect-play value of ``board`` for the player to move."""
    final = outcome(board)
    if final is not None:
        return int(final)
    return max(-negamax(play(board, move)) for move in legal_moves(board))


def move_values(board: Board) -> dict[int, int]:
    """Each legal move's perfect-play value for the player making it."""
    return {move: -negamax(play(board, move)) for move in legal_moves(board)}


def optimal_moves(board: Board) -> list[int]:
    """The legal moves that keep the perfect-play value."""
    values = move_values(board)
    best = max(values.values(), default=None)
    return [move for move, value in values.items() if value == best]


def exact_values() -> dict[Board, int]:
    """``negamax`` of every reachable position."""
    return {board: negamax(board) for board in reachable_positions()}
