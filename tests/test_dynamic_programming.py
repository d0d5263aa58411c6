"""Value iteration and policy evaluation against answers computed by hand and from the book."""

import numpy as np
import pytest

from mini_lib.envs import GridWorldEnv
from mini_lib.tabular.dynamic_programming import bellman_backup, policy_evaluation, value_iteration


def two_state_mdp():
    """State 0: 'stay' earns 1 and stays; 'go' earns 2 and ends (state 1 is terminal).

    By hand: V(0) = max(1 + γ V(0), 2), so V(0) = max(1/(1−γ), 2):
    γ = 0.9 -> stay forever, V(0) = 10; γ = 0.3 -> go, V(0) = 2.
    """
    P = np.zeros((2, 2, 2))
    P[0, 0, 0] = 1.0  # stay
    P[0, 1, 1] = 1.0  # go
    P[1, :, 1] = 1.0  # absorbing
    R = np.array([[1.0, 2.0], [0.0, 0.0]])
    terminal = np.array([False, True])
    return P, R, terminal


@pytest.mark.parametrize(("gamma", "value", "action"), [(0.9, 10.0, 0), (0.3, 2.0, 1)])
def test_value_iteration_matches_hand_computed_answer(gamma, value, action):
    P, R, terminal = two_state_mdp()
    result = value_iteration(P, R, gamma, terminal)
    assert result.V[0] == pytest.approx(value, abs=1e-8)
    assert result.V[1] == 0.0
    assert result.policy[0] == action
    assert result.Q[0] == pytest.approx([1 + gamma * value, 2.0], abs=1e-8)


def test_value_iteration_reproduces_russell_norvig_figure_17_3():
    env = GridWorldEnv("4x3", slip=0.2, step_reward=-0.04)
    result = value_iteration(env.mdp.P, env.mdp.R, 1.0, env.mdp.terminal)
    published = {0: 0.812, 1: 0.868, 2: 0.918, 4: 0.762, 6: 0.660, 8: 0.705, 9: 0.655,
                 10: 0.611, 11: 0.388}
    for state, value in published.items():
        assert result.V[state] == pytest.approx(value, abs=5e-4), state
    # Figure 17.2(a): the bottom row goes the long way round, away from the −1 pit.
    assert list(result.policy[[8, 9, 10, 11]]) == [0, 3, 3, 3]


def test_value_iteration_is_a_fixed_point_of_the_backup_and_contracts():
    env = GridWorldEnv("cliff", slip=0.2)
    gamma = 0.9
    result = value_iteration(env.mdp.P, env.mdp.R, gamma, env.mdp.terminal, tol=1e-13)
    backed_up = bellman_backup(env.mdp.P, env.mdp.R, result.V, gamma).max(axis=1)
    live = ~env.mdp.terminal
    assert np.allclose(backed_up[live], result.V[live], atol=1e-11)
    errors = [np.max(np.abs(v - result.V)) for v in result.history]
    for k, error in enumerate(errors):
        assert error <= gamma**k * errors[0] + 1e-12


def test_policy_evaluation_matches_value_iteration_for_the_greedy_policy():
    env = GridWorldEnv("cliff", slip=0.3)
    mdp = env.mdp
    result = value_iteration(mdp.P, mdp.R, 0.95, mdp.terminal)
    v_greedy = policy_evaluation(mdp.P, mdp.R, result.policy, 0.95, mdp.terminal)
    assert np.allclose(v_greedy, result.V, atol=1e-8)
    # A stochastic policy is worse than the optimal one everywhere.
    uniform = np.full((mdp.n_states, mdp.n_actions), 0.25)
    v_uniform = policy_evaluation(mdp.P, mdp.R, uniform, 0.95, mdp.terminal)
    assert np.all(v_uniform <= result.V + 1e-9)
    assert v_uniform[env.start_state] < result.V[env.start_state] - 0.1


def test_policy_evaluation_by_hand_on_two_state_mdp():
    P, R, terminal = two_state_mdp()
    always_stay = np.array([0, 0])
    assert policy_evaluation(P, R, always_stay, 0.5, terminal)[0] == pytest.approx(2.0)
    with pytest.raises(ValueError, match="gamma = 1"):
        policy_evaluation(P, R, always_stay, 1.0, terminal)  # never terminates


def test_gamma_one_without_a_reachable_terminal_raises_with_the_cause():
    trapped = GridWorldEnv(layout=["S.#G"])
    with pytest.raises(RuntimeError, match="gamma < 1"):
        value_iteration(trapped.mdp.P, trapped.mdp.R, 1.0, trapped.mdp.terminal,
                        max_iterations=200)
    # γ < 1 converges to the geometric sum of step costs.
    result = value_iteration(trapped.mdp.P, trapped.mdp.R, 0.9, trapped.mdp.terminal)
    assert result.V[trapped.start_state] == pytest.approx(-0.04 / 0.1, abs=1e-8)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"gamma": 1.5}, r"gamma must be in \[0, 1\], got 1.5"),
        ({"gamma": -0.1}, r"gamma must be in \[0, 1\], got -0.1"),
        ({"gamma": 0.9, "tol": 0.0}, r"tol must be in \(0, inf\], got 0.0"),
        ({"gamma": 0.9, "max_iterations": 0}, r"max_iterations must be an integer in"),
    ],
)
def test_value_iteration_rejects_bad_hyperparameters(kwargs, message):
    P, R, terminal = two_state_mdp()
    with pytest.raises(ValueError, match=message):
        value_iteration(P, R, terminal=terminal, **kwargs)


def test_value_iteration_rejects_malformed_models():
    P, R, terminal = two_state_mdp()
    with pytest.raises(ValueError, match=r"R must have shape \(2, 2\), got \(2, 3\)"):
        value_iteration(P, np.zeros((2, 3)), 0.9)
    with pytest.raises(ValueError, match="P must have shape"):
        value_iteration(np.ones((2, 2, 3)) / 3, R, 0.9)
    bad_P = P.copy()
    bad_P[0, 0, 0] = 0.5
    with pytest.raises(ValueError, match=r"P\[0, 0\] sums to 0.5"):
        value_iteration(bad_P, R, 0.9)
    with pytest.raises(ValueError, match="terminal must have shape"):
        value_iteration(P, R, 0.9, terminal=np.array([True]))
    with pytest.raises(ValueError, match="policy"):
        policy_evaluation(P, R, np.array([0, 5]), 0.9, terminal)
