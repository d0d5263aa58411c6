"""One network's exact scorecard: how it plays tic-tac-toe, with and without search.

:func:`scorecard` tries the network as the raw policy (``prior_player``) and with PUCT
search (``search_player``, both from :mod:`mini_lib.games.players`), each from
the **18 openings** — X's 9 first moves, the network playing O after each, or playing X having
been made to open there — and counts the openings from which (a) minimax, choosing among its
optimal moves in any way, and (b) *any* opponent can beat it. Against a uniformly random
opponent it gives the exact win, draw and loss probabilities from the empty board on each
side. Everything is exact (the game tree, not samples).
"""

from __future__ import annotations

import numpy as np

from mini_lib.games.mcts import SearchConfig
from mini_lib.games.network import PositionTable
from mini_lib.games.players import (
    Player,
    can_lose,
    outcome_probabilities,
    perfect_player,
    prior_player,
    random_player,
    search_player,
    value_errors,
)
from mini_lib.games.tictactoe import EMPTY, Board, play

__all__ = ["OPENINGS", "PLAYERS", "player_card", "scorecard"]

#: (start board, the network's side) for the 18 openings
OPENINGS: tuple[tuple[Board, int], ...] = tuple((play(EMPTY, m), side) for side in (1, -1)
                                                for m in range(9))
#: the players a scorecard tries: name -> search simulations (0: the network alone)
PLAYERS = {"network": 0, "search50": 50}


def player_card(player: Player) -> dict[str, np.ndarray]:
    """``lost_minimax``/``lost_any`` ``(18,)``: openings from which minimax / any opponent
    can beat ``player``; ``random_x``/``random_o`` ``(3,)``: exact [win, draw, loss] against a
    random player from the empty board as X / as O."""
    return {
        "lost_minimax": np.array([can_lose(player, side, start, perfect_player)
                                  for start, side in OPENINGS]),
        "lost_any": np.array([can_lose(player, side, start) for start, side in OPENINGS]),
        "random_x": outcome_probabilities(player, random_player, 1, EMPTY),
        "random_o": outcome_probabilities(player, random_player, -1, EMPTY),
    }


def scorecard(table: PositionTable) -> dict[str, np.ndarray]:
    """``value_error``, ``policy_optimal`` and, for each of :data:`PLAYERS`,
    ``<player>.<entry>`` of :func:`player_card`."""
    error, optimal = value_errors(table)
    card: dict[str, np.ndarray] = {"value_error": np.array(error),
                                   "policy_optimal": np.array(optimal)}
    for name, simulations in PLAYERS.items():
        player = (prior_player(table) if simulations == 0 else
                  search_player(table, SearchConfig(simulations=simulations)))
        card.update({f"{name}.{key}": value for key, value in player_card(player).items()})
    return card
