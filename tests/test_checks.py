"""Argument checks name the parameter, the value and the valid range."""

import math

import numpy as np
import pytest
import torch

from mini_lib.checks import (
    DivergenceError,
    check_finite,
    check_in_range,
    check_int,
    check_positive,
    check_probability,
    check_shape,
    check_widths,
)


def test_accepts_valid_values_and_returns_them():
    assert check_probability("gamma", 1) == 1.0
    assert check_positive("lr", 1e-4) == 1e-4
    assert check_in_range("alpha", 1.0, 0, 1, low_open=True) == 1.0
    assert check_int("steps", np.int64(3), 0, 10) == 3


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: check_probability("gamma", 1.5), r"gamma must be in \[0, 1\], got 1.5"),
        (lambda: check_positive("lr", 0.0), r"lr must be in \(0, inf\], got 0.0"),
        (lambda: check_in_range("alpha", 0, 0, 1, low_open=True),
         r"alpha must be in \(0, 1\], got 0"),
        (lambda: check_in_range("x", 1, 0, 1, high_open=True), r"x must be in \[0, 1\), got 1"),
        (lambda: check_probability("eps", math.nan), "eps must be a number, got nan"),
        (lambda: check_probability("eps", "0.1"), "eps must be a real number, got '0.1'"),
        (lambda: check_probability("eps", True), "eps must be a real number"),
        (lambda: check_int("steps", 2.5), r"steps must be an integer, got 2.5"),
        (lambda: check_int("steps", -1, 0), r"steps must be an integer in \[0, inf\], got -1"),
        (lambda: check_shape("P", np.zeros((2, 3)), (2, None, 2)),
         r"P must have shape \(2, any, 2\), got \(2, 3\)"),
    ],
)
def test_rejects_bad_values_with_a_clear_message(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_check_finite_names_what_diverged_and_the_likely_causes():
    check_finite("the loss", 1.0, "learning rate too high")
    check_finite("the loss", np.array([1.0, 2.0]), "learning rate too high")
    with pytest.raises(DivergenceError,
                       match=r"^the loss became inf\. Likely cause: learning rate too high\.$"):
        check_finite("the loss became inf", np.array([1.0, np.inf]), "learning rate too high")
    with pytest.raises(DivergenceError, match=r"Likely cause: a; or b\.$"):
        check_finite("nan", float("nan"), ["a", "b"])


def test_check_finite_builds_its_message_only_when_it_fails():
    def never() -> str:
        raise AssertionError("built a message for a finite value")

    check_finite(never, 3.0, never)
    check_finite(never, torch.tensor([1.0, -2.0]), never, limit=2.0)
    with pytest.raises(DivergenceError, match=r"^Q reached 5\. Likely cause: too big\.$"):
        check_finite(lambda: "Q reached 5", 5.0, lambda: ["too big"], limit=2.0)


def test_check_widths_accepts_positive_integer_tuples_only():
    assert check_widths("hidden", (64, 32)) == (64, 32)
    for bad in ((), (0,), (3.5,), (True,), "64"):
        with pytest.raises(ValueError, match="hidden must be a non-empty tuple of widths >= 1"):
            check_widths("hidden", bad)
