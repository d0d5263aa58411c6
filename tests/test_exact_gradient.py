"""Exact policy gradient against finite differences and autograd; REINFORCE against the truth."""


import numpy as np
import pytest
import torch

from mini_lib.envs import GridWorldEnv
from mini_lib.envs.tabular_mdp import TabularMDP
from mini_lib.policy_gradient.exact import (
    exact_gradient,
    objective,
    reinforce_estimates,
    softmax_policy,
    total_variance,
)

GAMMA = 0.9


def chain_mdp() -> TabularMDP:
    """States 0-1-2 on a line, 3 is the terminal goal to the right of 2.

    Actions: 0 left, 1 right (each slips the other way w.p. 0.2), 2 stay and collect 0.3
    (w.p. 0.1 it jumps to the goal). Every step costs 0.1; entering the goal pays 1.
    """
    P = np.zeros((4, 3, 4))
    for s in range(3):
        left, right = max(s - 1, 0), s + 1
        P[s, 0, left] += 0.8
        P[s, 0, right] += 0.2
        P[s, 1, right] += 0.8
        P[s, 1, left] += 0.2
        P[s, 2, s] += 0.9
        P[s, 2, 3] += 0.1
    P[3, :, 3] = 1.0
    R = -0.1 + P[:, :, 3] * 1.0
    R[:, 2] += 0.3
    R[3] = 0.0
    mu = np.array([0.5, 0.3, 0.2, 0.0])
    return TabularMDP(P, R, np.array([False, False, False, True]), mu)


def random_theta(mdp: TabularMDP, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(mdp.n_states, mdp.n_actions))


def problems():
    return [chain_mdp(), GridWorldEnv("4x3").mdp]


@pytest.mark.parametrize("problem", problems(), ids=["chain", "gridworld-4x3"])
def test_exact_gradient_equals_central_finite_differences(problem):
    theta = random_theta(problem)
    grad = exact_gradient(problem, GAMMA, theta).grad
    h = 1e-5
    numeric = np.zeros_like(theta)
    for index in np.ndindex(theta.shape):
        step = np.zeros_like(theta)
        step[index] = h
        numeric[index] = (objective(problem, GAMMA, theta + step)
                          - objective(problem, GAMMA, theta - step)) / (2 * h)
    np.testing.assert_allclose(grad, numeric, rtol=1e-7, atol=1e-10)


def torch_objective(problem: TabularMDP, theta: torch.Tensor) -> torch.Tensor:
    """J(θ) = μ·V written independently in torch: V solves (I − γ P_π) V = R_π on live states."""
    live = torch.as_tensor(~problem.terminal)
    pi = torch.softmax(theta, dim=1)
    P = torch.as_tensor(problem.P)
    R = torch.as_tensor(problem.R)
    P_pi = (pi[:, :, None] * P).sum(1)[live][:, live]
    R_pi = (pi * R).sum(1)[live]
    V = torch.linalg.solve(torch.eye(int(live.sum()), dtype=torch.float64) - GAMMA * P_pi,
                           R_pi)
    return torch.as_tensor(problem.initial)[live] @ V


@pytest.mark.parametrize("problem", problems(), ids=["chain", "gridworld-4x3"])
def test_exact_gradient_equals_autograd(problem):
    theta = random_theta(problem, seed=1)
    theta_t = torch.tensor(theta, dtype=torch.float64, requires_grad=True)
    J = torch_objective(problem, theta_t)
    J.backward()
    result = exact_gradient(problem, GAMMA, theta)
    assert result.J == pytest.approx(J.item(), abs=1e-12)
    np.testing.assert_allclose(result.grad, theta_t.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_theorem_parts_are_consistent():
    problem = chain_mdp()
    result = exact_gradient(problem, GAMMA, random_theta(problem))
    # Σ_a π(a|s) A(s, a) = 0, and the visitation sums to the expected discounted episode length.
    np.testing.assert_allclose((result.pi * result.advantage).sum(1), 0.0, atol=1e-12)
    assert result.visitation.sum() <= 1 / (1 - GAMMA)
    np.testing.assert_allclose(result.grad[3], 0.0)  # θ of the terminal state does not matter
    np.testing.assert_allclose(softmax_policy(np.array([[1000.0, 1000.0]])), [[0.5, 0.5]])


def assert_mean_within_standard_errors(estimates, truth, k=4.0):
    mean = estimates.mean(0)
    standard_error = estimates.std(0, ddof=1) / np.sqrt(len(estimates))
    assert np.all(np.abs(mean - truth) <= k * standard_error + 1e-12), (
        f"max |mean - truth| / SE = {np.max(np.abs(mean - truth) / (standard_error + 1e-300))}")


@pytest.mark.parametrize("baseline", ["none", "constant", "value"])
def test_reinforce_mean_matches_the_exact_gradient(baseline):
    problem = chain_mdp()
    theta = random_theta(problem)
    exact = exact_gradient(problem, GAMMA, theta)
    b = {"none": None, "constant": -0.5, "value": exact.V}[baseline]
    estimates = reinforce_estimates(problem, GAMMA, theta, 40_000, np.random.default_rng(0), b)
    assert estimates.shape == (40_000, 4, 3)
    assert_mean_within_standard_errors(estimates, exact.grad)
    # ... and the error is small in absolute terms, not just relative to a large variance.
    assert np.abs(estimates.mean(0) - exact.grad).max() < 0.05


def test_value_baseline_reduces_variance_on_common_episodes():
    problem = chain_mdp()
    theta = random_theta(problem)
    exact = exact_gradient(problem, GAMMA, theta)
    plain = reinforce_estimates(problem, GAMMA, theta, 20_000, np.random.default_rng(1))
    based = reinforce_estimates(problem, GAMMA, theta, 20_000, np.random.default_rng(1), exact.V)
    ratio = total_variance(plain) / total_variance(based)
    assert ratio > 1.5, ratio
    # Same episodes, so the difference of the means is the baseline term only: mean zero.
    assert_mean_within_standard_errors(plain - based, np.zeros_like(exact.grad))


def test_reinforce_on_gridworld_matches_exact_gradient():
    problem = GridWorldEnv("4x3").mdp
    theta = random_theta(problem, seed=2) * 0.5
    exact = exact_gradient(problem, GAMMA, theta)
    estimates = reinforce_estimates(problem, GAMMA, theta, 10_000, np.random.default_rng(3),
                                    exact.V)
    assert_mean_within_standard_errors(estimates, exact.grad)


def test_same_seed_same_estimates_and_truncation_is_bounded():
    problem = chain_mdp()
    theta = random_theta(problem)
    a = reinforce_estimates(problem, GAMMA, theta, 50, np.random.default_rng(7))
    b = reinforce_estimates(problem, GAMMA, theta, 50, np.random.default_rng(7))
    np.testing.assert_array_equal(a, b)
    one_step = reinforce_estimates(problem, GAMMA, theta, 50, np.random.default_rng(7), max_steps=1)
    assert np.all(one_step[:, 3] == 0)


@pytest.mark.parametrize(
    ("initial", "message"),
    [
        (np.array([0.5, 0.5, 0.5, 0.0]), "initial must be a probability distribution"),
        (np.ones(3) / 3, r"initial must have shape \(4\)"),
    ],
)
def test_mdp_validation_names_the_parameter(initial, message):
    base = chain_mdp()
    with pytest.raises(ValueError, match=message):
        TabularMDP(base.P, base.R, base.terminal, initial)


def test_gamma_must_be_below_one():
    problem = chain_mdp()
    with pytest.raises(ValueError, match=r"gamma must be in \[0, 1\), got 1.0"):
        exact_gradient(problem, 1.0, np.zeros((4, 3)))


def test_theta_and_episode_count_are_checked():
    problem = chain_mdp()
    with pytest.raises(ValueError, match=r"theta must have shape \(4, 3\)"):
        objective(problem, GAMMA, np.zeros((4, 2)))
    with pytest.raises(ValueError, match="n_episodes must be an integer"):
        reinforce_estimates(problem, GAMMA, np.zeros((4, 3)), 0, np.random.default_rng(0))
