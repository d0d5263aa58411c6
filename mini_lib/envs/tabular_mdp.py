"""A finite MDP as arrays — the one tabular model type of the course.

Dynamic programming (chapter 00), the exact policy gradient (chapter 03) and the grid world's
``env.mdp`` all use :class:`TabularMDP`: ``P[s, a, s']`` transition probabilities,
``R[s, a]`` expected immediate reward, ``terminal[s]`` absorbing states and ``initial[s]``
the start distribution. (The tabular learners of chapter 01 step many runs at once from a
different layout of the same information, :class:`~mini_lib.tabular.sampling_table.SamplingTable`.)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from mini_lib.checks import check_shape

__all__ = ["TabularMDP", "check_model"]


def check_model(P: np.ndarray, R: np.ndarray, terminal: np.ndarray | None
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(P, R, terminal)`` as float/float/bool arrays; ``ValueError`` naming what is wrong.

    ``P`` must be ``(n_states, n_actions, n_states)`` with rows that are distributions,
    ``R`` ``(n_states, n_actions)``; ``terminal`` ``(n_states,)`` (``None``: no terminal states).
    """
    P = check_shape("P", np.asarray(P, dtype=float), (None, None, None))
    n_states, n_actions, n_next = P.shape
    if n_next != n_states:
        raise ValueError(f"P must have shape (n_states, n_actions, n_states), got {P.shape}")
    R = check_shape("R", np.asarray(R, dtype=float), (n_states, n_actions))
    row_sums = P.sum(axis=2)
    if np.any(P < 0) or not np.allclose(row_sums, 1.0, atol=1e-8):
        worst = np.unravel_index(np.argmax(np.abs(row_sums - 1)), row_sums.shape)
        raise ValueError(f"P[s, a] must be a probability distribution over next states; "
                         f"P[{worst[0]}, {worst[1]}] sums to {row_sums[worst]:.6g}")
    if terminal is None:
        terminal = np.zeros(n_states, dtype=bool)
    terminal = check_shape("terminal", np.asarray(terminal, dtype=bool), (n_states,))
    return P, R, terminal


@dataclass(frozen=True)
class TabularMDP:
    """A finite MDP, validated on creation.

    ``P[s, a, s']`` transition probabilities, ``R[s, a]`` expected immediate reward,
    ``terminal[s]`` True for absorbing states (their value is 0 by definition; ``None``: no
    terminal states), ``initial[s]`` the start distribution (``None``: uniform).
    """

    P: np.ndarray
    R: np.ndarray
    terminal: np.ndarray | None = None
    initial: np.ndarray | None = None

    def __post_init__(self) -> None:
        P, R, terminal = check_model(self.P, self.R, self.terminal)
        n_states = P.shape[0]
        initial = (np.full(n_states, 1.0 / n_states) if self.initial is None
                   else check_shape("initial", np.asarray(self.initial, dtype=float),
                                    (n_states,)))
        if np.any(initial < 0) or not math.isclose(initial.sum(), 1.0, abs_tol=1e-8):
            raise ValueError(f"initial must be a probability distribution over the "
                             f"{n_states} states, got {initial!r}")
        for name, value in (("P", P), ("R", R), ("terminal", terminal), ("initial", initial)):
            object.__setattr__(self, name, value)

    @property
    def n_states(self) -> int:
        return self.P.shape[0]

    @property
    def n_actions(self) -> int:
        return self.P.shape[1]
