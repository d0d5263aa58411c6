"""Tic-tac-toe as plain tuples: a board is 9 cells, ``1`` for X, ``-1`` for O, ``0`` empty.

Cells are numbered row by row::

    0 | 1 | 2
    3 | 4 | 5
    6 | 7 | 8

X moves first, so the player to move is X when both have as many stones (:func:`to_move`).
Values are always from the point of view of the **player to move** (the negamax convention):
:func:`outcome` of a finished game is ``-1`` when the previous player completed a line (the
player to move has lost) and ``0`` for a full board without a line. A board is hashable, so
tables of values and visit counts are plain dictionaries.
"""

from __future__ import annotations

import functools

import numpy as np
import torch

__all__ = ["EMPTY", "LINES", "SYMMETRIES", "Board", "encode", "is_terminal", "legal_mask",
           "legal_moves", "outcome", "play", "reachable_positions", "render", "to_move",
           "winner"]

Board = tuple[int, ...]
EMPTY: Board = (0,) * 9
LINES = ((0, 1, 2), (3, 4, 5), (6, 7, 8), (0, 3, 6), (1, 4, 7), (2, 5, 8), (0, 4, 8), (2, 4, 6))


def _symmetries() -> tuple[tuple[int, ...], ...]:
    grid = np.arange(9).reshape(3, 3)
    found = []
    for turned in (np.rot90(grid, k) for k in range(4)):
        for image in (turned, turned.T):
            found.append(tuple(int(i) for i in image.flatten()))
    return tuple(found)


#: the 8 symmetries of the square as cell permutations: ``new[i] = old[perm[i]]``
SYMMETRIES = _symmetries()


def _check_board(board: Board) -> Board:
    if len(board) != 9 or any(cell not in (-1, 0, 1) for cell in board):
        raise ValueError(f"board must be 9 cells in {{-1, 0, 1}}, got {board!r}")
    return tuple(board)


def to_move(board: Board) -> int:
    """``1`` (X) or ``-1`` (O): who plays next."""
    return 1 if board.count(1) == board.count(-1) else -1


def winner(board: Board) -> int:
    """``1`` or ``-1`` if that player has three in a line, else ``0``."""
    for a, b, c in LINES:
        if board[a] != 0 and board[a] == board[b] == board[c]:
            return board[a]
    return 0


def is_terminal(board: Board) -> bool:
    """A line is complete or the board is full."""
    return winner(board) != 0 or 0 not in board


def outcome(board: Board) -> float | None:
    """The finished game's value for the player to move (``-1`` lost, ``0`` drawn), or
    ``None`` while the game goes on."""
    if winner(board) != 0:
        return -1.0
    return 0.0 if 0 not in board else None


def legal_moves(board: Board) -> list[int]:
    """The empty cells, or none once the game is over."""
    return [] if is_terminal(board) else [i for i, cell in enumerate(board) if cell == 0]


def legal_mask(board: Board) -> np.ndarray:
    """Boolean ``(9,)``: which moves are legal."""
    mask = np.zeros(9, dtype=bool)
    mask[legal_moves(board)] = True
    return mask


def play(board: Board, move: int) -> Board:
    """The board after the player to move takes cell ``move``."""
    board = _check_board(board)
    if move not in legal_moves(board):
        raise ValueError(f"move must be one of the legal moves {legal_moves(board)}, got "
                         f"{move!r}")
    cells = list(board)
    cells[move] = to_move(board)
    return tuple(cells)


@functools.cache
def reachable_positions() -> tuple[Board, ...]:
    """Every board reachable from the empty one by legal play (5478 of them), in the order a
    depth-first walk first meets them."""
    seen: dict[Board, None] = {}
    stack = [EMPTY]
    while stack:
        board = stack.pop()
        if board in seen:
            continue
        seen[board] = None
        stack.extend(play(board, move) for move in reversed(legal_moves(board)))
    return tuple(seen)


def encode(boards: list[Board] | tuple[Board, ...]) -> torch.Tensor:
    """Network input ``(n, 27)``: for each board the player to move's stones, the opponent's
    stones and the empty cells, as three 0/1 planes of 9 (so X and O share one network)."""
    cells = torch.tensor(boards, dtype=torch.float32).reshape(-1, 9)
    mover = torch.tensor([to_move(b) for b in boards], dtype=torch.float32)[:, None]
    own = cells * mover
    return torch.cat([(own == 1).float(), (own == -1).float(), (own == 0).float()], dim=1)


def render(board: Board) -> str:
    """Three lines of X, O and · (empty)."""
    marks = {1: "X", -1: "O", 0: "·"}
    return "\n".join(" ".join(marks[board[3 * r + c]] for c in range(3)) for r in range(3))
