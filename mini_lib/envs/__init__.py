"""Small Gymnasium-API environments of our own, registered under the ``mini_lib/`` namespace.

>>> import gymnasium as gym, mini_lib
>>> env = gym.make("mini_lib/GridWorld-v0", map_name="cliff", slip=0.1)
"""

import gymnasium as gym

from mini_lib.envs.gridworld import ACTION_NAMES, ACTIONS, MAPS, GridWorldEnv
from mini_lib.envs.tabular_mdp import TabularMDP

__all__ = ["ACTIONS", "ACTION_NAMES", "MAPS", "GridWorldEnv", "TabularMDP"]

GRIDWORLD_ID = "mini_lib/GridWorld-v0"
MAXIMIZATION_BIAS_ID = "mini_lib/MaximizationBias-v0"  # Sutton & Barto, Example 6.7
POINT_NAVIGATION_ID = "mini_lib/PointNavigation-v0"  # Finn et al. 2017, section 5.3
BERNOULLI_BANDIT_ID = "mini_lib/BernoulliBandit-v0"  # Duan et al. 2016 (RL²)

# id -> (entry point, time limit in steps; None: the env truncates itself)
_ENVIRONMENTS = {
    GRIDWORLD_ID: ("mini_lib.envs.gridworld:GridWorldEnv", 100),
    MAXIMIZATION_BIAS_ID: ("mini_lib.envs.maximization_bias:MaximizationBiasEnv", 100),
    POINT_NAVIGATION_ID: ("mini_lib.envs.point_navigation:PointNavigationEnv", 100),
    BERNOULLI_BANDIT_ID: ("mini_lib.envs.bernoulli_bandit:BernoulliBanditEnv", None),  # n_pulls
}

for _env_id, (_entry_point, _max_steps) in _ENVIRONMENTS.items():
    if _env_id not in gym.registry:
        gym.register(id=_env_id, entry_point=_entry_point, max_episode_steps=_max_steps)
