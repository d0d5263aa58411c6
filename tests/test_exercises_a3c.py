"""A3C chapter exercise checkers: correct answers pass, typical mistakes are named."""

import pytest
import torch

from mini_lib.exercises.ch04_a3c import check_n_step_returns, check_worker_update
from mini_lib.policy_gradient.advantages import n_step_returns

# -- n-step returns ----------------------------------------------------------------------------


def nstep_loop(rewards, next_values, terminated, truncated, gamma, n):
    """The worked solution: walk each window forwards, stop at an episode or rollout end."""
    T = len(rewards)
    returns = torch.zeros(T)
    for t in range(T):
        G, discount = 0.0, 1.0
        for k in range(n):
            i = t + k
            G += discount * rewards[i]
            discount *= gamma
            if terminated[i]:
                break  # no next state: nothing to bootstrap from
            if truncated[i] or k == n - 1 or i == T - 1:
                G += discount * next_values[i]  # V(s_{t+m}), m = k + 1
                break
        returns[t] = G
    return returns


def nstep_float_mask(rewards, next_values, terminated, truncated, gamma, n):
    """Sum the rewards first, then add γ^m (1 − terminated) V(s_{t+m}); a list of floats."""
    T, done = len(rewards), (terminated | truncated).tolist()
    out = []
    for t in range(T):
        m = 1
        while m < n and t + m < T and not done[t + m - 1]:
            m += 1
        last = t + m - 1
        G = sum(gamma ** k * float(rewards[t + k]) for k in range(m))
        out.append(G + gamma ** m * (1 - terminated[last].float()) * float(next_values[last]))
    return out


def nstep_backward(rewards, next_values, terminated, truncated, gamma, n):
    """From each window's end backwards: G = r + γ G', starting from the bootstrap value."""
    T = len(rewards)
    ends = terminated | truncated
    out = rewards.clone()
    for t in range(T):
        last = t
        while last - t < n - 1 and last < T - 1 and not ends[last]:
            last += 1
        G = 0.0 if terminated[last] else next_values[last].item()
        for i in range(last, t - 1, -1):
            G = rewards[i].item() + gamma * G
        out[t] = G
    return out.numpy()


@pytest.mark.parametrize("solution", [nstep_loop, nstep_float_mask, nstep_backward,
                                      n_step_returns])
def test_n_step_checker_accepts_correct_solutions(solution):
    result = check_n_step_returns(solution)
    assert result.passed, result.message
    assert "✅" in repr(result)


def nstep_naive(mask="terminated", stop="ended", power=0, value_at="end", wrap=False,
                pad=False):
    """A window loop with optional slips, written the way a learner would slip."""
    def fn(rewards, next_values, terminated, truncated, gamma, n):
        T = len(rewards)
        stops = {"ended": terminated | truncated, "terminated": terminated,
                 "none": torch.zeros(T, dtype=torch.bool)}[stop]
        masks = {"terminated": terminated, "ended": terminated | truncated,
                 "none": torch.zeros(T, dtype=torch.bool)}[mask]
        out = []
        for t in range(T):
            G, m, last, cut = 0.0, 0, t, False
            while m < n:
                i = (t + m) % T if wrap else t + m
                if i >= T:
                    cut = True
                    break
                G += gamma ** m * rewards[i].item()
                m, last = m + 1, i
                if stops[i]:
                    break
            value = next_values[{"end": last, "t": t, "t-1": t - 1}[value_at]].item()
            if not masks[last] and not (pad and cut):
                G += gamma ** (m + power) * value
            out.append(G)
        return torch.tensor(out)
    return fn


def nstep_through_episodes(rewards, next_values, terminated, truncated, gamma, n):
    """The classic slip: m = min(n, T − t), ignoring where episodes end."""
    T = len(rewards)
    out = torch.zeros(T)
    for t in range(T):
        m = min(n, T - t)
        G = sum(gamma ** k * rewards[t + k] for k in range(m))
        out[t] = G + gamma ** m * (~terminated[t + m - 1]) * next_values[t + m - 1]
    return out


def nstep_no_rollout_end(rewards, next_values, terminated, truncated, gamma, n):
    """Forgets the rollout end: reads rewards[T] (IndexError)."""
    out = []
    for t in range(len(rewards)):
        G, k = 0.0, 0
        while True:
            G += gamma ** k * rewards[t + k]
            k += 1
            if terminated[t + k - 1] or truncated[t + k - 1] or k == n:
                break
        out.append(G + gamma ** k * (~terminated[t + k - 1]) * next_values[t + k - 1])
    return out


def nstep_rolled(rewards, next_values, terminated, truncated, gamma, n):
    """Vectorised with torch.roll: the windows near the end wrap around to the start."""
    G = torch.zeros_like(rewards)
    open_ = torch.ones_like(terminated)
    ended = terminated | truncated
    for k in range(n):
        r, v = torch.roll(rewards, -k), torch.roll(next_values, -k)
        term, end = torch.roll(terminated, -k), torch.roll(ended, -k)
        G = G + open_ * gamma ** k * r
        closes = open_ & (end | (k == n - 1))
        G = G + closes * gamma ** (k + 1) * (~term) * v
        open_ = open_ & ~closes
    return G


def nstep_bool_minus(rewards, next_values, terminated, truncated, gamma, n):
    return rewards + gamma * (1 - terminated) * next_values


@pytest.mark.parametrize(
    ("wrong", "diagnosis"),
    [
        (nstep_naive(mask="none"), "bootstrap through a terminal state"),
        (nstep_naive(mask="ended"), "treat a truncated step as terminal"),
        (nstep_through_episodes, "sums the next episode's rewards"),
        (nstep_naive(stop="none", mask="none"), "sums the next episode's rewards"),
        (nstep_naive(stop="terminated"), "runs across a truncation"),
        (nstep_naive(power=-1), "discount is off by one"),
        (nstep_naive(power=1), "discount is off by one"),
        (nstep_naive(value_at="t"), "where the window *starts*"),
        (nstep_naive(value_at="t-1"), "where the window *starts*"),
        (nstep_no_rollout_end, "must stop at the end of the rollout"),
        (nstep_naive(wrap=True), "wraps around"),
        (nstep_rolled, "wraps around"),
        (nstep_naive(wrap=True, stop="none"), "wraps around"),
        (nstep_naive(pad=True), "window is cut short but the episode goes on"),
        (nstep_bool_minus, "are bool tensors"),
        (lambda *args: nstep_loop(*args) * 1.01, "wrong answer for"),
        (lambda *args: nstep_loop(*args)[:-1], "one G_t per step"),
        (lambda *args: nstep_loop(*args).sum(), "should have shape"),
    ],
)
def test_n_step_checker_names_typical_mistakes(wrong, diagnosis):
    result = check_n_step_returns(wrong)
    assert not result.passed
    assert diagnosis in result.message, result.message


def test_n_step_checker_reports_an_unimplemented_stub_kindly():
    def stub(rewards, next_values, terminated, truncated, gamma, n):
        raise NotImplementedError

    result = check_n_step_returns(stub)
    assert not result.passed
    assert "not implemented yet" in result.message


# -- a Hogwild worker's update -----------------------------------------------------------------


def worker_update(local, shared, optimizer, loss_fn):
    """The worked solution: pull, clear, backward locally, link the gradients, step shared."""
    local.load_state_dict(shared.state_dict())
    local.zero_grad()
    loss = loss_fn(local)
    loss.backward()
    for param, shared_param in zip(local.parameters(), shared.parameters(), strict=True):
        shared_param.grad = param.grad
    optimizer.step()
    return loss.item()


def worker_copy_grads(local, shared, optimizer, loss_fn):
    """Copy parameters and gradients instead of loading the state dict and linking."""
    with torch.no_grad():
        for param, shared_param in zip(local.parameters(), shared.parameters(), strict=True):
            param.copy_(shared_param)
    for param in local.parameters():
        param.grad = None
    optimizer.zero_grad()
    loss_fn(local).backward()
    for param, shared_param in zip(local.parameters(), shared.parameters(), strict=True):
        shared_param.grad = param.grad.clone()
    optimizer.step()


def ensure_shared_grads(model, shared_model):
    """ikostrikov/pytorch-a3c's link: once linked, it returns early."""
    for param, shared_param in zip(model.parameters(), shared_model.parameters(), strict=True):
        if shared_param.grad is not None:
            return
        shared_param._grad = param.grad


def worker_ikostrikov_old_torch(local, shared, optimizer, loss_fn):
    """The early-return link is fine while zero_grad zeroes in place (torch < 2.0's default):
    the shared .grad *is* the local .grad, so it holds each call's fresh gradient."""
    local.load_state_dict(shared.state_dict())
    optimizer.zero_grad(set_to_none=False)
    loss_fn(local).backward()
    ensure_shared_grads(local, shared)
    optimizer.step()


@pytest.mark.parametrize("solution", [worker_update, worker_copy_grads,
                                      worker_ikostrikov_old_torch])
def test_worker_checker_accepts_correct_solutions(solution):
    result = check_worker_update(solution)
    assert result.passed, result.message
    assert "✅" in repr(result)


def worker_ikostrikov_torch2(local, shared, optimizer, loss_fn):
    """The same code under torch ≥ 2.0: zero_grad sets the shared grads to None, the local
    grads are never cleared, so they accumulate."""
    local.load_state_dict(shared.state_dict())
    optimizer.zero_grad()
    loss_fn(local).backward()
    ensure_shared_grads(local, shared)
    optimizer.step()


def worker_copy_without_zeroing(local, shared, optimizer, loss_fn):
    local.load_state_dict(shared.state_dict())
    loss_fn(local).backward()
    for param, shared_param in zip(local.parameters(), shared.parameters(), strict=True):
        shared_param.grad = param.grad.clone()
    optimizer.step()


def worker_early_return_link(local, shared, optimizer, loss_fn):
    """local.zero_grad() replaces the local grads with new tensors; the link stays on the
    first call's: every step reuses the first gradient."""
    local.load_state_dict(shared.state_dict())
    local.zero_grad()
    loss_fn(local).backward()
    ensure_shared_grads(local, shared)
    optimizer.step()


def make_worker_linking_on_first_call_only():
    linked = []

    def fn(local, shared, optimizer, loss_fn):
        local.load_state_dict(shared.state_dict())
        optimizer.zero_grad()
        local.zero_grad()
        loss_fn(local).backward()
        if not linked:
            for param, shared_param in zip(local.parameters(), shared.parameters(),
                                           strict=True):
                shared_param.grad = param.grad
            linked.append(True)
        optimizer.step()
    return fn


def make_worker(pull="start", step_local=False, grads_to_local=False, on_shared=False):
    """The worked solution with one slip: when to pull, what to step, which way to link."""
    pulled = []

    def fn(local, shared, optimizer, loss_fn):
        if pull == "start" or (pull == "once" and not pulled):
            local.load_state_dict(shared.state_dict())
            pulled.append(True)
        local.zero_grad()
        loss = loss_fn(shared if on_shared else local)
        if pull == "after loss":
            local.load_state_dict(shared.state_dict())
        loss.backward()
        if pull == "after backward":
            local.load_state_dict(shared.state_dict())
        if step_local:
            with torch.no_grad():
                for param in local.parameters():
                    param -= optimizer.param_groups[0]["lr"] * param.grad
            return
        for param, shared_param in zip(local.parameters(), shared.parameters(), strict=True):
            if grads_to_local:
                param.grad = shared_param.grad
            else:
                shared_param.grad = param.grad
        optimizer.step()
        if pull == "end":
            local.load_state_dict(shared.state_dict())
    return fn


def worker_local_optimizer(local, shared, optimizer, loss_fn):
    local.load_state_dict(shared.state_dict())
    local_optimizer = torch.optim.SGD(local.parameters(), lr=optimizer.param_groups[0]["lr"])
    local_optimizer.zero_grad()
    loss_fn(local).backward()
    local_optimizer.step()


@pytest.mark.parametrize(
    ("wrong", "diagnosis"),
    [
        (worker_ikostrikov_torch2, "local gradients accumulate"),
        (worker_copy_without_zeroing, "local gradients accumulate"),
        (worker_early_return_link, "link the gradients to the shared parameters only once"),
        (make_worker_linking_on_first_call_only(),
         "link the gradients to the shared parameters only once"),
        (make_worker(pull="never"), "you don't pull fresh weights"),
        (make_worker(pull="once"), "you don't pull fresh weights"),
        (make_worker(pull="after backward"), "pull the shared weights too late"),
        (make_worker(pull="after loss"), "pull the shared weights too late"),
        (make_worker(pull="end"), "pull the shared weights too late"),
        (worker_local_optimizer, "you update the local model"),
        (make_worker(step_local=True), "you update the local model"),
        (make_worker(grads_to_local=True), "they have no .grad when optimizer.step() runs"),
        (make_worker(on_shared=True), "you compute the loss on the shared model"),
        (lambda local, shared, optimizer, loss_fn: None, "loss_fn was never called"),
        (lambda local, shared, optimizer, loss_fn: loss_fn(local) / "x", "raised TypeError"),
    ],
)
def test_worker_checker_names_typical_mistakes(wrong, diagnosis):
    result = check_worker_update(wrong)
    assert not result.passed
    assert diagnosis in result.message, result.message


def test_worker_checker_reports_a_wrong_step_size_with_the_call_it_went_wrong_in():
    def half_step(local, shared, optimizer, loss_fn):
        optimizer.param_groups[0]["lr"] = 0.05
        worker_update(local, shared, optimizer, loss_fn)

    result = check_worker_update(half_step)
    assert not result.passed
    assert "after call 1 of 4" in result.message, result.message


def test_worker_checker_reports_an_unimplemented_stub_kindly():
    def stub(local, shared, optimizer, loss_fn):
        raise NotImplementedError

    result = check_worker_update(stub)
    assert not result.passed
    assert "not implemented yet" in result.message
