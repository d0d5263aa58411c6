r"""PUCT Monte-Carlo tree search guided by a policy/value evaluator (AlphaGo Zero, AlphaZero).

An **evaluator** maps a board to ``(priors, value)``: move probabilities ``(9,)`` (zero on
illegal moves) and the value for the player to move, in [−1, 1]. Each node of the tree keeps,
for every move ``a``, the prior ``P(a)``, the visit count ``N(a)`` and the total value
``W(a)`` backed up through it (from the point of view of the player at that node). One
**simulation**

1. walks down from the root, at each node taking the move with the largest PUCT score
   :func:`puct_scores`, ``Q(a) + c_puct · P(a) · √N_parent / (1 + N(a))`` with
   ``Q(a) = W(a)/N(a)`` (0 for a move never tried) and ``N_parent = 1 + Σ_b N(b)``;
2. at a board not yet in the tree, asks the evaluator (a finished game's value is exact) and
   adds the node;
3. backs the value up the path, **flipping its sign at every step** (:func:`backup`): a
   position good for the player to move is bad for the one who moved into it.

After the simulations, the root's visit counts are the improved policy: search is the
policy-improvement operator, the network's priors the policy it improves. Root noise
(Dirichlet, as in AlphaZero) makes self-play explore. The tree is keyed by board, so a
position reached by two move orders shares one node (tic-tac-toe's tree is a graph).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import numpy as np

from mini_lib.checks import check_in_range, check_int
from mini_lib.games.tictactoe import Board, legal_moves, outcome, play

__all__ = ["Evaluator", "Node", "SearchConfig", "backup", "puct_scores", "search",
           "visit_policy"]

Evaluator = Callable[[Board], tuple[np.ndarray, float]]


@dataclasses.dataclass(frozen=True)
class SearchConfig:
    """``simulations`` per move; ``c_puct``; root noise ``Dir(dirichlet_alpha)`` mixed in with
    weight ``noise_fraction`` (0: none, for evaluation)."""

    simulations: int = 50
    c_puct: float = 1.5
    dirichlet_alpha: float = 0.5
    noise_fraction: float = 0.0

    def __post_init__(self) -> None:
        check_int("simulations", self.simulations, 1, 100_000)
        check_in_range("c_puct", self.c_puct, 0.0, 100.0)
        check_in_range("dirichlet_alpha", self.dirichlet_alpha, 0.0, math.inf, low_open=True,
                       high_open=True)
        check_in_range("noise_fraction", self.noise_fraction, 0.0, 1.0)


@dataclasses.dataclass
class Node:
    """The statistics of one board's moves: priors ``P``, visits ``N``, total values ``W``."""

    moves: list[int]
    P: list[float]
    N: list[int]
    W: list[float]

    @classmethod
    def expand(cls, board: Board, priors: np.ndarray) -> Node:
        moves = legal_moves(board)
        p = [float(priors[m]) for m in moves]
        total = sum(p)
        p = [x / total for x in p] if total > 0 else [1.0 / len(moves)] * len(moves)
        return cls(moves, p, [0] * len(moves), [0.0] * len(moves))


def puct_scores(q: np.ndarray, prior: np.ndarray, visits: np.ndarray, parent_visits: int,
                c_puct: float) -> np.ndarray:
    """``Q + c_puct · P · √parent_visits / (1 + N)`` for every move (arrays of one length)."""
    q, prior, visits = (np.asarray(x, dtype=float) for x in (q, prior, visits))
    return q + c_puct * prior * math.sqrt(parent_visits) / (1.0 + visits)


def backup(tree: dict[Board, Node], path: list[tuple[Board, int]], value: float) -> None:
    """Add one visit along ``path`` (``(board, move)`` pairs, root first) with the leaf's
    ``value`` for the player to move *at the leaf*: the last move's player gets ``−value``,
    the one before ``+value``, and so on up to the root."""
    for board, move in reversed(path):
        value = -value
        node = tree[board]
        k = node.moves.index(move)
        node.N[k] += 1
        node.W[k] += value


def _select(node: Node, c_puct: float) -> int:
    root_n = math.sqrt(1 + sum(node.N))
    best, best_score = 0, -math.inf
    for k in range(len(node.moves)):
        n = node.N[k]
        q = node.W[k] / n if n else 0.0
        score = q + c_puct * node.P[k] * root_n / (1 + n)
        if score > best_score:
            best, best_score = k, score
    return node.moves[best]


def search(board: Board, evaluator: Evaluator, config: SearchConfig,
           rng: np.random.Generator | None = None) -> np.ndarray:
    """Visit counts ``(9,)`` of the root's moves after ``config.simulations`` simulations
    (root noise needs ``rng``)."""
    if outcome(board) is not None:
        raise ValueError(f"board must be a position with a legal move, got a finished game "
                         f"{board!r}")
    tree: dict[Board, Node] = {}
    priors, _ = evaluator(board)
    root = tree[board] = Node.expand(board, priors)
    if config.noise_fraction > 0:
        if rng is None:
            raise ValueError("root noise (noise_fraction > 0) needs rng")
        noise = rng.dirichlet([config.dirichlet_alpha] * len(root.moves))
        root.P = [(1 - config.noise_fraction) * p + config.noise_fraction * float(x)
                  for p, x in zip(root.P, noise, strict=True)]
    for _ in range(config.simulations):
        path: list[tuple[Board, int]] = []
        current = board
        while current in tree and outcome(current) is None:
            move = _select(tree[current], config.c_puct)
            path.append((current, move))
            current = play(current, move)
        value = outcome(current)
        if value is None:
            priors, value = evaluator(current)
            tree[current] = Node.expand(current, priors)
        backup(tree, path, float(value))
    counts = np.zeros(9)
    counts[root.moves] = root.N
    return counts


def visit_policy(counts: np.ndarray, temperature: float) -> np.ndarray:
    """Move probabilities from visit counts: ``N^(1/τ)`` normalised; ``τ = 0`` spreads the
    probability evenly over the most visited moves."""
    temperature = check_in_range("temperature", temperature, 0.0, 10.0)
    counts = np.asarray(counts, dtype=float)
    if counts.sum() <= 0:
        raise ValueError("counts must have at least one visit")
    if temperature == 0:
        best = counts == counts.max()
        return best / best.sum()
    scaled = (counts / counts.max()) ** (1.0 / temperature)
    return scaled / scaled.sum()
