"""The exact two-armed Bayes-optimal value: by hand, in exact fractions, bounds, simulation."""

from __future__ import annotations

from fractions import Fraction
from functools import cache

import numpy as np
import pytest

from mini_lib.bandits.baselines import Greedy, Thompson, run_policy
from mini_lib.bandits.bayes_dp import BayesOptimalPolicy, solve_two_arms


def two_arm_tasks(n_tasks: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).random((n_tasks, 2))


@cache
def exact_value(s1: int, f1: int, s2: int, f2: int, left: int) -> Fraction:
    """The Bellman recursion over the four counts, written out in exact fractions."""
    if left == 0:
        return Fraction(0)
    p1, p2 = Fraction(s1 + 1, s1 + f1 + 2), Fraction(s2 + 1, s2 + f2 + 2)
    arm_0 = (p1 * (1 + exact_value(s1 + 1, f1, s2, f2, left - 1))
             + (1 - p1) * exact_value(s1, f1 + 1, s2, f2, left - 1))
    arm_1 = (p2 * (1 + exact_value(s1, f1, s2 + 1, f2, left - 1))
             + (1 - p2) * exact_value(s1, f1, s2, f2 + 1, left - 1))
    return max(arm_0, arm_1)


def test_one_pull_is_worth_one_half():
    assert solve_two_arms(1).value == 0.5


def test_two_pulls_by_hand():
    """First pull: 1/2. After a success the arm's mean is 2/3: pull it again; after a
    failure it is 1/3: switch to the fresh arm at 1/2. V = 1/2 + 1/2·2/3 + 1/2·1/2 = 13/12."""
    assert solve_two_arms(2).value == pytest.approx(13 / 12, abs=1e-12)
    assert exact_value(0, 0, 0, 0, 2) == Fraction(13, 12)


@pytest.mark.parametrize("n", [3, 4, 5, 8])
def test_array_backward_induction_equals_the_exact_recursion(n):
    assert solve_two_arms(n).value == pytest.approx(float(exact_value(0, 0, 0, 0, n)),
                                                    abs=1e-12)


def test_value_grows_with_the_horizon_and_stays_below_the_clairvoyant_bound():
    values = np.array([solve_two_arms(n).value for n in range(1, 31)])
    n = np.arange(1, 31)
    assert np.all(np.diff(values) >= 0.5)  # one more pull earns at least a fresh arm's 1/2
    assert np.all(values <= 2 * n / 3)  # knowing p: n · E[max(p1, p2)] = 2n/3
    assert np.all(np.diff(values / n) > 0)  # longer trials leave more time to exploit


def test_optimal_arm_in_the_first_states():
    solution = solve_two_arms(5)
    assert solution.optimal_arm(0, 0, 0, 0) == 0  # a tie: arm 0
    assert solution.optimal_arm(1, 0, 0, 0) == 0  # stay on a success
    assert solution.optimal_arm(0, 1, 0, 0) == 1  # switch after a failure
    assert solution.optimal_arm(0, 0, 0, 1) == 0
    np.testing.assert_array_equal(
        solution.optimal_arm([1, 0, 2], [0, 1, 0], [0, 0, 0], [0, 0, 2]), [0, 1, 0])
    with pytest.raises(ValueError, match="pulls made"):
        solution.optimal_arm(3, 2, 0, 0)
    with pytest.raises(ValueError, match=">= 0"):
        solution.optimal_arm(-1, 0, 0, 0)


def test_simulated_optimal_policy_earns_the_dp_value():
    """20 000 sampled tasks, n = 10: the mean total is within 5 standard errors of V."""
    solution = solve_two_arms(10)
    totals = run_policy(solution.policy(), two_arm_tasks(20_000, 1), 10,
                        np.random.default_rng(2))
    se = totals.std(ddof=1) / np.sqrt(len(totals))
    assert abs(totals.mean() - solution.value) < 5 * se


def test_no_simulated_policy_beats_the_dp_value():
    probs = two_arm_tasks(20_000, 3)
    for n in (10, 30):
        value = solve_two_arms(n).value
        for policy in (Thompson(), Greedy()):
            totals = run_policy(policy, probs, n, np.random.default_rng(4))
            se = totals.std(ddof=1) / np.sqrt(len(totals))
            assert totals.mean() - 5 * se <= value, (n, type(policy).__name__)


def test_one_hundred_pulls():
    """The n = 100 table (~n⁴/24 states) solves in well under a second; the simulated policy
    agrees with its value, which lies below the clairvoyant 200/3."""
    solution = solve_two_arms(100)
    assert 0.6 * 100 < solution.value < 200 / 3
    totals = run_policy(solution.policy(), two_arm_tasks(3000, 5), 100,
                        np.random.default_rng(6))
    se = totals.std(ddof=1) / np.sqrt(len(totals))
    assert abs(totals.mean() - solution.value) < 5 * se


def test_bad_arguments():
    with pytest.raises(ValueError, match=r"^n_pulls "):
        solve_two_arms(0)
    with pytest.raises(ValueError, match=r"^n_arms "):
        run_policy(BayesOptimalPolicy(solve_two_arms(3)), np.full((4, 3), 0.5), 3,
                   np.random.default_rng(0))
    with pytest.raises(ValueError, match="n_pulls = 3"):
        run_policy(solve_two_arms(3).policy(), np.full((4, 2), 0.5), 4,
                   np.random.default_rng(0))
