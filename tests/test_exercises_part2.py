"""Chapter 08 part 2's checkers accept right answers and name each typical bug."""

import pytest
import torch

from mini_lib.exercises.ch08_part2 import (
    check_prototype_logits,
    check_shooting_step,
    toy_model,
    toy_reward,
)


def stub(*args):
    raise NotImplementedError


# -- exercise 1: the prototype classifier --------------------------------------------------------


def prototypes(support, labels, n_way):
    one_hot = torch.nn.functional.one_hot(labels, n_way).to(support.dtype)
    return one_hot.T @ support / one_hot.sum(0)[:, None]


def logits(support, labels, query, n_way):
    return -((query[:, None, :] - prototypes(support, labels, n_way)[None]) ** 2).sum(-1)


def logits_by_loop(support, labels, query, n_way):  # another right answer
    out = torch.empty(len(query), n_way, dtype=query.dtype)
    for c in range(n_way):
        centre = support[labels == c].mean(dim=0)
        out[:, c] = -torch.cdist(query, centre[None]).squeeze(1) ** 2
    return out


def summed(support, labels, query, n_way):
    one_hot = torch.nn.functional.one_hot(labels, n_way).to(support.dtype)
    return -((query[:, None] - (one_hot.T @ support)[None]) ** 2).sum(-1)


def first_sample(support, labels, query, n_way):
    first = torch.stack([support[labels == c][0] for c in range(n_way)])
    return -((query[:, None] - first[None]) ** 2).sum(-1)


def nearest_sample(support, labels, query, n_way):
    d = ((query[:, None] - support[None]) ** 2).sum(-1)
    return torch.stack([-d[:, labels == c].min(dim=1).values for c in range(n_way)], dim=1)


def distances(support, labels, query, n_way):
    return -logits(support, labels, query, n_way)


def euclidean(support, labels, query, n_way):
    return -(-logits(support, labels, query, n_way)).sqrt()


def wrong_axis(support, labels, query, n_way):
    return -((query[:, None] - prototypes(support, labels, n_way)[None]) ** 2).sum(1)


def class_major(support, labels, query, n_way):
    centres = support.reshape(n_way, -1, support.shape[-1]).mean(1)
    return -((query[:, None] - centres[None]) ** 2).sum(-1)


@pytest.mark.parametrize("fn", [logits, logits_by_loop])
def test_right_prototype_logits_pass(fn):
    result = check_prototype_logits(fn)
    assert result.passed, result.message


@pytest.mark.parametrize(("fn", "words"), [
    (summed, "sums"),
    (first_sample, "one support sample"),
    (nearest_sample, "nearest"),
    (distances, "minus"),
    (euclidean, "squared"),
    (wrong_axis, "wrong axis"),
    (class_major, "shuffled"),
    (stub, "not implemented"),
])
def test_prototype_bugs_are_named(fn, words):
    result = check_prototype_logits(fn)
    assert not result.passed
    assert words in result.message, result.message


# -- exercise 2: one random-shooting step --------------------------------------------------------


def rollout(model, reward, state, sequences):
    current = state.expand(sequences.shape[0], -1)
    rewards = []
    for t in range(sequences.shape[1]):
        following = model(current, sequences[:, t])
        rewards.append(reward(current, sequences[:, t], following))
        current = following
    return torch.stack(rewards, dim=1)


def shooting_step(model, reward, state, sequences):
    returns = rollout(model, reward, state, sequences).sum(1)
    return sequences[returns.argmax(), 0], returns


def from_start(model, reward, state, sequences):
    start = state.expand(*sequences.shape[:2], -1)
    returns = reward(start, sequences, model(start, sequences)).sum(1)
    return sequences[returns.argmax(), 0], returns


def last_reward(model, reward, state, sequences):
    returns = rollout(model, reward, state, sequences)[:, -1]
    return sequences[returns.argmax(), 0], returns


def worst(model, reward, state, sequences):
    returns = rollout(model, reward, state, sequences).sum(1)
    return sequences[returns.argmin(), 0], returns


def last_action(model, reward, state, sequences):
    returns = rollout(model, reward, state, sequences).sum(1)
    return sequences[returns.argmax(), -1], returns


def mean_action(model, reward, state, sequences):
    returns = rollout(model, reward, state, sequences).sum(1)
    return sequences[returns.argmax()].mean(0), returns


def test_right_shooting_step_passes():
    result = check_shooting_step(shooting_step)
    assert result.passed, result.message


@pytest.mark.parametrize(("fn", "words"), [
    (from_start, "never carried forward"),
    (last_reward, "last step's reward"),
    (worst, "lowest"),
    (last_action, "last* action"),
    (mean_action, "mean action"),
    (stub, "not implemented"),
])
def test_shooting_bugs_are_named(fn, words):
    result = check_shooting_step(fn)
    assert not result.passed
    assert words in result.message, result.message


def test_toy_model_turns_and_halves():
    moved = toy_model(torch.zeros(1, 2), torch.tensor([[1.0, 0.0]]))
    assert torch.allclose(moved, torch.tensor([[0.5 * 3**0.5 / 2, 0.25]]))
    assert torch.allclose(toy_reward(None, None, torch.tensor([[1.0, 0.5]])), torch.zeros(1))
