r"""The AlphaZero loop on tic-tac-toe: self-play with tree search, then fit the network to it.

Silver et al. 2017 (AlphaGo Zero) and 2018 (AlphaZero): no human games, no hand-made
evaluation. Each iteration

1. plays :attr:`AlphaZeroConfig.games` games of the network against itself, every move chosen
   by PUCT search (:mod:`~mini_lib.games.mcts`) with Dirichlet noise at the root; the first
   :attr:`~AlphaZeroConfig.explore_moves` moves are sampled from the visit counts (τ = 1),
   the rest are the most visited move (the default, 9, samples the whole game: with only the
   first 2 sampled, the value head never saw the positions a weak opponent leads to, and the
   agent could be beaten from 4 of the 18 openings by minimax, seed 0, 30 iterations);
2. stores, for every position of every game, ``(board, π, z)``: π the root's visit
   distribution (the search's improved policy) and ``z`` the final result from the point of
   view of the player to move there — with the board's 8 symmetries;
3. trains the network for :attr:`~AlphaZeroConfig.train_steps` Adam steps on the examples of
   the last :attr:`~AlphaZeroConfig.buffer` iterations, on the loss
   ``−Σ π log p + (z − v)²`` (weight decay in the optimiser).

:func:`fit_examples` is step 3 alone, which supervised pretraining on an expert's games
(:mod:`~mini_lib.games.expert`) shares. The history records the value head's error against the
exact minimax values after every iteration (:func:`~mini_lib.games.players.value_errors`).
"""

from __future__ import annotations

import collections
import dataclasses
import math
import time
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from mini_lib.checks import check_finite, check_in_range, check_int
from mini_lib.games.mcts import Evaluator, SearchConfig, search, visit_policy
from mini_lib.games.network import (
    PolicyValueNet,
    masked_log_policy,
    position_table,
    table_evaluator,
)
from mini_lib.games.players import value_errors
from mini_lib.games.tictactoe import EMPTY, SYMMETRIES, Board, encode, legal_mask, outcome, play

__all__ = ["AlphaZeroConfig", "AlphaZeroResult", "Example", "augment", "fit_examples",
           "self_play_game", "train_alphazero"]


@dataclasses.dataclass(frozen=True)
class AlphaZeroConfig:
    """Hyper-parameters of :func:`train_alphazero` (see the module docstring)."""

    iterations: int = 40
    games: int = 40
    simulations: int = 50
    c_puct: float = 1.5
    dirichlet_alpha: float = 0.5
    noise_fraction: float = 0.25
    explore_moves: int = 9
    buffer: int = 4
    train_steps: int = 200
    batch: int = 128
    lr: float = 3e-3
    weight_decay: float = 1e-4
    hidden: int = 64

    def __post_init__(self) -> None:
        check_int("iterations", self.iterations, 1)
        check_int("games", self.games, 1)
        check_int("explore_moves", self.explore_moves, 0, 9)
        check_int("buffer", self.buffer, 1)
        check_int("train_steps", self.train_steps, 0)
        check_int("batch", self.batch, 1)
        check_in_range("lr", self.lr, 0.0, math.inf, low_open=True, high_open=True)
        check_in_range("weight_decay", self.weight_decay, 0.0, 1.0)
        check_int("hidden", self.hidden, 1)
        self.search  # noqa: B018 - validates simulations, c_puct and the noise

    @property
    def search(self) -> SearchConfig:
        """The self-play search (with root noise)."""
        return SearchConfig(self.simulations, self.c_puct, self.dirichlet_alpha,
                            self.noise_fraction)


class Example(NamedTuple):
    """One training position: the board, the target move distribution, the result ``z``."""

    board: Board
    policy: np.ndarray
    value: float


class AlphaZeroResult(NamedTuple):
    """The trained network (eval mode); per iteration (0 = before training) the value head's
    mean absolute error and the fraction of positions whose most likely move is optimal; the
    training losses; wall seconds."""

    net: PolicyValueNet
    value_error: list[float]
    policy_optimal: list[float]
    losses: list[float]
    seconds: float


def self_play_game(evaluator: Evaluator, config: AlphaZeroConfig, rng: np.random.Generator
                   ) -> list[Example]:
    """One game of the evaluator's search against itself, as training examples."""
    board, visited = EMPTY, []
    while outcome(board) is None:
        counts = search(board, evaluator, config.search, rng)
        temperature = 1.0 if len(visited) < config.explore_moves else 0.0
        visited.append((board, visit_policy(counts, 1.0)))
        board = play(board, int(rng.choice(9, p=visit_policy(counts, temperature))))
    final = float(outcome(board))  # for the player to move at the end
    n = len(visited)
    return [Example(b, pi, final if (n - k) % 2 == 0 else -final)
            for k, (b, pi) in enumerate(visited)]


def augment(examples: list[Example]) -> list[Example]:
    """Each example under the 8 symmetries of the board (moves permuted the same way)."""
    return [Example(tuple(e.board[i] for i in perm), e.policy[list(perm)], e.value)
            for e in examples for perm in SYMMETRIES]


def _tensors(examples: list[Example]) -> tuple[torch.Tensor, ...]:
    boards = [e.board for e in examples]
    return (encode(boards), torch.from_numpy(np.stack([legal_mask(b) for b in boards])),
            torch.tensor(np.stack([e.policy for e in examples]), dtype=torch.float32),
            torch.tensor([e.value for e in examples], dtype=torch.float32))


def fit_examples(net: PolicyValueNet, optimiser: torch.optim.Optimizer, examples: list[Example],
                 steps: int, batch: int, generator: torch.Generator) -> list[float]:
    """``steps`` Adam steps on random batches of ``examples`` (loss: policy cross-entropy +
    value squared error); returns the losses."""
    x, legal, target_policy, target_value = _tensors(examples)
    net.train()
    losses = []
    for step in range(steps):
        index = torch.randint(len(examples), (batch,), generator=generator)
        logits, value = net(x[index])
        policy_loss = -(target_policy[index] * masked_log_policy(logits, legal[index])).sum(1)
        loss = policy_loss.mean() + F.mse_loss(value, target_value[index])
        number = float(loss.detach())
        check_finite(f"policy/value training diverged at step {step}: the loss became {number}",
                     number, ["the learning rate is too large"])
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        losses.append(number)
    net.eval()
    return losses


def train_alphazero(config: AlphaZeroConfig, seed: int = 0,
                    initial_state: dict[str, torch.Tensor] | None = None,
                    progress: bool = False) -> AlphaZeroResult:
    """Run the loop; ``initial_state`` starts from given weights (e.g. a pretrained net)."""
    if not isinstance(config, AlphaZeroConfig):
        raise ValueError(f"config must be an AlphaZeroConfig, got {type(config).__name__}")
    seed = check_int("seed", seed, 0)
    start = time.perf_counter()
    torch.manual_seed(seed)
    rng, generator = np.random.default_rng(seed), torch.Generator().manual_seed(seed)
    net = PolicyValueNet(config.hidden)
    if initial_state is not None:
        net.load_state_dict(initial_state)
    optimiser = torch.optim.Adam(net.parameters(), lr=config.lr,
                                 weight_decay=config.weight_decay)
    recent: collections.deque[list[Example]] = collections.deque(maxlen=config.buffer)
    table = position_table(net)
    error, optimal = value_errors(table)
    value_error, policy_optimal, losses = [error], [optimal], []
    bar = tqdm(range(config.iterations), disable=not progress, desc="self-play")
    for _ in bar:
        evaluator = table_evaluator(table)
        games = [self_play_game(evaluator, config, rng) for _ in range(config.games)]
        recent.append(augment([e for game in games for e in game]))
        examples = [e for part in recent for e in part]
        losses += fit_examples(net, optimiser, examples, config.train_steps, config.batch,
                               generator)
        table = position_table(net)
        error, optimal = value_errors(table)
        value_error.append(error)
        policy_optimal.append(optimal)
        if progress:
            bar.set_postfix(value_error=f"{error:.3f}", optimal=f"{optimal:.0%}")
    return AlphaZeroResult(net, value_error, policy_optimal, losses, time.perf_counter() - start)
