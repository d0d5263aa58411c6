"""Chapter 06's checkers accept right answers and name each typical bug."""

import pytest
import torch

from mini_lib.exercises.ch06_maml_rl import check_baselined_reward_to_go, check_inner_pg_step
from mini_lib.tasks.navigation import log_prob

# -- exercise 1: the inner policy-gradient step --------------------------------------------------


def surrogate(model, params, batch):
    observations, actions, advantages, mask = batch
    logp = log_prob(model, params, observations, actions)
    return -(mask * logp * advantages).sum() / mask.sum()


def func_step(model, params, batch, alpha):
    grads = torch.func.grad(lambda p: surrogate(model, p, batch))(params)
    return {name: p - alpha * grads[name] for name, p in params.items()}


def autograd_step(model, params, batch, alpha):
    grads = torch.autograd.grad(surrogate(model, params, batch), list(params.values()),
                                create_graph=True)
    return {name: p - alpha * g for (name, p), g in zip(params.items(), grads, strict=True)}


def detached_step(model, params, batch, alpha):
    return {name: p.detach() for name, p in func_step(model, params, batch, alpha).items()}


def no_grad_step(model, params, batch, alpha):
    grads = torch.autograd.grad(surrogate(model, params, batch), list(params.values()))
    with torch.no_grad():
        return {name: p - alpha * g for (name, p), g in zip(params.items(), grads, strict=True)}


def first_order_step(model, params, batch, alpha):
    grads = torch.autograd.grad(surrogate(model, params, batch), list(params.values()))
    return {name: p - alpha * g for (name, p), g in zip(params.items(), grads, strict=True)}


def ascent_step(model, params, batch, alpha):
    return func_step(model, params, batch, -alpha)


def unmasked_mean_step(model, params, batch, alpha):
    observations, actions, advantages, mask = batch

    def loss(p):
        return -(mask * log_prob(model, p, observations, actions) * advantages).mean()

    grads = torch.func.grad(loss)(params)
    return {name: p - alpha * grads[name] for name, p in params.items()}


def stub(model, params, batch, alpha):
    raise NotImplementedError


@pytest.mark.parametrize("solution", [func_step, autograd_step])
def test_the_inner_step_checker_accepts_both_ways_of_writing_it(solution):
    result = check_inner_pg_step(solution)
    assert result.passed, result.message


@pytest.mark.parametrize(("bug", "phrase"), [
    (detached_step, "cut off from θ"),
    (no_grad_step, "cut off from θ"),
    (first_order_step, "first-order MAML's"),
    (ascent_step, "*up* the surrogate"),
    (unmasked_mean_step, "padded ones included"),
    (stub, "not implemented yet"),
])
def test_the_inner_step_checker_names_the_typical_bug(bug, phrase):
    result = check_inner_pg_step(bug)
    assert not result.passed and phrase in result.message, result.message


# -- exercise 2: reward-to-go minus a time-indexed baseline ---------------------------------------


def to_go(rewards, mask, gamma):
    out, running = torch.zeros_like(rewards), torch.zeros_like(rewards[:, 0])
    for t in reversed(range(rewards.shape[1])):
        running = (rewards[:, t] + gamma * running) * mask[:, t]
        out[:, t] = running
    return out


def solution_advantages(rewards, mask, gamma):
    g = to_go(rewards, mask, gamma)
    baseline = (g * mask).sum(dim=0) / mask.sum(dim=0).clamp(min=1)
    return (g - baseline) * mask


def undiscounted(rewards, mask, gamma):
    return solution_advantages(rewards, mask, 1.0)


def baseline_over_all_k(rewards, mask, gamma):
    g = to_go(rewards, mask, gamma)
    return (g - g.mean(dim=0)) * mask


def no_baseline(rewards, mask, gamma):
    return to_go(rewards, mask, gamma)


def unmasked_output(rewards, mask, gamma):
    g = to_go(rewards, mask, gamma)
    return g - (g * mask).sum(dim=0) / mask.sum(dim=0).clamp(min=1)


def whole_return(rewards, mask, gamma):
    discount = gamma ** torch.arange(rewards.shape[1], dtype=rewards.dtype)
    g = (rewards * discount).sum(dim=1, keepdim=True) * mask
    return (g - (g * mask).sum(dim=0) / mask.sum(dim=0)) * mask


def test_the_advantage_checker_accepts_the_solution():
    result = check_baselined_reward_to_go(solution_advantages)
    assert result.passed, result.message


@pytest.mark.parametrize(("bug", "phrase"), [
    (undiscounted, "ignore γ"),
    (baseline_over_all_k, "ended ones"),
    (no_baseline, "subtract the time-indexed baseline"),
    (unmasked_output, "−baseline instead of 0"),
    (whole_return, "reward *to go*"),
])
def test_the_advantage_checker_names_the_typical_bug(bug, phrase):
    result = check_baselined_reward_to_go(bug)
    assert not result.passed and phrase in result.message, result.message
