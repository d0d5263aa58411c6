"""data/pg_sweep.npz: documented shape, plausible numbers, and reproducible from its seeds."""

import gymnasium as gym
import numpy as np
import pytest

from mini_lib.artefacts.pg_sweep import (
    BUDGET,
    EVAL_EVERY,
    GRID,
    QUANTITIES,
    SEEDS,
    load_sweep,
    run_curve,
    sweep_config,
)
from mini_lib.evaluation import SolvedCheck
from mini_lib.policy_gradient.networks import CategoricalPolicy
from mini_lib.policy_gradient.training import solved_check


def test_stored_sweep_has_the_documented_shape_and_range():
    sweep = load_sweep()
    n_evals = BUDGET // EVAL_EVERY
    n_lr, n_gamma = len(GRID["learning_rate"]), len(GRID["gamma"])
    assert sweep.reinforce.shape == (n_lr, n_gamma, len(GRID["baseline"]), len(SEEDS),
                                     len(QUANTITIES), n_evals)
    assert sweep.actor_critic.shape == (n_lr, n_gamma, len(GRID["gae_lambda"]), len(SEEDS),
                                        len(QUANTITIES), n_evals)
    assert sweep.steps.tolist() == [EVAL_EVERY * (i + 1) for i in range(n_evals)]
    for curves in (sweep.reinforce, sweep.actor_critic):
        scores = curves[..., 0, :]
        assert np.nanmin(scores) >= 8 and np.nanmax(scores) <= 500  # CartPole's range


@pytest.mark.parametrize(("method", "cell"), [
    ("reinforce", {"learning_rate": 3e-3, "gamma": 0.99, "baseline": True}),
    ("actor_critic", {"learning_rate": 3e-3, "gamma": 0.99, "gae_lambda": 0.95}),
])
def test_regenerating_one_run_reproduces_the_stored_curve(method, cell):
    """Re-train one stored run for 3000 steps: its first two evaluations must match."""
    seed = 0
    sweep = load_sweep()
    stored = (sweep.reinforce_cell(**cell) if method == "reinforce"
              else sweep.actor_critic_cell(**cell))[SEEDS.index(seed)]
    fresh = run_curve(method, sweep_config(method, **cell), seed, until=2 * EVAL_EVERY)
    np.testing.assert_allclose(fresh[:, :2], stored[:, :2], rtol=1e-5)
    assert np.isnan(fresh[:, 2:]).all()


def test_sweep_config_refuses_an_unknown_method():
    with pytest.raises(ValueError, match="method must be 'reinforce' or 'actor_critic'"):
        sweep_config("ppo", learning_rate=1e-3, gamma=0.99)


def test_solved_check_evaluates_once_per_multiple_of_every():
    check = SolvedCheck(every=1_000, n_episodes=2)
    stop = solved_check(check)
    policy = CategoricalPolicy.for_env(gym.make("CartPole-v1"))
    results = [stop(policy, step) for step in (900, 1_500, 1_700, 2_100, 4_300)]
    assert results == [False] * 5  # a near-uniform policy is far from 475
    assert [step for step, _ in check.history] == [1_500, 2_100, 4_300]
    assert all(8 <= mean <= 100 for _, mean in check.history)
