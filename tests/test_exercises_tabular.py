"""Chapter 01 exercise checkers: correct answers pass, typical mistakes are named."""

import numpy as np
import pytest

from mini_lib.exercises.ch01_q_learning import check_epsilon_greedy, check_q_learning_update
from mini_lib.tabular.td_control import epsilon_greedy

# -- the Q-learning update -------------------------------------------------------------------


def correct_update(Q, s, a, r, s_next, terminated, alpha, gamma):
    target = r if terminated else r + gamma * np.max(Q[s_next])
    Q[s, a] += alpha * (target - Q[s, a])


def returns_a_new_table(Q, s, a, r, s_next, terminated, alpha, gamma):
    new = Q.copy()
    future = 0.0 if terminated else Q[s_next].max()
    new[s, a] = (1 - alpha) * Q[s, a] + alpha * (r + gamma * future)
    return new


def bootstraps_from_terminal(Q, s, a, r, s_next, terminated, alpha, gamma):
    Q[s, a] += alpha * (r + gamma * np.max(Q[s_next]) - Q[s, a])


def max_over_states(Q, s, a, r, s_next, terminated, alpha, gamma):
    target = r if terminated else r + gamma * np.max(Q[:, a])
    Q[s, a] += alpha * (target - Q[s, a])


def sarsa_like(Q, s, a, r, s_next, terminated, alpha, gamma):
    target = r if terminated else r + gamma * Q[s_next, a]
    Q[s, a] += alpha * (target - Q[s, a])


def no_step_size(Q, s, a, r, s_next, terminated, alpha, gamma):
    Q[s, a] = r if terminated else r + gamma * np.max(Q[s_next])


def not_implemented(Q, s, a, r, s_next, terminated, alpha, gamma):
    raise NotImplementedError


@pytest.mark.parametrize("fn", [correct_update, returns_a_new_table])
def test_correct_q_updates_pass(fn):
    result = check_q_learning_update(fn)
    assert result.passed, result.message
    assert "✅" in repr(result)


@pytest.mark.parametrize(("fn", "hint"), [
    (bootstraps_from_terminal, "bootstrap from a terminal state"),
    (max_over_states, "max is over the wrong axis"),
    (sarsa_like, "Q[s_next, a]"),
    (no_step_size, "overwrite Q[s, a]"),
])
def test_typical_q_update_mistakes_are_named(fn, hint):
    result = check_q_learning_update(fn)
    assert not result.passed
    assert hint in result.message, result.message


def test_unfinished_q_update_says_so():
    assert "not implemented yet" in check_q_learning_update(not_implemented).message


def test_the_checker_does_not_let_in_place_updates_leak_between_cases():
    calls = []

    def spy(Q, s, a, r, s_next, terminated, alpha, gamma):
        calls.append(Q.copy())
        correct_update(Q, s, a, r, s_next, terminated, alpha, gamma)

    assert check_q_learning_update(spy).passed
    assert len(calls) >= 18


# -- ε-greedy --------------------------------------------------------------------------------


def correct_epsilon_greedy(q, epsilon, rng):
    if rng.random() < epsilon:
        return int(rng.integers(len(q)))
    best = np.flatnonzero(q == q.max())
    return int(rng.choice(best))


def argmax_without_tie_breaking(q, epsilon, rng):
    if rng.random() < epsilon:
        return int(rng.integers(len(q)))
    return int(np.argmax(q))


def never_explores(q, epsilon, rng):
    return int(rng.choice(np.flatnonzero(q == q.max())))


def flipped_epsilon(q, epsilon, rng):
    return correct_epsilon_greedy(q, 1 - epsilon, rng)


def explores_only_non_greedy(q, epsilon, rng):
    best = np.flatnonzero(q == q.max())
    others = np.flatnonzero(q != q.max())
    if rng.random() < epsilon and others.size:
        return int(rng.choice(others))
    if others.size == 0 and rng.random() < epsilon:
        return int(rng.choice(best))
    return int(rng.choice(best))


def returns_q_value(q, epsilon, rng):
    return float(q.max())


@pytest.mark.parametrize("fn", [correct_epsilon_greedy, epsilon_greedy])
def test_correct_epsilon_greedy_passes(fn):
    result = check_epsilon_greedy(fn)
    assert result.passed, result.message


@pytest.mark.parametrize(("fn", "hint"), [
    (argmax_without_tie_breaking, "ties are always broken towards the first action"),
    (never_explores, "never explores"),
    (flipped_epsilon, "swapped"),
    (explores_only_non_greedy, "exclude the greedy action"),
])
def test_typical_epsilon_greedy_mistakes_are_named(fn, hint):
    result = check_epsilon_greedy(fn)
    assert not result.passed
    assert hint in result.message, result.message


def test_epsilon_greedy_must_return_an_action_index():
    result = check_epsilon_greedy(returns_q_value)
    assert not result.passed and "action index" in result.message
