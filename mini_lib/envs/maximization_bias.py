"""The small MDP of Sutton & Barto (2nd ed.), Example 6.7: maximization bias.

Two non-terminal states. From ``A`` (state 0) action ``left`` (0) goes to ``B`` (state 1) with
reward 0 and action ``right`` (1) ends the episode with reward 0. From ``B`` every one of
``n_b_actions`` actions ends the episode with a reward drawn from N(``mean``, ``std``²).
Going left is worse on average (−0.1 < 0), but the *maximum* of many noisy estimates of B's
actions is positive at first, which lures Q-learning left.

Only ``left`` and ``right`` are allowed in ``A``; the other actions are no-ops there, and
``info["action_mask"]`` says which actions are allowed, as in Gymnasium's ``Taxi``. State 2
is terminal. The model is exposed toy-text style (``P``,
``initial_state_distrib``) plus ``reward_std[s, a]`` and ``action_mask_table[s, a]``.
"""

from __future__ import annotations

from typing import ClassVar

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from mini_lib.checks import check_in_range, check_int

__all__ = ["LEFT", "RIGHT", "STATE_A", "STATE_B", "MaximizationBiasEnv"]

STATE_A, STATE_B, TERMINAL = 0, 1, 2
LEFT, RIGHT = 0, 1


class MaximizationBiasEnv(gym.Env):
    """Sutton & Barto's Example 6.7 (Figure 6.5) as a Gymnasium environment."""

    metadata: ClassVar[dict] = {"render_modes": []}

    def __init__(self, n_b_actions: int = 10, mean: float = -0.1, std: float = 1.0) -> None:
        self.n_b_actions = check_int("n_b_actions", n_b_actions, 1, 1000)
        self.mean = check_in_range("mean", mean, -100.0, 100.0)
        self.std = check_in_range("std", std, 0.0, 100.0)
        n_actions = max(2, self.n_b_actions)
        self.observation_space = spaces.Discrete(3)
        self.action_space = spaces.Discrete(n_actions)

        mask = np.zeros((3, n_actions), dtype=bool)
        mask[STATE_A, [LEFT, RIGHT]] = True
        mask[STATE_B, : self.n_b_actions] = True
        mask[TERMINAL] = True
        self.action_mask_table = mask
        self.reward_std = np.zeros((3, n_actions))
        self.reward_std[STATE_B, : self.n_b_actions] = self.std

        noop_a = [(1.0, STATE_A, 0.0, False)]
        self.P: dict[int, dict[int, list[tuple[float, int, float, bool]]]] = {
            STATE_A: {a: noop_a for a in range(n_actions)},
            STATE_B: {a: [(1.0, TERMINAL, self.mean, True)] if a < self.n_b_actions
                      else [(1.0, STATE_B, 0.0, False)] for a in range(n_actions)},
            TERMINAL: {a: [(1.0, TERMINAL, 0.0, True)] for a in range(n_actions)},
        }
        self.P[STATE_A][LEFT] = [(1.0, STATE_B, 0.0, False)]
        self.P[STATE_A][RIGHT] = [(1.0, TERMINAL, 0.0, True)]
        self.initial_state_distrib = np.eye(3)[STATE_A]
        self._state = STATE_A

    def _info(self) -> dict:
        return {"action_mask": self.action_mask_table[self._state].astype(np.int8)}

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self._state = STATE_A
        return self._state, self._info()

    def step(self, action: int):
        if not self.action_space.contains(action):
            raise ValueError(f"action must be an integer in [0, {self.action_space.n - 1}], "
                             f"got {action!r}")
        ((_, next_state, reward, terminated),) = self.P[self._state][int(action)]
        if self.reward_std[self._state, int(action)] > 0:
            reward = float(reward + self.std * self.np_random.standard_normal())
        self._state = next_state
        return next_state, float(reward), terminated, False, self._info()
