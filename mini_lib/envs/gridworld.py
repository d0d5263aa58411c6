"""A tabular grid world with an explicit transition table.

Because the whole model is stored as arrays — ``P[s, a, s']`` (transition probabilities)
and ``R[s, a]`` (expected reward) — value iteration gives the exact answer that learning
algorithms in later chapters are checked against.

Map legend (one string per row):

====  =========================================================
``S``  start
``.``  empty floor
``#``  wall (bumping into it, or into the border, leaves the agent in place)
``G``  goal: terminal, reward ``+1`` on entering
``P``  pit: terminal, reward ``-1`` on entering
====  =========================================================

Every move costs ``step_reward``. With probability ``1 - slip`` the agent moves as chosen;
otherwise it slips to one of the two perpendicular directions (``slip / 2`` each). With the
``"4x3"`` map, ``slip = 0.2`` and ``step_reward = -0.04`` this is the world of Russell &
Norvig, *Artificial Intelligence: A Modern Approach*, Figure 17.1.
"""

from __future__ import annotations

from typing import ClassVar

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from mini_lib.checks import check_in_range, check_probability
from mini_lib.envs.tabular_mdp import TabularMDP

__all__ = ["ACTIONS", "ACTION_NAMES", "MAPS", "GridWorldEnv"]

# Action index -> (row change, column change). Same order as Gymnasium's CliffWalking.
ACTIONS: tuple[tuple[int, int], ...] = ((-1, 0), (0, 1), (1, 0), (0, -1))
ACTION_NAMES: tuple[str, ...] = ("up", "right", "down", "left")
TERMINAL_REWARD = {"G": 1.0, "P": -1.0}

MAPS: dict[str, tuple[str, ...]] = {
    # Russell & Norvig's 4x3 world (row 0 is the top row).
    "4x3": (
        "...G",
        ".#.P",
        "S...",
    ),
    # A walk along a cliff edge: short and risky along the pits, or long and safe above.
    "cliff": (
        ".......",
        ".......",
        "S.....G",
        "PPPPPPP",
    ),
}


class GridWorldEnv(gym.Env):
    """Grid world with slip, exposing its model as ``env.unwrapped.mdp``.

    Observations are state indices ``row * n_cols + col`` (walls included, so the layout
    maps to a 2-D array with ``reshape``); actions are 0 up, 1 right, 2 down, 3 left.
    """

    metadata: ClassVar[dict] = {"render_modes": ["ansi"], "render_fps": 4}

    def __init__(
        self,
        map_name: str = "4x3",
        slip: float = 0.2,
        step_reward: float = -0.04,
        layout: tuple[str, ...] | list[str] | None = None,
        render_mode: str | None = None,
    ) -> None:
        if layout is None:
            if map_name not in MAPS:
                raise ValueError(f"map_name must be one of {sorted(MAPS)}, got {map_name!r}")
            layout = MAPS[map_name]
        self.layout = _validate_layout(layout)
        self.slip = check_probability("slip", slip)
        self.step_reward = check_in_range("step_reward", step_reward, -10.0, 10.0)
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']} or "
                             f"None, got {render_mode!r}")
        self.render_mode = render_mode

        self.n_rows, self.n_cols = len(self.layout), len(self.layout[0])
        self.cells = np.array([list(row) for row in self.layout])
        self.walls = self.cells == "#"
        self.start_state = int(np.flatnonzero(self.cells.ravel() == "S")[0])
        self.mdp = self._build_mdp()

        self.observation_space = spaces.Discrete(self.mdp.n_states)
        self.action_space = spaces.Discrete(len(ACTIONS))
        self._state = self.start_state

    # -- model --------------------------------------------------------------------------
    def move(self, row: int, col: int, action: int) -> tuple[int, int]:
        """The cell reached by moving in direction ``action`` without slipping."""
        d_row, d_col = ACTIONS[action]
        r, c = row + d_row, col + d_col
        if not (0 <= r < self.n_rows and 0 <= c < self.n_cols) or self.walls[r, c]:
            return row, col
        return r, c

    def _build_mdp(self) -> TabularMDP:
        n_states, n_actions = self.n_rows * self.n_cols, len(ACTIONS)
        P = np.zeros((n_states, n_actions, n_states))
        R = np.zeros((n_states, n_actions))
        flat = self.cells.ravel()
        terminal = np.isin(flat, list(TERMINAL_REWARD)) | (flat == "#")
        arrival_reward = np.array([TERMINAL_REWARD.get(c, 0.0) for c in flat])
        for s in range(n_states):
            if terminal[s]:  # absorbing, no reward (walls are unreachable, kept absorbing)
                P[s, :, s] = 1.0
                continue
            row, col = divmod(s, self.n_cols)
            for a in range(n_actions):
                perpendicular = ((a + 1) % 4, (a + 3) % 4)
                outcomes = [(a, 1.0 - self.slip)] + [(p, self.slip / 2) for p in perpendicular]
                for direction, prob in outcomes:
                    r, c = self.move(row, col, direction)
                    P[s, a, r * self.n_cols + c] += prob
                R[s, a] = self.step_reward + P[s, a] @ arrival_reward
        self._arrival_reward = arrival_reward
        return TabularMDP(P=P, R=R, terminal=terminal, initial=np.eye(n_states)[self.start_state])

    def intended_path(self, policy: np.ndarray, max_steps: int = 50) -> list[tuple[int, int]]:
        """Cells ``(row, col)`` visited from the start when every move of ``policy[s]`` goes
        where it is meant to (no slip), up to a terminal cell or ``max_steps`` cells."""
        state, path = self.start_state, []
        for _ in range(max_steps):
            row, col = divmod(state, self.n_cols)
            path.append((row, col))
            if self.mdp.terminal[state]:
                break
            next_row, next_col = self.move(row, col, int(policy[state]))
            state = next_row * self.n_cols + next_col
        return path

    # -- Gymnasium API ------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self._state = self.start_state
        return self._state, {}

    def step(self, action: int):
        if not self.action_space.contains(action):
            raise ValueError(f"action must be an integer in [0, 3], got {action!r}")
        probs = self.mdp.P[self._state, int(action)]
        next_state = int(self.np_random.choice(self.mdp.n_states, p=probs))
        reward = self.step_reward + self._arrival_reward[next_state]
        self._state = next_state
        terminated = bool(self.mdp.terminal[next_state])
        return next_state, float(reward), terminated, False, {"prob": float(probs[next_state])}

    def render(self) -> str | None:
        if self.render_mode != "ansi":
            return None
        grid = self.cells.copy()
        row, col = divmod(self._state, self.n_cols)
        grid[row, col] = "A"
        return "\n".join("".join(line) for line in grid) + "\n"


def _validate_layout(layout: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    layout = tuple(layout)
    if not layout or len({len(row) for row in layout}) != 1 or not layout[0]:
        raise ValueError(f"layout must be a non-empty list of equal-length strings, got {layout!r}")
    allowed = set("S.#GP")
    bad = {ch for row in layout for ch in row} - allowed
    if bad:
        raise ValueError(f"layout may only use the characters {''.join(sorted(allowed))!r}, "
                         f"got {''.join(sorted(bad))!r}")
    n_starts = sum(row.count("S") for row in layout)
    if n_starts != 1:
        raise ValueError(f"layout must contain exactly one start 'S', got {n_starts}")
    return layout
