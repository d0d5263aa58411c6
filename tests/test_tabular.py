"""Tabular TD control: the batched env against the single env, the book's figures, Q* itself."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import mini_lib  # noqa: F401  (registers the environments)
from mini_lib.envs.maximization_bias import LEFT, RIGHT, STATE_A, STATE_B, MaximizationBiasEnv
from mini_lib.tabular.dynamic_programming import policy_evaluation, value_iteration
from mini_lib.tabular.sampling_table import greedy_path, sampling_table
from mini_lib.tabular.td_control import (
    TabularConfig,
    double_q_learning,
    epsilon_greedy,
    epsilon_greedy_probs,
    q_learning,
    q_learning_update,
    sarsa,
    train,
)

CLIFF_START, CLIFF_GOAL = 36, 47


def set_state(env: gym.Env, state: int) -> None:
    """Put a single env into ``state`` (toy-text envs keep it in ``s``, ours in ``_state``)."""
    base = env.unwrapped
    if hasattr(base, "_state"):
        base._state = state
    else:
        base.s = state


# -- the batched env matches the single Gymnasium env --------------------------------------

@pytest.mark.parametrize("env_id, kwargs", [
    ("CliffWalking-v1", {}),
    ("FrozenLake-v1", {"is_slippery": False}),
    ("Taxi-v4", {}),
    ("mini_lib/GridWorld-v0", {"map_name": "cliff", "slip": 0.0}),
])
def test_deterministic_envs_step_exactly_like_the_single_env(env_id, kwargs):
    env = gym.make(env_id, **kwargs)
    env.reset(seed=0)
    model = sampling_table(env)
    assert model.deterministic
    states = np.repeat(np.arange(model.n_states), model.n_actions)
    actions = np.tile(np.arange(model.n_actions), model.n_states)
    next_state, reward, terminated = model.step(states, actions, np.random.default_rng(0))
    for i, (s, a) in enumerate(zip(states, actions, strict=True)):
        set_state(env, int(s))
        s_next, r, term, _, _ = env.unwrapped.step(int(a))
        assert (next_state[i], reward[i], terminated[i]) == (s_next, r, term), (s, a)


def test_cliff_sends_you_to_the_start_with_minus_100_and_does_not_terminate():
    env = gym.make("CliffWalking-v1")
    model = sampling_table(env)
    right, down = 1, 2
    for state, action in [(CLIFF_START, right), (24 + 5, down), (24 + 10, down)]:
        s_next, r, term = model.step(np.array([state]), np.array([action]),
                                     np.random.default_rng(0))
        assert (s_next[0], r[0], term[0]) == (CLIFF_START, -100.0, False)
        env.reset(seed=0)
        set_state(env, state)
        assert env.step(action)[:3] == (CLIFF_START, -100, False)
    s_next, r, term = model.step(np.array([35]), np.array([down]), np.random.default_rng(0))
    assert (s_next[0], r[0], term[0]) == (CLIFF_GOAL, -1.0, True)
    assert model.reset(np.random.default_rng(0), 3).tolist() == [CLIFF_START] * 3


@pytest.mark.parametrize("env_id, kwargs", [
    ("FrozenLake-v1", {"is_slippery": True}),
    ("mini_lib/GridWorld-v0", {"map_name": "4x3", "slip": 0.2}),
])
def test_stochastic_envs_sample_the_same_distribution_as_the_single_env(env_id, kwargs):
    env = gym.make(env_id, **kwargs)
    env.reset(seed=1)
    model = sampling_table(env)
    rng = np.random.default_rng(0)
    n = 400
    for s in range(model.n_states):
        for a in range(model.n_actions):
            exact = np.zeros(model.n_states)
            np.add.at(exact, model.next_state[s, a], model.prob[s, a])
            batched = np.bincount(model.step(np.full(4000, s), np.full(4000, a), rng)[0],
                                  minlength=model.n_states) / 4000
            single = np.zeros(model.n_states)
            for _ in range(n):
                set_state(env, s)
                single[env.unwrapped.step(a)[0]] += 1 / n
            # 5 standard errors of a frequency (at most 0.5 / sqrt(n))
            assert np.abs(batched - exact).max() < 5 * 0.5 / np.sqrt(4000), (s, a)
            assert np.abs(single - exact).max() < 5 * 0.5 / np.sqrt(n), (s, a)


def test_gridworld_model_rewards_match_the_env():
    env = gym.make("mini_lib/GridWorld-v0", map_name="4x3", slip=0.2)
    model, mdp = sampling_table(env), env.unwrapped.mdp
    expected = (model.prob * model.reward).sum(axis=2)  # expected reward per (s, a)
    live = ~mdp.terminal
    assert np.allclose(expected[live], mdp.R[live])
    env.reset(seed=0)
    set_state(env, 6)  # next to the pit: stepping right enters it
    s_next, r, term, _, _ = env.unwrapped.step(1)
    k = list(model.next_state[6, 1]).index(s_next)
    assert (model.reward[6, 1, k], model.terminated[6, 1, k]) == (r, term)


def test_maximization_bias_env_passes_the_checker_and_matches_the_book():
    env = gym.make("mini_lib/MaximizationBias-v0").unwrapped
    assert isinstance(env, MaximizationBiasEnv)
    check_env(env)
    model = sampling_table(env)
    rng = np.random.default_rng(0)
    left = model.step(np.array([STATE_A]), np.array([LEFT]), rng)
    right = model.step(np.array([STATE_A]), np.array([RIGHT]), rng)
    assert (left[0][0], left[1][0], left[2][0]) == (STATE_B, 0.0, False)
    assert (right[1][0], right[2][0]) == (0.0, True)
    _, rewards, terminated = model.step(np.full(20_000, STATE_B), rng.integers(10, size=20_000),
                                        rng)
    assert terminated.all()
    assert rewards.mean() == pytest.approx(-0.1, abs=0.03)
    assert rewards.std() == pytest.approx(1.0, abs=0.03)
    assert model.action_mask[STATE_A].tolist() == [True, True] + [False] * 8
    _, info = env.reset(seed=0)
    assert info["action_mask"].tolist() == [1, 1] + [0] * 8
    assert env.step(LEFT)[:3] == (STATE_B, 0.0, False)
    single = [env.step(3)[1:3] for _ in range(2000) if set_state(env, STATE_B) is None]
    rewards, terminated = np.array(single).T
    assert terminated.all() and rewards.mean() == pytest.approx(-0.1, abs=0.1)
    set_state(env, STATE_A)
    assert env.step(5)[:3] == (STATE_A, 0.0, False)  # a no-op in A, as the mask says


# -- bad input -------------------------------------------------------------------------------

@pytest.mark.parametrize("env_id", ["CartPole-v1", "Pendulum-v1"])
def test_continuous_spaces_are_refused(env_id):
    with pytest.raises(ValueError, match="tabular methods need Discrete"):
        q_learning(gym.make(env_id), TabularConfig(n_episodes=1))


@pytest.mark.parametrize("field, value, message", [
    ("alpha", 0.0, r"alpha must be in \(0, 1\], got 0.0"),
    ("alpha", 1.5, r"alpha must be in \(0, 1\], got 1.5"),
    ("epsilon", -0.1, r"epsilon must be in \[0, 1\], got -0.1"),
    ("gamma", 1.01, r"gamma must be in \[0, 1\], got 1.01"),
    ("n_runs", 0, r"n_runs must be an integer in \[1, "),
    ("n_episodes", 0, r"n_episodes must be an integer in \[1, "),
    ("max_steps", 0, r"max_steps must be an integer in \[1, inf\]"),
    ("alpha_decay", 2.0, r"alpha_decay must be in \[0, 1\]"),
])
def test_bad_hyperparameters_name_parameter_value_and_range(field, value, message):
    with pytest.raises(ValueError, match=message):
        TabularConfig(**{field: value})


def test_unknown_algorithm_or_engine_is_refused():
    with pytest.raises(ValueError, match="algorithm must be one of"):
        train(gym.make("CliffWalking-v1"), "td_lambda")
    with pytest.raises(ValueError, match="engine must be"):
        train(gym.make("CliffWalking-v1"), "sarsa", engine="gpu")


# -- ε-greedy --------------------------------------------------------------------------------

@pytest.mark.parametrize("q, epsilon", [([0.0, 0.0, 0.0, 0.0], 0.0), ([1.0, 3.0, 3.0, 2.0], 0.2),
                                        ([5.0, 1.0, 2.0], 1.0), ([0.0, 1.0], 0.5)])
def test_epsilon_greedy_draws_its_exact_distribution_with_random_tie_breaking(q, epsilon):
    rng = np.random.default_rng(0)
    n = 40_000
    actions = epsilon_greedy(np.tile(q, (n, 1)), epsilon, rng)
    frequencies = np.bincount(actions, minlength=len(q)) / n
    exact = epsilon_greedy_probs(np.array(q), epsilon)
    assert exact.sum() == pytest.approx(1.0)
    assert np.abs(frequencies - exact).max() < 0.012
    single = [epsilon_greedy(np.array(q), epsilon, rng) for _ in range(2000)]
    assert all(isinstance(a, int) for a in single)
    assert np.abs(np.bincount(single, minlength=len(q)) / 2000 - exact).max() < 0.05


def test_ties_are_broken_at_random_and_masks_respected():
    assert epsilon_greedy_probs(np.zeros(4), 0.0).tolist() == [0.25] * 4
    mask = np.array([False, True, True, False])
    probs = epsilon_greedy_probs(np.array([9.0, 0.0, 1.0, 9.0]), 0.2, mask)
    assert probs == pytest.approx([0.0, 0.1, 0.9, 0.0])
    actions = epsilon_greedy(np.tile([9.0, 0.0, 1.0, 9.0], (5000, 1)), 0.5,
                             np.random.default_rng(0), np.tile(mask, (5000, 1)))
    assert set(np.unique(actions)) == {1, 2}


# -- the algorithms --------------------------------------------------------------------------

def test_q_learning_update_on_one_transition():
    Q = np.zeros((3, 2))
    Q[2] = [1.0, 4.0]
    q_learning_update(Q, 0, 1, r=-1.0, s_next=2, terminated=False, alpha=0.5, gamma=0.9)
    assert Q[0, 1] == pytest.approx(0.5 * (-1 + 0.9 * 4.0))
    q_learning_update(Q, 1, 0, r=2.0, s_next=2, terminated=True, alpha=0.5, gamma=0.9)
    assert Q[1, 0] == pytest.approx(1.0)  # no bootstrap from a terminal state


ENGINES = ["batched", "loop"]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("algorithm", ["q_learning", "sarsa", "expected_sarsa"])
def test_greedy_td_control_finds_the_13_step_cliff_path(algorithm, engine):
    env = gym.make("CliffWalking-v1")
    result = train(env, algorithm, TabularConfig(alpha=0.5, epsilon=0.0, n_runs=5,
                                                 n_episodes=150, seed=3), engine)
    assert result.returns.shape == result.lengths.shape == (5, 150)
    assert np.all(result.returns[:, -10:] == -13.0)  # the optimal return
    model = sampling_table(env)
    for Q in result.Q:
        assert len(greedy_path(model, Q)) - 1 == 13


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("algorithm", ["q_learning", "double_q_learning"])
def test_off_policy_methods_reach_q_star_on_a_deterministic_world(algorithm, engine):
    """With a deterministic world, uniform behaviour and α = 0.5 the error shrinks geometrically."""
    env = gym.make("mini_lib/GridWorld-v0", map_name="4x3", slip=0.0, step_reward=-0.1)
    mdp, live = env.unwrapped.mdp, ~env.unwrapped.mdp.terminal
    exact = value_iteration(mdp.P, mdp.R, 0.9, mdp.terminal)
    result = train(env, algorithm, TabularConfig(alpha=0.5, epsilon=1.0, gamma=0.9, n_runs=4,
                                                 n_episodes=300), engine)
    assert np.abs(result.Q[:, live] - exact.Q[live]).max() < 1e-4
    assert len(result.tables) == (2 if algorithm == "double_q_learning" else 1)
    for table in result.tables:  # both of Double Q-learning's tables converge
        assert np.abs(table[:, live] - exact.Q[live]).max() < 1e-4


@pytest.mark.parametrize("engine", ENGINES)
def test_expected_sarsa_with_epsilon_one_evaluates_the_uniform_policy(engine):
    env = gym.make("mini_lib/GridWorld-v0", map_name="4x3", slip=0.0, step_reward=-0.1)
    mdp, live = env.unwrapped.mdp, ~env.unwrapped.mdp.terminal
    uniform = np.full((mdp.n_states, mdp.n_actions), 0.25)
    v = policy_evaluation(mdp.P, mdp.R, uniform, 0.9, mdp.terminal)
    q_pi = mdp.R + 0.9 * mdp.P @ v
    result = train(env, "expected_sarsa", TabularConfig(alpha=0.5, epsilon=1.0, gamma=0.9,
                                                        n_runs=2, n_episodes=300), engine)
    assert np.abs(result.Q[:, live] - q_pi[live]).max() < 1e-4


@pytest.mark.parametrize("engine", ENGINES)
def test_expected_sarsa_with_epsilon_zero_is_q_learning(engine):
    env = gym.make("CliffWalking-v1")
    config = TabularConfig(alpha=0.5, epsilon=0.0, n_runs=3, n_episodes=30, seed=7)
    a, b = train(env, "q_learning", config, engine), train(env, "expected_sarsa", config, engine)
    assert np.array_equal(a.returns, b.returns) and np.allclose(a.Q, b.Q)


@pytest.mark.parametrize("engine", ENGINES)
def test_results_are_reproducible_and_runs_independent(engine):
    env = gym.make("FrozenLake-v1")
    config = TabularConfig(alpha=0.1, epsilon=0.2, gamma=0.95, n_runs=4, n_episodes=50, seed=5)
    a, b = train(env, "sarsa", config, engine), train(env, "sarsa", config, engine)
    assert np.array_equal(a.returns, b.returns) and np.array_equal(a.Q, b.Q)
    c = train(env, "sarsa", TabularConfig(**{**config.__dict__, "seed": 6}), engine)
    assert not np.array_equal(a.lengths, c.lengths)
    assert not np.array_equal(a.lengths[0], a.lengths[1])


@pytest.mark.parametrize("engine", ENGINES)
def test_time_limit_is_respected(engine):
    env = gym.make("CliffWalking-v1")
    result = train(env, "q_learning", TabularConfig(epsilon=1.0, n_runs=4, n_episodes=20,
                                                    max_steps=7), engine)
    assert result.lengths.max() == 7
    frozen = train(gym.make("FrozenLake-v1", is_slippery=True), "q_learning",
                   TabularConfig(epsilon=1.0, n_runs=50, n_episodes=20, gamma=0.9), engine)
    assert frozen.lengths.max() <= 100  # FrozenLake's registered TimeLimit


def test_progress_bar_does_not_change_the_result():
    env = gym.make("CliffWalking-v1")
    config = TabularConfig(n_runs=2, n_episodes=10, seed=1)
    quiet = q_learning(env, config)
    loud = q_learning(env, TabularConfig(**{**config.__dict__, "progress": True}))
    assert np.array_equal(quiet.Q, loud.Q)


def test_taxi_is_learned():
    env = gym.make("Taxi-v4")
    result = q_learning(env, TabularConfig(alpha=0.5, epsilon=0.1, gamma=0.99, n_runs=8,
                                           n_episodes=400, seed=0))
    early, late = result.returns[:, :20].mean(), result.returns[:, -50:].mean()
    assert early < -150 and late > -10  # a delivery pays +20; random driving ≈ -750


# -- reproductions ---------------------------------------------------------------------------

def test_sutton_barto_figure_6_4_cliff_walking():
    """Example 6.6: α = 0.5, ε = 0.1, γ = 1, 50 runs × 500 episodes; mean over episodes 200–500.

    The book's figure shows Sarsa ≈ −25 and Q-learning ≈ −50; bands from references.md.
    """
    env = gym.make("CliffWalking-v1")
    config = TabularConfig(alpha=0.5, epsilon=0.1, gamma=1.0, n_runs=50, n_episodes=500)
    s, q = sarsa(env, config), q_learning(env, config)
    assert -32 <= s.returns[:, 199:].mean() <= -22
    assert -55 <= q.returns[:, 199:].mean() <= -45
    model = sampling_table(env)
    q_path = greedy_path(model, q.Q.mean(axis=0))
    s_path = greedy_path(model, s.Q.mean(axis=0))
    assert len(q_path) - 1 == 13 and q_path[-1] == CLIFF_GOAL  # along the cliff edge
    assert {p // 12 for p in q_path[1:-1]} == {2}
    assert s_path[-1] == CLIFF_GOAL and len(s_path) - 1 >= 15  # the safe detour
    assert min(p // 12 for p in s_path) <= 1


def test_sutton_barto_figure_6_5_maximization_bias():
    """Example 6.7: ε = 0.1, α = 0.1, γ = 1, 2,000 runs (book: 10,000) × 300 episodes.

    Our 10,000-run reference: Q-learning 87 % "left" at episode 10, peak 94 %; Double
    Q-learning 45 % at episode 10 and 5–9 % after episode 100 (optimal: 5 %). Tolerances
    are ±5 points, about 6 standard errors with 2,000 runs.
    """
    env = gym.make("mini_lib/MaximizationBias-v0")
    config = TabularConfig(alpha=0.1, epsilon=0.1, gamma=1.0, n_runs=2000, n_episodes=300)
    q = 100 * (q_learning(env, config).first_actions == LEFT).mean(axis=0)
    d = 100 * (double_q_learning(env, config).first_actions == LEFT).mean(axis=0)
    assert q[0] == pytest.approx(50, abs=5) and d[0] == pytest.approx(50, abs=5)
    assert q[9] == pytest.approx(87, abs=5) and q[:50].max() == pytest.approx(94, abs=4)
    assert d[9] == pytest.approx(45, abs=5)
    assert 3 <= d[100:].mean() <= 10
    assert q[:100].mean() > d[:100].mean() + 30


def test_q_learning_converges_to_value_iteration_q_star():
    """4×3 world, slip 0.2, γ = 0.9, step −0.1, uniform behaviour, α = 1/n(s,a)^0.7.

    Measured (20 runs, 3,000 episodes): max-norm error 0.079 worst, 0.051 mean; tolerance
    0.15 / 0.08. The smallest action gap of Q* is 0.071, and every greedy policy must be
    exactly optimal (its value equals V* to 1e-8).
    """
    env = gym.make("mini_lib/GridWorld-v0", map_name="4x3", slip=0.2, step_reward=-0.1)
    mdp = env.unwrapped.mdp
    exact = value_iteration(mdp.P, mdp.R, 0.9, mdp.terminal)
    live = ~mdp.terminal
    gaps = np.diff(np.sort(exact.Q[live], axis=1)[:, -2:], axis=1)
    assert gaps.min() > 0.07
    config = TabularConfig(alpha=1.0, alpha_decay=0.7, epsilon=1.0, gamma=0.9, n_runs=6,
                           n_episodes=3000, seed=0)
    result = q_learning(env, config)
    errors = np.abs(result.Q[:, live] - exact.Q[live]).max(axis=(1, 2))
    assert errors.max() < 0.15 and errors.mean() < 0.08, errors
    early = q_learning(env, TabularConfig(**{**config.__dict__, "n_episodes": 30}))
    assert np.abs(early.Q[:, live] - exact.Q[live]).max(axis=(1, 2)).mean() > 2 * errors.mean()
    for policy in result.greedy_policy():
        v = policy_evaluation(mdp.P, mdp.R, policy, 0.9, mdp.terminal)
        assert np.allclose(v, exact.V, atol=1e-8)


def test_both_engines_reproduce_figure_6_4_and_6_5_alike():
    """The plain-Python engine (used for < 20 runs) learns what the batched engine learns."""
    env = gym.make("CliffWalking-v1")
    config = TabularConfig(alpha=0.5, epsilon=0.1, gamma=1.0, n_runs=20, n_episodes=500)
    for algorithm, low, high in [("sarsa", -32, -22), ("q_learning", -55, -45)]:
        means = [train(env, algorithm, config, engine).returns[:, 199:].mean()
                 for engine in ENGINES]
        assert all(low <= m <= high for m in means) and abs(means[0] - means[1]) < 4, means
    env = gym.make("mini_lib/MaximizationBias-v0")
    config = TabularConfig(alpha=0.1, epsilon=0.1, gamma=1.0, n_runs=1000, n_episodes=100)
    for algorithm, at_10 in [("q_learning", 87), ("double_q_learning", 45)]:
        left = 100 * (train(env, algorithm, config, "loop").first_actions == LEFT).mean(axis=0)
        assert left[9] == pytest.approx(at_10, abs=6)
