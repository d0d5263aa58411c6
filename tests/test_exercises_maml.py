"""Chapter 05's checkers accept right answers and name each typical bug."""

import pytest
import torch

from mini_lib.exercises.ch05_maml import check_inner_step, check_reptile_update
from mini_lib.tasks.sinusoid import mse

# -- exercise 1: the functional inner step -------------------------------------------------------

def solution_inner_step(params, x, y, alpha):
    loss = mse(params, x, y)
    grads = torch.autograd.grad(loss, list(params.values()), create_graph=True)
    return {name: p - alpha * g for (name, p), g in zip(params.items(), grads, strict=True)}


def func_inner_step(params, x, y, alpha):
    grads = torch.func.grad(mse)(params, x, y)
    return {name: p - alpha * grads[name] for name, p in params.items()}


def no_create_graph(params, x, y, alpha):
    grads = torch.autograd.grad(mse(params, x, y), list(params.values()))
    return {name: p - alpha * g for (name, p), g in zip(params.items(), grads, strict=True)}


def in_place_leaf(params, x, y, alpha):
    grads = torch.autograd.grad(mse(params, x, y), list(params.values()), create_graph=True)
    for p, g in zip(params.values(), grads, strict=True):
        p -= alpha * g
    return params


def in_place_no_grad(params, x, y, alpha):
    grads = torch.autograd.grad(mse(params, x, y), list(params.values()))
    with torch.no_grad():
        for p, g in zip(params.values(), grads, strict=True):
            p -= alpha * g
    return params


def detached(params, x, y, alpha):
    grads = torch.autograd.grad(mse(params, x, y), list(params.values()))
    return {name: (p - alpha * g).detach()
            for (name, p), g in zip(params.items(), grads, strict=True)}


def wrong_sign(params, x, y, alpha):
    grads = torch.autograd.grad(mse(params, x, y), list(params.values()), create_graph=True)
    return {name: p + alpha * g for (name, p), g in zip(params.items(), grads, strict=True)}


def no_alpha(params, x, y, alpha):
    grads = torch.autograd.grad(mse(params, x, y), list(params.values()), create_graph=True)
    return {name: p - g for (name, p), g in zip(params.items(), grads, strict=True)}


def stub(params, x, y, alpha):
    raise NotImplementedError


@pytest.mark.parametrize("fn", [solution_inner_step, func_inner_step])
def test_inner_step_solutions_pass(fn):
    result = check_inner_step(fn)
    assert result.passed, result.message
    assert "second-order" in result.message


@pytest.mark.parametrize(("fn", "phrase"), [
    (no_create_graph, "create_graph=True"),
    (in_place_leaf, "in place"),
    (in_place_no_grad, "in place"),
    (detached, "cut off from θ"),
    (wrong_sign, "the sign is wrong"),
    (no_alpha, "α is missing"),
    (stub, "not implemented yet"),
])
def test_inner_step_bugs_are_named(fn, phrase):
    result = check_inner_step(fn)
    assert not result.passed
    assert phrase in result.message, result.message


def test_inner_step_wrong_return_type_is_explained():
    result = check_inner_step(lambda params, x, y, alpha: list(params.values()))
    assert not result.passed and "return a dict" in result.message


# -- exercise 2: Reptile's outer update ---------------------------------------------------------

def solution_reptile(theta, adapted, epsilon):
    return {name: p + epsilon * (adapted[name] - p).mean(dim=0) for name, p in theta.items()}


def reptile_in_place(theta, adapted, epsilon):
    for name, p in theta.items():
        p += epsilon * (adapted[name] - p).mean(dim=0)
    return theta


@pytest.mark.parametrize(("fn", "phrase"), [
    (lambda t, a, e: {n: p - e * (a[n] - p).mean(dim=0) for n, p in t.items()},
     "the sign is wrong"),
    (lambda t, a, e: {n: p + e * (a[n] - p).sum(dim=0) for n, p in t.items()},
     "you sum over the tasks"),
    (lambda t, a, e: {n: a[n].mean(dim=0) for n in t}, "ε is missing"),
    (lambda t, a, e: {n: p + e * (a[n][0] - p) for n, p in t.items()}, "only the first task"),
    (lambda t, a, e: {n: p + e * (a[n] - p).mean() for n, p in t.items()},
     "the mean is over every axis"),
    (lambda t, a, e: {n: p + e * (p - a[n]).mean(dim=0) for n, p in t.items()},
     "the sign is wrong"),
    (reptile_in_place, "in place"),
])
def test_reptile_bugs_are_named(fn, phrase):
    result = check_reptile_update(fn)
    assert not result.passed
    assert phrase in result.message, result.message


def test_reptile_solution_passes_and_stub_is_pending():
    result = check_reptile_update(solution_reptile)
    assert result.passed, result.message
    pending = check_reptile_update(lambda t, a, e: (_ for _ in ()).throw(NotImplementedError))
    assert "not implemented yet" in pending.message
