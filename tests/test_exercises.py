"""Exercise checkers accept correct answers (in several styles) and reject typical mistakes."""

import numpy as np
import pytest

from mini_lib.exercises.ch00_mapping import check_bellman_backup, check_discounted_return

# -- discounted return ---------------------------------------------------------------------------


def return_by_loop(rewards, gamma):
    return sum(gamma**k * r for k, r in enumerate(rewards))


def return_by_horner(rewards, gamma):
    G = 0.0
    for r in reversed(rewards):
        G = r + gamma * G
    return G


def return_by_numpy(rewards, gamma):
    rewards = np.asarray(rewards, dtype=float)
    return float(rewards @ gamma ** np.arange(len(rewards)))


@pytest.mark.parametrize("solution", [return_by_loop, return_by_horner, return_by_numpy])
def test_discounted_return_checker_accepts_correct_solutions(solution):
    result = check_discounted_return(solution)
    assert result.passed, result.message
    assert "correct" in repr(result)


@pytest.mark.parametrize(
    ("wrong", "diagnosis"),
    [
        (lambda r, g: sum(r), "ignore γ"),
        (lambda r, g: sum(g ** (k + 1) * x for k, x in enumerate(r)), "one step too early"),
        (lambda r, g: sum(g ** (len(r) - 1 - k) * x for k, x in enumerate(r)), "reversed"),
        (lambda r, g: sum(r) * g ** max(len(r) - 1, 0), "same factor"),
        (lambda r, g: sum(g**k * x for k, x in enumerate(r[:-1])), "wrong answer for"),
        (lambda r, g: r[0] / 0, "raised ZeroDivisionError"),
    ],
)
def test_discounted_return_checker_rejects_typical_mistakes(wrong, diagnosis):
    result = check_discounted_return(wrong)
    assert not result.passed
    assert diagnosis in result.message


def test_checker_reports_an_unimplemented_stub_kindly():
    def stub(rewards, gamma):
        raise NotImplementedError

    result = check_discounted_return(stub)
    assert not result.passed
    assert "not implemented yet" in result.message


# -- Bellman backup ------------------------------------------------------------------------------


def backup_by_loops(P, R, V, gamma):
    n_states, n_actions, _ = P.shape
    out = np.empty(n_states)
    for s in range(n_states):
        out[s] = max(R[s, a] + gamma * sum(P[s, a, t] * V[t] for t in range(n_states))
                     for a in range(n_actions))
    return out


def backup_by_einsum(P, R, V, gamma):
    return np.max(R + gamma * np.einsum("sat,t->sa", P, V), axis=1)


@pytest.mark.parametrize("solution", [backup_by_loops, backup_by_einsum])
def test_bellman_checker_accepts_correct_solutions(solution):
    result = check_bellman_backup(solution)
    assert result.passed, result.message


@pytest.mark.parametrize(
    ("wrong", "diagnosis"),
    [
        (lambda P, R, V, g: (R + g * (P @ V)).max(axis=0), "wrong axis"),
        (lambda P, R, V, g: (R + g * (P @ V)).mean(axis=1), "average over actions"),
        (lambda P, R, V, g: (R + P @ V).max(axis=1), "not discounted"),
        (lambda P, R, V, g: (g * (P @ V)).max(axis=1), "reward R[s, a] is missing"),
        (lambda P, R, V, g: (R + g * np.einsum("sat,s->sa", P, V)).max(axis=1), "next* state"),
        (lambda P, R, V, g: (R + g * (P @ V)).min(axis=1), "not min"),
        (lambda P, R, V, g: R + g * (P @ V), "should have shape"),
    ],
)
def test_bellman_checker_rejects_typical_mistakes(wrong, diagnosis):
    result = check_bellman_backup(wrong)
    assert not result.passed
    assert diagnosis in result.message, result.message
