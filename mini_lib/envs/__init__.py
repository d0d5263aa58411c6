"""Small Gymnasium-API environments of our own, registered under the ``mini_lib/`` namespace.

>>> import gymnasium as gym, mini_lib
>>> env = gym.make("mini_lib/GridWorld-v0", map_name="cliff", slip=0.1)
"""

import gymnasium as gym

from mini_lib.envs.gridworld import ACTION_NAMES, ACTIONS, MAPS, GridWorldEnv, TabularMDP

__all__ = ["ACTIONS", "ACTION_NAMES", "MAPS", "GridWorldEnv", "TabularMDP"]

GRIDWORLD_ID = "mini_lib/GridWorld-v0"

if GRIDWORLD_ID not in gym.registry:
    gym.register(
        id=GRIDWORLD_ID,
        entry_point="mini_lib.envs.gridworld:GridWorldEnv",
        max_episode_steps=100,
    )
