"""The Gittins index: published values, an independent solver, monotonicity, the policy."""

from __future__ import annotations

import numpy as np
import pytest

from mini_lib.bandits.baselines import RandomPolicy, Thompson, run_policy
from mini_lib.bandits.gittins import (
    GittinsPolicy,
    gittins_index,
    gittins_table,
    horizon_discount,
)


def index_by_reward_rate(a: int, b: int, beta: float, depth: int) -> float:
    """Gittins' own definition, solved independently of the library's bisection:
    ``ν = max over stopping times τ ≥ 1 of E[Σ_{t<τ} βᵗ rₜ] / E[Σ_{t<τ} βᵗ]``.

    Dinkelbach's iteration: for the current rate ``λ`` find the best stopping rule (continue
    where the pull-once value beats ``λ/(1 − β)``), set ``λ`` to that rule's reward per unit
    of discounted time, repeat until the rule stops changing (finitely many steps). Plain
    Python over the same truncated tree (posterior frozen ``depth`` pulls ahead).
    """
    rate = a / (a + b)
    for _ in range(100):
        retire = rate / (1 - beta)
        value, reward, time = {}, {}, {}  # per state (i, j): i more successes, j more failures
        for m in range(depth, -1, -1):
            for i in range(m + 1):
                j = m - i
                p = (a + i) / (a + b + m)
                if m == depth:  # frozen posterior: pull forever at p, or stop
                    go = p > rate
                    value[i, j] = max(p, rate) / (1 - beta)
                    reward[i, j], time[i, j] = (p / (1 - beta), 1 / (1 - beta)) if go else (0, 0)
                    continue
                pull = p + beta * (p * value[i + 1, j] + (1 - p) * value[i, j + 1])
                go = m == 0 or pull > retire  # τ ≥ 1: the root is always pulled
                value[i, j] = max(pull, retire)
                reward[i, j] = (p + beta * (p * reward[i + 1, j] + (1 - p) * reward[i, j + 1])
                                if go else 0.0)
                time[i, j] = (1 + beta * (p * time[i + 1, j] + (1 - p) * time[i, j + 1])
                              if go else 0.0)
        new_rate = reward[0, 0] / time[0, 0]
        if new_rate <= rate + 1e-15:
            return max(rate, new_rate)
        rate = new_rate
    raise AssertionError("Dinkelbach's iteration did not settle")


@pytest.mark.parametrize("beta, published", [(0.9, 0.7029), (0.95, 0.7614)])
def test_uniform_prior_index_matches_gittins_tables(beta, published):
    """Gittins' tables give 4 decimals (rounding ±5e-5); our bisection stops at 1e-9 and the
    truncation 300 pulls ahead moves values by ≤ β³⁰⁰/(1 − β) ≈ 4e-6 (β = 0.95): 1e-4 holds
    the rounding with room and fails on a real error: truncating 5 pulls ahead is off by
    5e-3 (β = 0.9) and 9e-3 (β = 0.95)."""
    assert gittins_index(1, 1, beta) == pytest.approx(published, abs=1e-4)
    assert abs(gittins_index(1, 1, beta, depth=5) - published) > 3e-3


@pytest.mark.parametrize("a, b, beta", [(1, 1, 0.9), (3, 1, 0.9), (2, 5, 0.8), (1, 4, 0.9),
                                        (6, 2, 0.7), (1, 1, 0.0)])
def test_bisection_agrees_with_the_reward_rate_definition(a, b, beta):
    """Two exact solvers of the same truncated problem: they agree to the bisection's 1e-9
    (plus rounding), so 1e-7 leaves room only for round-off."""
    depth = 60
    assert gittins_index(a, b, beta, depth=depth) == pytest.approx(
        index_by_reward_rate(a, b, beta, depth), abs=1e-7)


def test_index_increases_with_successes_and_the_discount_and_decreases_with_failures():
    table = gittins_table(30, 0.95)
    s, f = np.meshgrid(np.arange(31), np.arange(31), indexing="ij")
    valid = s + f <= 30
    mean = (1 + s) / (2 + s + f)
    assert np.all(table[valid] > mean[valid]) and np.all(table[valid] < 1)
    assert np.all(np.isnan(table[~valid]))
    more_successes = table[1:, :] - table[:-1, :]  # (s + 1, f) vs (s, f)
    more_failures = table[:, 1:] - table[:, :-1]
    assert np.all(more_successes[~np.isnan(more_successes)] > 0)
    assert np.all(more_failures[~np.isnan(more_failures)] < 0)
    by_discount = [gittins_index(2, 3, beta, depth=150) for beta in (0.0, 0.5, 0.8, 0.9, 0.95)]
    assert by_discount[0] == pytest.approx(2 / 5, abs=1e-8)  # β = 0: the posterior mean
    assert np.all(np.diff(by_discount) > 0)


def test_table_agrees_with_bisection():
    """The table interpolates on a grid of retirement rates: within 2e-4 at β = 0.99 (the
    n = 100 policy; worst error measured over many states ~1.5e-4, typical ~3e-6)."""
    table = gittins_table(99, 0.99)
    for s, f in [(0, 0), (5, 3), (40, 0), (0, 60), (20, 30)]:
        exact = gittins_index(1 + s, 1 + f, 0.99, depth=300 + 99 - s - f)
        assert table[s, f] == pytest.approx(exact, abs=2e-4), (s, f)
    assert table[0, 0] == pytest.approx(gittins_index(1, 1, 0.99, depth=399), abs=1e-5)


def test_gittins_policy_beats_thompson_and_random_on_100_pulls():
    probs = np.random.default_rng(1).random((500, 5))
    totals = {name: run_policy(policy, probs, 100, np.random.default_rng(2))
              for name, policy in [("gittins", GittinsPolicy(100)), ("thompson", Thompson()),
                                   ("random", RandomPolicy())]}
    gain = totals["gittins"] - totals["thompson"]
    assert gain.mean() > 3 * gain.std(ddof=1) / np.sqrt(len(gain))
    assert totals["gittins"].mean() > 1.4 * totals["random"].mean()


def test_horizon_discount_and_policy_limits():
    assert horizon_discount(10) == pytest.approx(0.9)
    assert horizon_discount(100) == pytest.approx(0.99)
    policy = GittinsPolicy(3)
    assert policy.discount == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="n_pulls"):
        run_policy(policy, np.full((2, 2), 0.5), 4, np.random.default_rng(0))


@pytest.mark.parametrize("call, name", [
    (lambda: gittins_index(1, 1, 1.0), "discount"),
    (lambda: gittins_index(1, 1, -0.1), "discount"),
    (lambda: gittins_index(0, 1, 0.9), "a"),
    (lambda: gittins_index(1, -1, 0.9), "b"),
    (lambda: gittins_index(1, 1, 0.9, depth=0), "depth"),
    (lambda: gittins_table(-1, 0.9), "max_pulls"),
    (lambda: GittinsPolicy(0), "n_pulls"),
], ids=["discount=1", "discount<0", "a=0", "b<0", "depth=0", "max_pulls<0", "n_pulls=0"])
def test_bad_parameters_raise_value_error_naming_the_parameter(call, name):
    with pytest.raises(ValueError, match=rf"^{name} "):
        call()
