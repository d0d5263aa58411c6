"""The two environment checks of the course, one per meaning.

* :func:`check_tabular_env`: a table needs ``Discrete`` observations and actions (chapter 01);
* :func:`check_vector_env`: a network needs a 1-D ``Box`` observation, and an argmax or a
  categorical distribution needs ``Discrete`` actions (chapters 02–04).
"""

from __future__ import annotations

import gymnasium as gym
from gymnasium import spaces

__all__ = ["check_tabular_env", "check_vector_env"]


def check_tabular_env(env: gym.Env) -> tuple[int, int]:
    """``(n_states, n_actions)``; ``ValueError`` unless both spaces are ``Discrete``."""
    for name in ("observation_space", "action_space"):
        space = getattr(env, name)
        if not isinstance(space, spaces.Discrete):
            raise ValueError(f"tabular methods need Discrete observation and action spaces "
                             f"(one table row per state, one column per action); this env's "
                             f"{name} is {space}. Use a function approximator (chapter 02).")
    return int(env.observation_space.n), int(env.action_space.n)


def check_vector_env(env: gym.Env, why_discrete: str) -> tuple[int, int]:
    """``(observation size, number of actions)`` of an env with a 1-D ``Box`` observation and
    ``Discrete`` actions; ``ValueError`` otherwise. ``why_discrete`` completes the message
    "env.action_space must be Discrete …", e.g. ``"(DQN picks an argmax over actions)"``."""
    if not isinstance(env.action_space, spaces.Discrete):
        raise ValueError(f"env.action_space must be Discrete {why_discrete}, got "
                         f"{env.action_space}")
    if (not isinstance(env.observation_space, spaces.Box)
            or len(env.observation_space.shape) != 1):
        raise ValueError(f"env.observation_space must be a 1-D Box, got "
                         f"{env.observation_space}")
    return env.observation_space.shape[0], int(env.action_space.n)
