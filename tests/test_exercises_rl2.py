"""Chapter 07's checkers accept right answers and name each typical bug."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mini_lib.exercises.ch07_rl2 import (
    beta_argmax_probabilities,
    check_memory_loop,
    check_rl2_inputs,
    check_thompson,
)

# -- exercise 1: Thompson sampling ---------------------------------------------------------------


def thompson_arms(wins, pulls, rng):
    draws = rng.beta(1 + wins, 1 + pulls - wins)
    return np.argmax(draws, axis=1)


def thompson_by_gammas(wins, pulls, rng):  # Beta as a ratio of gammas: another random stream
    x, y = rng.gamma(1.0 + wins), rng.gamma(1.0 + pulls - wins)
    return np.argmax(x / (x + y), axis=1)


def greedy(wins, pulls, rng):
    return np.argmax((wins + 1) / (pulls + 2), axis=1)


def uniform_arms(wins, pulls, rng):
    return rng.integers(wins.shape[1], size=wins.shape[0])


def forgets_late(wins, pulls, rng):  # right on the short count states, random after 25 pulls
    arms = thompson_arms(wins, pulls, rng)
    late = pulls.sum(axis=1) > 25
    return np.where(late, rng.integers(wins.shape[1], size=len(arms)), arms)


def stub(*args):
    raise NotImplementedError


def crashes(*args):
    return [][0]


def test_the_exact_probabilities_agree_with_sampling_and_sum_to_one():
    alpha, beta = np.array([10, 2, 1, 3]), np.array([2, 4, 1, 4])
    exact = beta_argmax_probabilities(alpha, beta)
    draws = np.random.default_rng(0).beta(alpha, beta, size=(400_000, 4))
    sampled = np.bincount(draws.argmax(axis=1), minlength=4) / 400_000
    assert exact.sum() == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(exact, sampled, atol=3e-3)
    np.testing.assert_allclose(beta_argmax_probabilities([1, 1], [1, 1]), [0.5, 0.5])
    assert beta_argmax_probabilities([2, 1], [1, 1]) == pytest.approx([2 / 3, 1 / 3])
    assert beta_argmax_probabilities([2, 1], [1, 1], largest=False) == pytest.approx(
        [1 / 3, 2 / 3])


@pytest.mark.parametrize("seed", range(20))
def test_the_thompson_checker_accepts_the_solution_on_any_seed(seed):
    result = check_thompson(thompson_arms, seed=seed)
    assert result.passed, result.message
    assert "Duan et al.: 74.7" in result.message


@pytest.mark.parametrize("seed", range(3))
def test_the_thompson_checker_accepts_another_way_of_sampling(seed):
    result = check_thompson(thompson_by_gammas, seed=seed)
    assert result.passed, result.message


@pytest.mark.parametrize(("bug", "phrase"), [
    (lambda w, p, rng: np.argmax(rng.beta(w, p - w), axis=1), "+1 to both counts"),
    (lambda w, p, rng: np.argmax(rng.beta(1 + w, 1 + p), axis=1), "counts the *losses*"),
    (greedy, "deterministic"),
    (lambda w, p, rng: np.argmin(rng.beta(1 + w, 1 + p - w), axis=1), "*smallest* draw"),
    (lambda w, p, rng: np.argmax(rng.beta(1 + w, 1 + p - w), axis=0), "axis=1"),
    (lambda w, p, rng: thompson_arms(w, p, np.random.default_rng()), "do not come from rng"),
    (lambda w, p, rng: thompson_arms(w, p, rng).astype(float), "integer arm indices"),
    (uniform_arms, "exact probabilities are"),
    (forgets_late, "does it work for any counts"),
    (stub, "not implemented yet"),
    (crashes, "raised IndexError"),
])
def test_the_thompson_checker_names_the_typical_bug(bug, phrase):
    result = check_thompson(bug)
    assert not result.passed and phrase in result.message, result.message


# -- exercise 2: the RL² input sequence ----------------------------------------------------------


def rl2_inputs(actions, rewards, n_arms):
    n, batch = actions.shape
    inputs = torch.zeros(n, batch, n_arms + 2)
    inputs[1:, :, :n_arms] = F.one_hot(actions[:-1], n_arms).float()
    inputs[1:, :, n_arms] = rewards[:-1]
    inputs[:, :, n_arms + 1] = (torch.arange(n) / n)[:, None]
    return inputs


def rl2_inputs_by_cat(actions, rewards, n_arms):
    n, batch = actions.shape
    previous = torch.cat([torch.zeros(1, batch, n_arms + 1),
                          torch.cat([F.one_hot(actions, n_arms).float(), rewards[..., None]],
                                    dim=2)[:-1]])
    time = (torch.arange(n, dtype=torch.float32) / n)[:, None, None].expand(n, batch, 1)
    return torch.cat([previous, time], dim=2)


def with_features(actions, rewards, n_arms, one_hot=None, reward=None, time=None):
    inputs = rl2_inputs(actions, rewards, n_arms)
    for columns, values in [(slice(0, n_arms), one_hot), (n_arms, reward), (n_arms + 1, time)]:
        if values is not None:
            inputs[:, :, columns] = values
    return inputs


def reward_leak(actions, rewards, n_arms):
    return with_features(actions, rewards, n_arms, reward=rewards)


def reward_leak_from_row_1(actions, rewards, n_arms):  # rewards[1:] instead of rewards[:-1]
    inputs = rl2_inputs(actions, rewards, n_arms)
    inputs[1:, :, n_arms] = rewards[1:]
    return inputs


def nothing_shifted(actions, rewards, n_arms):
    return with_features(actions, rewards, n_arms, one_hot=F.one_hot(actions, n_arms).float(),
                         reward=rewards)


def action_unshifted(actions, rewards, n_arms):
    return with_features(actions, rewards, n_arms, one_hot=F.one_hot(actions, n_arms).float())


def rolled(actions, rewards, n_arms):
    return with_features(actions, rewards, n_arms,
                         one_hot=F.one_hot(actions.roll(1, 0), n_arms).float(),
                         reward=rewards.roll(1, 0))


def time_off_by_one(actions, rewards, n_arms):
    n = actions.shape[0]
    return with_features(actions, rewards, n_arms, time=(torch.arange(n)[:, None] + 1) / n)


def time_zero(actions, rewards, n_arms):
    return with_features(actions, rewards, n_arms, time=0.0)


def time_missing(actions, rewards, n_arms):
    return rl2_inputs(actions, rewards, n_arms)[:, :, :-1]


def one_hot_last(actions, rewards, n_arms):
    inputs = rl2_inputs(actions, rewards, n_arms)
    return torch.cat([inputs[:, :, n_arms:], inputs[:, :, :n_arms]], dim=2)


def batch_first(actions, rewards, n_arms):
    return rl2_inputs(actions, rewards, n_arms).transpose(0, 1)


def float64(actions, rewards, n_arms):
    return rl2_inputs(actions, rewards, n_arms).double()


def rewards_doubled(actions, rewards, n_arms):
    return with_features(actions, rewards, n_arms,
                         reward=2 * rl2_inputs(actions, rewards, n_arms)[:, :, n_arms])


def test_the_input_checker_accepts_both_ways_of_writing_it():
    for solution in (rl2_inputs, rl2_inputs_by_cat):
        result = check_rl2_inputs(solution)
        assert result.passed, result.message


@pytest.mark.parametrize(("bug", "phrase"), [
    (reward_leak, "a leak"),
    (reward_leak_from_row_1, "a leak"),
    (nothing_shifted, "a leak"),
    (action_unshifted, "the arm about to be chosen"),
    (rolled, "torch.roll"),
    (time_off_by_one, "(t + 1)/n"),
    (time_zero, "is missing (or zero)"),
    (time_missing, "is missing (or zero)"),
    (one_hot_last, "wrong places"),
    (batch_first, "time comes first"),
    (float64, "float32"),
    (rewards_doubled, "row t = 1"),
    (stub, "not implemented yet"),
    (crashes, "raised IndexError"),
])
def test_the_input_checker_names_the_typical_bug(bug, phrase):
    result = check_rl2_inputs(bug)
    assert not result.passed and phrase in result.message, result.message


# -- exercise 3: the memory loop -----------------------------------------------------------------


def run_memory(model, inputs):
    state, states = None, []
    for t in range(inputs.shape[0]):
        out = model(inputs[t:t + 1], state)
        state = out.last_state
        states.append(out.states)
    return torch.cat(states)


def run_memory_on_the_gru(model, inputs):  # the GRU alone, state from explicit zeros
    state = torch.zeros(1, inputs.shape[1], model.hidden)
    states = []
    for x in inputs:
        output, state = model.gru(x[None], state)
        states.append(output[0])
    return torch.stack(states)


def reset_every_pull(model, inputs):
    return torch.cat([model(inputs[t:t + 1], None).states for t in range(inputs.shape[0])])


def kept_in_a_default(model, inputs, memory={}):  # noqa: B006 — the bug under test
    states = []
    for t in range(inputs.shape[0]):
        out = model(inputs[t:t + 1], memory.get("state"))
        memory["state"] = out.last_state
        states.append(out.states)
    return torch.cat(states)


def last_state_only(model, inputs):
    return run_memory(model, inputs)[-1:]


def stacked_last_states(model, inputs):
    state, states = None, []
    for t in range(inputs.shape[0]):
        state = model(inputs[t:t + 1], state).last_state
        states.append(state)
    return torch.stack(states)


def fused(model, inputs):
    return model(inputs).states


def noisy(model, inputs):
    return run_memory(model, inputs) + 1e-3


def as_list(model, inputs):
    return list(run_memory(model, inputs))


def test_the_memory_checker_accepts_both_ways_of_writing_it():
    for solution in (run_memory, run_memory_on_the_gru):
        result = check_memory_loop(solution)
        assert result.passed, result.message


@pytest.mark.parametrize(("bug", "phrase"), [
    (reset_every_pull, "never survives a pull"),
    (kept_in_a_default, "previous bandit"),
    (last_state_only, "last_state only"),
    (stacked_last_states, "adds an axis"),
    (fused, "one fused call"),
    (noisy, "largest difference"),
    (as_list, "one tensor"),
    (stub, "not implemented yet"),
    (crashes, "raised IndexError"),
])
def test_the_memory_checker_names_the_typical_bug(bug, phrase):
    result = check_memory_loop(bug)
    assert not result.passed and phrase in result.message, result.message


def test_a_state_left_from_a_trial_of_another_batch_is_named_too():
    memory = {"state": torch.zeros(1, 7, 8)}  # as if run on 7 trials in the notebook before

    def stale(model, inputs):
        return kept_in_a_default(model, inputs, memory)

    result = check_memory_loop(stale)
    assert not result.passed and "previous bandit" in result.message, result.message
