"""Chapter 09: the AlphaZero loop, the expert, the scorecard and data/alphazero_ttt.pt."""

import itertools

import numpy as np
import pytest
import torch

from mini_lib.artefacts import alphazero_ttt
from mini_lib.artefacts.__main__ import GENERATORS
from mini_lib.games.alphazero import AlphaZeroConfig, augment, self_play_game, train_alphazero
from mini_lib.games.expert import expert_moves, expert_player
from mini_lib.games.network import PolicyValueNet, position_table, table_evaluator
from mini_lib.games.players import can_lose, perfect_player, prior_player
from mini_lib.games.scorecard import OPENINGS, player_card
from mini_lib.games.tictactoe import EMPTY, play


def board_of(text):
    marks = {"X": 1, "O": -1, ".": 0}
    return tuple(marks[c] for c in text.replace(" ", ""))


@pytest.fixture(scope="module")
def stored():
    return alphazero_ttt.load()


def test_self_play_examples_carry_the_result_for_the_player_to_move():
    torch.manual_seed(0)
    table = position_table(PolicyValueNet())
    game = self_play_game(table_evaluator(table), AlphaZeroConfig(simulations=10),
                          np.random.default_rng(0))
    boards = [e.board for e in game]
    assert boards[0] == EMPTY and len(boards) in range(5, 10)
    for e in game:
        assert e.policy.sum() == pytest.approx(1.0) and e.policy[np.array(e.board) != 0].sum() == 0
    # consecutive positions belong to opposite players: their results have opposite signs
    for a, b in itertools.pairwise(game):
        assert a.value == -b.value
    assert len(augment(game)) == 8 * len(game)


def test_the_expert_wins_when_it_can_blocks_otherwise_and_falls_for_forks():
    assert expert_moves(board_of("XX. OO. ...")) == [2]  # X to move: win
    assert expert_moves(board_of("XX. O.. ...")) == [2]  # O to move: block
    assert len(expert_moves(EMPTY)) == 9
    assert can_lose(expert_player, -1, play(EMPTY, 0), perfect_player)


def test_a_short_self_play_run_lowers_the_value_error():
    result = train_alphazero(AlphaZeroConfig(iterations=4, games=20, simulations=25), seed=0)
    assert result.value_error[-1] < result.value_error[0] - 0.15
    assert len(result.value_error) == len(result.policy_optimal) == 5
    with pytest.raises(ValueError, match="explore_moves"):
        AlphaZeroConfig(explore_moves=10)
    with pytest.raises(ValueError, match="c_puct"):
        AlphaZeroConfig(c_puct=-1.0)


def test_the_artefact_is_registered_and_refuses_unknown_runs():
    assert GENERATORS["alphazero_ttt"] is alphazero_ttt.generate
    with pytest.raises(ValueError, match="run must be"):
        alphazero_ttt.train_run("alphago.0")
    with pytest.raises(ValueError, match="needs start"):
        alphazero_ttt.train_run("pretrained_selfplay.0")


def test_regenerating_the_pretrained_run_reproduces_the_stored_weights(stored):
    again = alphazero_ttt.train_run("pretrained.0")
    for key in PolicyValueNet().state_dict():
        assert torch.equal(again[f"pretrained.0.{key}"], stored[f"pretrained.0.{key}"]), key


def test_the_stored_self_play_agents_never_lose_to_minimax(stored):
    for seed in alphazero_ttt.SEEDS:
        run = f"selfplay.{seed}"
        assert stored[f"{run}.card.network.lost_minimax"].sum() == 0
        assert stored[f"{run}.card.search50.lost_any"].sum() == 0
        assert stored[f"{run}.value_error"][-1] < stored[f"{run}.value_error"][0] - 0.3
    # the stored scorecard is what the stored weights give (re-scored here)
    table = position_table(alphazero_ttt.network(stored, "selfplay.0"))
    card = player_card(prior_player(table))
    assert np.array_equal(card["lost_minimax"], stored["selfplay.0.card.network.lost_minimax"])
    assert len(OPENINGS) == 18


def test_expert_pretraining_alone_loses_and_self_play_repairs_it(stored):
    for seed in alphazero_ttt.SEEDS:
        assert stored[f"pretrained.{seed}.card.search50.lost_minimax"].sum() >= 3
        assert stored[f"pretrained_selfplay.{seed}.card.search50.lost_minimax"].sum() == 0
        assert stored[f"selfplay_finetuned.{seed}.card.network.lost_minimax"].sum() >= 3

