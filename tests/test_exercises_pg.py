"""Policy-gradient chapter exercise checkers: correct answers pass, typical mistakes are named."""

import numpy as np
import pytest
import torch

from mini_lib.exercises.ch03_policy_gradient import check_reward_to_go, check_surrogate_loss
from mini_lib.returns import reward_to_go

# -- the reward-to-go --------------------------------------------------------------------------


def rtg_backward_loop(rewards, gamma):
    returns = torch.zeros_like(rewards)
    running = 0.0
    for t in reversed(range(len(rewards))):
        running = rewards[t] + gamma * running
        returns[t] = running
    return returns


def rtg_list_insert(rewards, gamma):
    returns, running = [], 0.0
    for r in reversed(rewards.tolist()):
        running = r + gamma * running
        returns.insert(0, running)
    return returns


def rtg_numpy_matrix(rewards, gamma):
    r = rewards.numpy()
    t = np.arange(r.size)
    lag = t[None, :] - t[:, None]
    return np.where(lag >= 0, gamma ** np.maximum(lag, 0), 0.0) @ r


def rtg_in_place(rewards, gamma):
    for t in range(len(rewards) - 2, -1, -1):
        rewards[t] += gamma * rewards[t + 1]
    return rewards


def rtg_list_of_tensors(rewards, gamma):
    out, running = [], torch.tensor(0.0)
    for r in rewards.flip(0):
        running = r + gamma * running
        out.append(running)
    return out[::-1]


@pytest.mark.parametrize("solution", [rtg_backward_loop, rtg_list_insert, rtg_numpy_matrix,
                                      rtg_in_place, rtg_list_of_tensors, reward_to_go])
def test_reward_to_go_checker_accepts_correct_solutions(solution):
    result = check_reward_to_go(solution)
    assert result.passed, result.message
    assert "✅" in repr(result)


def _loop(store_before=False, start=None, stop=-1, step=lambda r, g, running: r + g * running,
          size=lambda T: T):
    """A backward loop ``for t in range(start, stop, -1)`` with optional typical slips."""
    def fn(rewards, gamma):
        T = len(rewards)
        returns = torch.zeros(size(T))
        running = 0.0
        for t in range(T - 1 if start is None else start(T), stop, -1):
            if store_before:
                returns[t] = running
            running = step(rewards[t], gamma, running)
            if not store_before:
                returns[t] = running
        return returns
    return fn


def rtg_full_return(rewards, gamma):
    g0 = sum(gamma ** t * r for t, r in enumerate(rewards.tolist()))
    return torch.full_like(rewards, g0)


def rtg_full_undiscounted(rewards, gamma):
    return rewards.sum() * torch.ones_like(rewards)


def rtg_not_reversed(rewards, gamma):
    returns, running = [], 0.0
    for r in reversed(rewards.tolist()):
        running = r + gamma * running
        returns.append(running)
    return returns


def rtg_forward(rewards, gamma):
    returns, running = torch.zeros_like(rewards), 0.0
    for t in range(len(rewards)):
        running = rewards[t] + gamma * running
        returns[t] = running
    return returns


def rtg_forward_from_start(rewards, gamma):
    return torch.cumsum(rewards * gamma ** torch.arange(len(rewards)), 0)


def rtg_discounted_from_start(rewards, gamma):
    T = len(rewards)
    return [sum(gamma ** k * rewards[k] for k in range(t, T)) for t in range(T)]


def rtg_excludes_reward_with_gamma(rewards, gamma):
    return rtg_backward_loop(rewards, gamma) - rewards


def rtg_scalar(rewards, gamma):
    return sum(gamma ** t * r for t, r in enumerate(rewards.tolist()))


@pytest.mark.parametrize(
    ("wrong", "diagnosis"),
    [
        (rtg_scalar, "single number"),
        (lambda r, g: rtg_backward_loop(r, g).sum(), "single number"),
        (_loop(size=lambda T: T + 1), "G after the last step (0) only starts"),
        (rtg_full_return, "full return instead of reward-to-go"),
        (rtg_full_undiscounted, "full return instead of reward-to-go"),
        (rtg_not_reversed, "reverse order"),
        (rtg_forward, "accumulate forwards"),
        (lambda r, g: torch.cumsum(r, 0), "accumulate forwards"),
        (rtg_forward_from_start, "accumulate forwards"),
        (_loop(store_before=True), "must include r_{t+1}"),
        (rtg_excludes_reward_with_gamma, "must include r_{t+1}"),
        (lambda r, g: torch.roll(rtg_backward_loop(r, g), 1), "also counts r_t,"),
        (lambda r, g: rtg_backward_loop(r, g) + torch.cat([r.new_zeros(1), r[:-1]]),
         "also counts r_t,"),
        (_loop(stop=0), "G_0 is never computed"),
        (_loop(start=lambda T: T - 2), "the last reward is missing"),
        (rtg_discounted_from_start, "counted from the start of the episode"),
        (lambda r, g: rtg_backward_loop(r, 1.0), "you ignore γ"),
        (lambda r, g: r.flip(0).cumsum(0).flip(0), "you ignore γ"),
        (_loop(step=lambda r, g, running: g * (r + running)), "one step too early"),
        (lambda r, g: rtg_backward_loop(r, g) * 1.01, "wrong answer for"),
        (lambda r, g: rtg_backward_loop(r, g)[:, None], "should have shape"),
        (lambda r, g: r / "x", "raised TypeError"),
    ],
)
def test_reward_to_go_checker_names_typical_mistakes(wrong, diagnosis):
    result = check_reward_to_go(wrong)
    assert not result.passed
    assert diagnosis in result.message, result.message


def test_reward_to_go_checker_reports_an_unimplemented_stub_kindly():
    def stub(rewards, gamma):
        raise NotImplementedError

    result = check_reward_to_go(stub)
    assert not result.passed
    assert "not implemented yet" in result.message


# -- the surrogate loss ------------------------------------------------------------------------


def loss_detach_mean(log_probs, advantages):
    return -(log_probs * advantages.detach()).mean()


def loss_dot_no_grad(log_probs, advantages):
    with torch.no_grad():
        weights = advantages / len(advantages)
    return -torch.dot(log_probs, weights)


def loss_sum_over_size(log_probs, advantages):
    return torch.sum(-log_probs * advantages.data) / log_probs.shape[0]


@pytest.mark.parametrize("solution", [loss_detach_mean, loss_dot_no_grad, loss_sum_over_size])
def test_surrogate_loss_checker_accepts_correct_solutions(solution):
    result = check_surrogate_loss(solution)
    assert result.passed, result.message
    assert "✅" in repr(result)


def loss_normalized(log_probs, advantages):
    a = advantages.detach()
    return -(log_probs * (a - a.mean()) / (a.std() + 1e-8)).mean()


def loss_under_no_grad(log_probs, advantages):
    with torch.no_grad():
        return -(log_probs * advantages).mean()


@pytest.mark.parametrize(
    ("wrong", "diagnosis"),
    [
        (lambda lp, a: (lp * a.detach()).mean(), "you would minimise the return"),
        (lambda lp, a: -(lp * a).mean(), ".detach() them"),
        (lambda lp, a: -(lp * a.detach()).sum(), "grow with the batch size"),
        (lambda lp, a: (lp * a.detach()).sum(), "grow with the batch size"),
        (lambda lp, a: -(lp * a.detach()), "forgot the mean"),
        (lambda lp, a: -(lp * a.detach()).mean().item(), "not a float"),
        (lambda lp, a: -(lp * a.detach()).mean().detach().numpy(),
         "return the loss as a torch tensor"),
        (lambda lp, a: -(lp * a.detach()).mean(dim=0, keepdim=True), "shape ()"),
        (loss_normalized, "you normalise the advantages"),
        (lambda lp, a: -(lp.detach() * a.detach()).mean(), "no gradient reaches the policy"),
        (lambda lp, a: -(lp.detach() * a).mean(), "no gradient reaches the policy"),
        (loss_under_no_grad, "no gradient reaches the policy"),
        (lambda lp, a: -(lp.exp() * a.detach()).mean(), "wrong answer for"),
        (lambda lp, a: -(lp * a.detach()).mean() + (lp - lp.detach()).sum(),
         "gradient w.r.t. log_probs"),
        (lambda lp, a: lp / "x", "raised TypeError"),
    ],
)
def test_surrogate_loss_checker_names_typical_mistakes(wrong, diagnosis):
    result = check_surrogate_loss(wrong)
    assert not result.passed
    assert diagnosis in result.message, result.message


def test_surrogate_loss_checker_reports_an_unimplemented_stub_kindly():
    def stub(log_probs, advantages):
        raise NotImplementedError

    result = check_surrogate_loss(stub)
    assert not result.passed
    assert "not implemented yet" in result.message
