"""Tic-tac-toe, its exact values, PUCT search and exact game results (chapter 09)."""

import numpy as np
import pytest

from mini_lib.games.mcts import Node, SearchConfig, backup, puct_scores, search, visit_policy
from mini_lib.games.minimax import exact_values, move_values, negamax, optimal_moves
from mini_lib.games.players import (
    can_lose,
    outcome_probabilities,
    perfect_player,
    random_player,
)
from mini_lib.games.tictactoe import (
    EMPTY,
    SYMMETRIES,
    encode,
    is_terminal,
    legal_mask,
    legal_moves,
    outcome,
    play,
    reachable_positions,
    to_move,
    winner,
)


def board_of(text):
    """'XO. ...' row by row (9 characters, spaces ignored) -> a board."""
    marks = {"X": 1, "O": -1, ".": 0}
    return tuple(marks[c] for c in text.replace(" ", ""))


def test_the_known_counts_of_tic_tac_toe_positions():
    positions = reachable_positions()
    assert len(positions) == 5478  # every legal position, the empty board included
    finished = [b for b in positions if is_terminal(b)]
    assert len(finished) == 958
    assert sum(winner(b) == 1 for b in finished) == 626
    assert sum(winner(b) == -1 for b in finished) == 316
    assert sum(winner(b) == 0 for b in finished) == 16


def test_rules_turns_and_illegal_moves():
    assert to_move(EMPTY) == 1 and to_move(play(EMPTY, 4)) == -1
    assert outcome(board_of("XXX OO. ...")) == -1  # X completed a line: O, to move, lost
    assert outcome(board_of("XOX XOO OXX")) == 0
    assert outcome(EMPTY) is None and legal_moves(board_of("XXX OO. ...")) == []
    with pytest.raises(ValueError, match="move must be one of the legal moves"):
        play(play(EMPTY, 4), 4)
    with pytest.raises(ValueError, match="board must be 9 cells"):
        play((0,) * 8, 0)


def test_the_empty_board_is_a_draw_and_known_positions_have_known_values():
    assert negamax(EMPTY) == 0
    assert set(move_values(EMPTY).values()) == {0}  # every opening draws
    assert negamax(board_of("XX. OO. ...")) == 1 and optimal_moves(board_of("XX. OO. ...")) == [2]
    # O to move must block at 2, else X wins; blocking draws
    blocked = board_of("XX. .O. ...")
    assert negamax(blocked) == 0 and optimal_moves(blocked) == [2]
    # the corner-opening trap: X corner, O edge loses to best play
    assert move_values(play(EMPTY, 0))[1] == -1 and move_values(play(EMPTY, 0))[4] == 0
    # X in opposite corners, O in the centre, O to move: a corner loses to X's fork, an edge
    # holds the draw
    fork = board_of("X.. .O. ..X")
    assert negamax(fork) == 0
    assert {move_values(fork)[m] for m in (2, 6)} == {-1}
    assert {move_values(fork)[m] for m in (1, 3, 5, 7)} == {0}
    values = exact_values()
    assert len(values) == 5478 and values[EMPTY] == 0


def test_values_agree_with_their_one_step_backup_everywhere():
    for board, value in exact_values().items():
        final = outcome(board)
        if final is not None:
            assert value == final
        else:
            assert value == max(-negamax(play(board, m)) for m in legal_moves(board))


def test_encoding_is_from_the_player_to_move_and_symmetries_permute_the_cells():
    x = encode([board_of("X.. ... ..."), board_of("XO. ... ...")])
    assert x.shape == (2, 27)
    assert x[0, 0] == 0 and x[0, 9] == 1  # O to move: the X stone is the opponent's
    assert x[1, 0] == 1 and x[1, 10] == 1 and x[1, 18] == 0  # X to move: own 0, O's 1
    assert len(set(SYMMETRIES)) == 8
    board = board_of("XO. ..X ...")
    for perm in SYMMETRIES:
        image = tuple(board[i] for i in perm)
        assert negamax(image) == negamax(board)
        assert sorted(image) == sorted(board)


def test_puct_score_and_visit_policy():
    scores = puct_scores([0.5, 0.0], [0.2, 0.8], [3, 0], parent_visits=4, c_puct=1.0)
    assert np.allclose(scores, [0.5 + 0.2 * 2 / 4, 0.8 * 2 / 1])
    assert np.allclose(visit_policy([1, 3, 0], 1.0), [0.25, 0.75, 0])
    assert np.allclose(visit_policy([2, 3, 3], 0.0), [0, 0.5, 0.5])
    assert np.allclose(visit_policy([1, 2, 0], 0.5), [0.2, 0.8, 0])  # counts squared
    with pytest.raises(ValueError, match="temperature"):
        visit_policy([1, 2], -1.0)


def test_backup_flips_the_sign_at_every_step():
    a, b, c = EMPTY, play(EMPTY, 0), play(play(EMPTY, 0), 4)
    tree = {board: Node.expand(board, legal_mask(board) / 1.0) for board in (a, b, c)}
    backup(tree, [(a, 0), (b, 4), (c, 8)], value=1.0)  # good for the player to move at the leaf
    assert tree[c].W[tree[c].moves.index(8)] == -1.0  # X moved into it: bad for X
    assert tree[b].W[tree[b].moves.index(4)] == 1.0
    assert tree[a].W[tree[a].moves.index(0)] == -1.0
    assert all(sum(tree[n].N) == 1 for n in (a, b, c))


def exact_oracle(board):
    mask = legal_mask(board)
    return mask / mask.sum(), float(negamax(board))


@pytest.mark.parametrize("simulations", [20, 100])
def test_search_with_a_uniform_prior_and_exact_values_plays_perfectly(simulations):
    config = SearchConfig(simulations=simulations)
    for board in reachable_positions():
        if outcome(board) is None:
            counts = search(board, exact_oracle, config)
            assert int(np.argmax(counts)) in optimal_moves(board), board


def test_visits_concentrate_on_the_winning_move():
    won = board_of("XX. OO. ...")  # X to move: 2 wins at once
    counts = search(won, exact_oracle, SearchConfig(simulations=200))
    assert counts[2] / counts.sum() > 0.8
    # with a useless (uniform, value 0) evaluator the search still finds it from the rules
    counts = search(won, lambda b: (legal_mask(b) / legal_mask(b).sum(), 0.0),
                    SearchConfig(simulations=400))
    assert int(np.argmax(counts)) == 2


def test_root_noise_needs_a_generator_and_changes_the_priors():
    with pytest.raises(ValueError, match="rng"):
        search(EMPTY, exact_oracle, SearchConfig(noise_fraction=0.25))
    with pytest.raises(ValueError, match="finished game"):
        search(board_of("XXX OO. ..."), exact_oracle, SearchConfig())
    with pytest.raises(ValueError, match="simulations"):
        SearchConfig(simulations=0)
    rng = np.random.default_rng(0)
    first = search(EMPTY, exact_oracle, SearchConfig(noise_fraction=0.5), rng)
    second = search(EMPTY, exact_oracle, SearchConfig(noise_fraction=0.5), rng)
    assert first.sum() == second.sum() == 50 and not np.array_equal(first, second)


def test_exact_results_between_known_players():
    # perfect play against perfect play draws from the empty board
    assert np.allclose(outcome_probabilities(perfect_player, perfect_player, 1, EMPTY),
                       [0, 1, 0])
    # minimax never loses, against anyone, from the empty board on either side
    assert not can_lose(perfect_player, 1, EMPTY)
    assert not can_lose(perfect_player, -1, EMPTY)
    # a random player can lose, and its results against itself favour X (first move)
    assert can_lose(random_player, 1, EMPTY)
    win, draw, loss = outcome_probabilities(random_player, random_player, 1, EMPTY)
    assert win + draw + loss == pytest.approx(1.0)
    # the classic numbers for two uniformly random players: X wins 58.5 %, O 28.8 %
    assert win == pytest.approx(0.5849, abs=1e-3) and loss == pytest.approx(0.2881, abs=1e-3)
    with pytest.raises(ValueError, match="side"):
        can_lose(random_player, 0, EMPTY)
