"""DQN chapter exercise checkers: correct answers pass, typical mistakes are named."""

import numpy as np
import pytest
import torch

from mini_lib.deep_q.replay import TransitionBatch
from mini_lib.exercises.ch02_dqn import check_replay_sample, check_td_target

# -- the TD target -----------------------------------------------------------------------------


def td_torch_no_grad(rewards, next_q_values, terminated, gamma):
    with torch.no_grad():
        return rewards + gamma * (1 - terminated) * next_q_values.max(dim=1).values


def td_torch_where_detach(rewards, next_q_values, terminated, gamma):
    best = next_q_values.detach().max(dim=1)[0]
    return torch.where(terminated.bool(), rewards, rewards + gamma * best)


def td_numpy(rewards, next_q_values, terminated, gamma):
    r, q, t = (x.detach().numpy() for x in (rewards, next_q_values, terminated))
    return r + gamma * (1.0 - t) * np.max(q, axis=1)


def td_loop(rewards, next_q_values, terminated, gamma):
    out = []
    for r, q, t in zip(rewards.tolist(), next_q_values.tolist(), terminated.tolist(),
                       strict=True):
        out.append(r if t else r + gamma * max(q))
    return out


@pytest.mark.parametrize("solution", [td_torch_no_grad, td_torch_where_detach, td_numpy, td_loop])
def test_td_target_checker_accepts_correct_solutions(solution):
    result = check_td_target(solution)
    assert result.passed, result.message
    assert "✅" in repr(result)


def _td(next_value, mask=lambda t: 1 - t, reward=True, gamma=True):
    """A wrong td_target built from its parts (computed without gradient)."""
    def fn(r, q, t, g):
        with torch.no_grad():
            return (r if reward else 0) + (g if gamma else 1) * mask(t) * next_value(q)
    return fn


def td_grad_leaks(rewards, next_q_values, terminated, gamma):
    return rewards + gamma * (1 - terminated) * next_q_values.max(dim=1).values


def td_numpy_without_detach(rewards, next_q_values, terminated, gamma):
    q = next_q_values.numpy()
    return rewards.numpy() + gamma * (1 - terminated.numpy()) * q.max(axis=1)


def td_masks_reward(rewards, next_q_values, terminated, gamma):
    with torch.no_grad():
        return (1 - terminated) * (rewards + gamma * next_q_values.max(dim=1).values)


def td_keepdim(rewards, next_q_values, terminated, gamma):
    with torch.no_grad():
        best = next_q_values.max(dim=1, keepdim=True).values
        return rewards + gamma * (1 - terminated) * best


@pytest.mark.parametrize(
    ("wrong", "diagnosis"),
    [
        (_td(lambda q: q.max(dim=1).values, mask=lambda t: 1), "bootstrap from terminal"),
        (_td(lambda q: q.max(dim=1).values, mask=lambda t: t), "mask is inverted"),
        (td_masks_reward, "mask the reward too"),
        (_td(lambda q: q.mean(dim=1)), "average the next Q-values"),
        (_td(lambda q: q.min(dim=1).values), "not min"),
        (_td(lambda q: q.max(dim=1)[1]), "index of the best action"),
        (_td(lambda q: q.argmax(dim=1)), "index of the best action"),
        (_td(lambda q: q.max(dim=1).values, gamma=False), "not discounted by γ"),
        (_td(lambda q: q.max(dim=1).values, reward=False), "reward r is missing"),
        (_td(lambda q: q.max(dim=0).values), "wrong dimension"),
        (td_keepdim, "drop keepdim"),
        (_td(lambda q: q.max()), "whole batch"),
        (lambda r, q, t, g: td_torch_no_grad(r, q, t, g).mean(), "single number"),
        (td_grad_leaks, "torch.no_grad()"),
        (td_numpy_without_detach, "torch.no_grad()"),
        (_td(lambda q: q.max(dim=1).values * 1.01), "wrong answer for"),
        (lambda r, q, t, g: r / "x", "raised TypeError"),
    ],
)
def test_td_target_checker_names_typical_mistakes(wrong, diagnosis):
    result = check_td_target(wrong)
    assert not result.passed
    assert diagnosis in result.message, result.message


def test_td_target_checker_reports_an_unimplemented_stub_kindly():
    def stub(rewards, next_q_values, terminated, gamma):
        raise NotImplementedError

    result = check_td_target(stub)
    assert not result.passed
    assert "not implemented yet" in result.message


def test_td_target_checker_is_not_fooled_by_in_place_edits():
    def zeroes_terminal_rows_in_place(rewards, next_q_values, terminated, gamma):
        with torch.no_grad():
            next_q_values[terminated.bool()] = 0.0
            return rewards + gamma * next_q_values.max(dim=1).values

    assert check_td_target(zeroes_terminal_rows_in_place).passed


# -- sampling a replay batch -------------------------------------------------------------------


def _batch(buffer, index, to_tensor=torch.from_numpy):
    return TransitionBatch(
        observations=to_tensor(buffer.observations[index]),
        actions=to_tensor(buffer.actions[index]),
        rewards=to_tensor(buffer.rewards[index]),
        next_observations=to_tensor(buffer.next_observations[index]),
        terminated=to_tensor(buffer.terminated[index]),
    )


def sample_integers(buffer, batch_size, rng):
    return _batch(buffer, rng.integers(0, len(buffer), size=batch_size))


def sample_choice_as_tensor(buffer, batch_size, rng):
    return _batch(buffer, rng.choice(buffer.size, size=batch_size), torch.as_tensor)


def sample_without_replacement(buffer, batch_size, rng):
    return _batch(buffer, rng.choice(buffer.size, size=batch_size, replace=False))


def sample_by_delegating(buffer, batch_size, rng):
    return buffer.sample(batch_size, rng)


@pytest.mark.parametrize("solution", [sample_integers, sample_choice_as_tensor,
                                      sample_without_replacement, sample_by_delegating])
def test_replay_checker_accepts_correct_solutions(solution):
    result = check_replay_sample(solution)
    assert result.passed, result.message
    assert "✅" in repr(result)


def from_capacity(buffer, batch_size, rng):
    return _batch(buffer, rng.integers(0, buffer.capacity, size=batch_size))


def indices_per_field(buffer, batch_size, rng):
    def draw():
        return rng.integers(0, len(buffer), size=batch_size)

    return TransitionBatch(*(torch.from_numpy(a[draw()]) for a in (
        buffer.observations, buffer.actions, buffer.rewards, buffer.next_observations,
        buffer.terminated)))


def most_recent(buffer, batch_size, rng):
    return _batch(buffer, np.arange(len(buffer) - batch_size, len(buffer)))


def global_numpy(buffer, batch_size, rng):
    return _batch(buffer, np.random.randint(0, len(buffer), size=batch_size))  # noqa: NPY002


def unseeded_torch(buffer, batch_size, rng):
    return _batch(buffer, torch.randint(0, len(buffer), (batch_size,)).numpy())


def own_seeded_rng(buffer, batch_size, rng):
    return _batch(buffer, np.random.default_rng(0).integers(0, len(buffer), size=batch_size))


def off_by_one(buffer, batch_size, rng):
    return _batch(buffer, rng.integers(0, len(buffer) - 1, size=batch_size))


def up_to_the_write_position(buffer, batch_size, rng):
    return _batch(buffer, rng.integers(0, buffer._next, size=batch_size))


def biased_to_old(buffer, batch_size, rng):
    a, b = rng.integers(0, len(buffer), size=(2, batch_size))
    return _batch(buffer, np.minimum(a, b))


def numpy_fields(buffer, batch_size, rng):
    return _batch(buffer, rng.integers(0, len(buffer), size=batch_size), np.asarray)


def float_actions(buffer, batch_size, rng):
    batch = sample_integers(buffer, batch_size, rng)
    return TransitionBatch(batch.observations, batch.actions.float(), batch.rewards,
                           batch.next_observations, batch.terminated)


def ignores_batch_size(buffer, batch_size, rng):
    return _batch(buffer, rng.integers(0, len(buffer), size=8))


def returns_a_tuple(buffer, batch_size, rng):
    batch = sample_integers(buffer, batch_size, rng)
    return (batch.observations, batch.actions, batch.rewards, batch.next_observations,
            batch.terminated)


@pytest.mark.parametrize(
    ("wrong", "diagnosis"),
    [
        (from_capacity, "not range(capacity)"),
        (indices_per_field, "come from different transitions"),
        (most_recent, "most recent batch_size transitions"),
        (global_numpy, "use the rng argument"),
        (unseeded_torch, "use the rng argument"),
        (own_seeded_rng, "the same at every call"),
        (off_by_one, "never drawn"),
        (up_to_the_write_position, "After wrap-around"),
        (biased_to_old, "not uniform"),
        (numpy_fields, "must be a torch.Tensor"),
        (float_actions, "torch.int64"),
        (ignores_batch_size, "should have shape (16, 3)"),
        (returns_a_tuple, "return a TransitionBatch"),
        (lambda buffer, batch_size, rng: buffer.rows, "raised AttributeError"),
    ],
)
def test_replay_checker_names_typical_mistakes(wrong, diagnosis):
    result = check_replay_sample(wrong)
    assert not result.passed
    assert diagnosis in result.message, result.message


def test_replay_checker_reports_an_unimplemented_stub_kindly():
    def stub(buffer, batch_size, rng):
        raise NotImplementedError

    result = check_replay_sample(stub)
    assert not result.passed
    assert "not implemented yet" in result.message
