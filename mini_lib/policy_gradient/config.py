"""Hyperparameters of REINFORCE and actor-critic, and the course's tuned CartPole settings."""

from __future__ import annotations

from dataclasses import dataclass

from mini_lib.checks import (
    check_in_range,
    check_int,
    check_positive,
    check_probability,
    check_widths,
)

__all__ = ["ADVANTAGE_ESTIMATORS", "CARTPOLE_A2C", "CARTPOLE_A2C_ENVS", "CARTPOLE_A3C",
           "CARTPOLE_ACTOR_CRITIC", "CARTPOLE_REINFORCE", "PolicyGradientConfig"]

ADVANTAGE_ESTIMATORS = ("gae", "n_step")


@dataclass(frozen=True)
class PolicyGradientConfig:
    """Hyperparameters of REINFORCE and actor-critic; every field is validated on creation.

    Shared: ``total_steps`` ≥ 1 environment steps; ``learning_rate`` > 0 (policy, Adam) and
    ``value_learning_rate`` > 0 (value network); ``gamma`` in [0, 1]; ``normalize_advantages``
    (zero mean, unit std per update); ``entropy_coef`` ≥ 0 weighs the entropy bonus;
    ``value_coef`` ≥ 0 weighs the value loss in the total (with two separate networks and Adam
    it hardly matters; it does for a shared body); ``max_grad_norm`` > 0 clips each network's
    gradient norm on its own (``math.inf``: no clipping); ``hidden`` layer widths of both
    networks.

    REINFORCE only: ``batch_episodes`` ≥ 1 whole episodes per update; ``use_baseline`` learns
    ``V(s)`` and subtracts it from the reward-to-go.

    Actor-critic only: ``n_steps`` ≥ 1 steps per rollout (one update each), also the horizon
    of the n-step returns; ``advantage`` ``"gae"`` (GAE with ``gae_lambda`` in [0, 1]) or
    ``"n_step"`` (n-step return minus ``V``).
    """

    total_steps: int = 100_000
    learning_rate: float = 1e-3
    value_learning_rate: float = 1e-3
    gamma: float = 0.99
    normalize_advantages: bool = True
    entropy_coef: float = 0.0
    value_coef: float = 0.5
    max_grad_norm: float = 0.5
    hidden: tuple[int, ...] = (64, 64)
    batch_episodes: int = 8
    use_baseline: bool = True
    n_steps: int = 32
    advantage: str = "gae"
    gae_lambda: float = 0.95

    def __post_init__(self) -> None:
        check_int("total_steps", self.total_steps, 1)
        check_positive("learning_rate", self.learning_rate)
        check_positive("value_learning_rate", self.value_learning_rate)
        check_probability("gamma", self.gamma)
        check_in_range("entropy_coef", self.entropy_coef, 0.0)
        check_in_range("value_coef", self.value_coef, 0.0)
        check_positive("max_grad_norm", self.max_grad_norm)
        check_widths("hidden", self.hidden)
        check_int("batch_episodes", self.batch_episodes, 1)
        check_int("n_steps", self.n_steps, 1)
        if self.advantage not in ADVANTAGE_ESTIMATORS:
            raise ValueError(f"advantage must be one of {ADVANTAGE_ESTIMATORS}, "
                             f"got {self.advantage!r}")
        check_probability("gae_lambda", self.gae_lambda)


# REINFORCE with a learned baseline on CartPole-v1 (one torch thread, 8 episodes an update).
# Stopped by two solved checks in a row (SolvedCheck(consecutive=2)), seeds 0-9 solve in
# 15k-57k steps on both CPU code paths, and 20 fresh greedy episodes then average ≥ 494.9
# (benchmarks/pg_seeds.py). With policy learning rate 1e-2 (the value network's) training is
# faster but brittle: 3 of seeds 0-4 stopped on a policy that averaged < 475 on fresh
# episodes. Random play scores about 22.
CARTPOLE_REINFORCE = PolicyGradientConfig(total_steps=100_000, learning_rate=5e-3,
                                          value_learning_rate=1e-2, batch_episodes=8,
                                          hidden=(32, 32))

# Advantage actor-critic on CartPole-v1, tuned for this course (one env, one torch thread):
# 32-step rollouts with GAE(0.95), learning rate 3e-3 for both networks, 32-32 networks.
# With the library default learning rate 1e-3, seed 0 needs ~54k steps instead of ~6k; we
# also tried 128-step rollouts with an entropy bonus of 0.01 (similar: 8k-12k steps, seeds
# 0-2). benchmarks/pg_seeds.py reports steps and seconds to solve per seed.
CARTPOLE_ACTOR_CRITIC = PolicyGradientConfig(
    total_steps=100_000, learning_rate=3e-3, value_learning_rate=3e-3, n_steps=32,
    advantage="gae", gae_lambda=0.95, hidden=(32, 32))

# A2C / A3C on CartPole-v1 (chapter 04): A3C's n-step returns with t_max = 8 (n_steps), an
# entropy bonus of 0.01 as in Mnih et al. (2016), learning rate 3e-3 for both networks, 32-32
# networks, CARTPOLE_A2C_ENVS = 4 environments in lockstep (A2C) or 4 asynchronous workers.
# benchmarks/a2c_seeds.py measures it over seeds on both CPU paths; of the settings tried
# (t_max 5 with 8 envs at lr 1e-3 and 3e-3, t_max 16 with 4 envs) this one solved fastest.
CARTPOLE_A2C = PolicyGradientConfig(
    total_steps=200_000, learning_rate=3e-3, value_learning_rate=3e-3, n_steps=8,
    advantage="n_step", entropy_coef=0.01, hidden=(32, 32))
CARTPOLE_A2C_ENVS = 4

# Real A3C workers (chapter 04): CARTPOLE_A2C with learning rate 1e-3. Each worker updates on
# its own 8-step rollout, a quarter of A2C's 4 x 8 batch, and with 2 workers the shared
# parameters move twice as often per env step. At 3e-3, 2 workers reached the greedy bar in
# 5k-55k steps over seeds 0-3, but the policy kept swinging: 20 fresh greedy episodes right
# after averaged 156-442. At 1e-3 they averaged 429-500 (a probe on a loaded machine; the
# scaling benchmark, benchmarks/a3c_scaling.py, measures steps to solve over seeds).
CARTPOLE_A3C = PolicyGradientConfig(
    total_steps=200_000, learning_rate=1e-3, value_learning_rate=1e-3, n_steps=8,
    advantage="n_step", entropy_coef=0.01, hidden=(32, 32))
