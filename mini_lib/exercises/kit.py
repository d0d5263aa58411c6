"""The checking kit: run a learner's function on cases, compare, and name the typical mistake.

Each checker runs the learner's function on a handful of cases, compares with the reference
implementation, and, when the answers match a *known typical mistake*, names that mistake.
A checker returns a :class:`CheckResult`; shown as the last line of a cell it prints its
message.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

__all__ = [
    "CheckResult",
    "as_array",
    "flat_params",
    "report_failure",
    "run_cases",
    "short",
    "single_threaded",
    "tensors_close",
]


@dataclass(frozen=True)
class CheckResult:
    """Outcome of a checker: ``passed`` and a message for the learner."""

    passed: bool
    message: str

    def __bool__(self) -> bool:
        return self.passed

    def __repr__(self) -> str:
        return self.message


def report_failure(what: str, error: Exception) -> CheckResult:
    """What to tell a learner whose function raised ``error`` (a stub says so kindly)."""
    if isinstance(error, NotImplementedError):
        return CheckResult(False, f"⏳ {what}: not implemented yet — fill in the cell above.")
    return CheckResult(False, f"❌ {what} raised {type(error).__name__}: {error}")


def run_cases(
    learner: Callable[..., Any],
    cases: list[tuple[tuple, Any, str]],
    mistakes: list[tuple[Callable[..., Any], str]],
    what: str,
) -> CheckResult:
    """Compare ``learner(*args)`` with the expected answers; diagnose known mistakes."""
    failed: tuple[str, Any, Any] | None = None
    for args, expected, description in cases:
        try:
            got = learner(*args)
        except Exception as error:  # the learner's bug, reported rather than raised
            return report_failure(what, error)
        got_array = np.asarray(got, dtype=float)
        if got_array.shape != np.shape(expected):
            return CheckResult(False, f"❌ {what}: for {description} the answer should have "
                                      f"shape {np.shape(expected)}, got shape {got_array.shape}.")
        if not np.allclose(got_array, expected, atol=1e-8):
            failed = (description, expected, got)
            break
    if failed is None:
        return CheckResult(True, f"✅ {what}: correct on all {len(cases)} test cases.")

    for mistake, hint in mistakes:
        if all(_matches(mistake, learner, args) for args, _, _ in cases):
            return CheckResult(False, f"❌ {what}: {hint}")
    description, expected, got = failed
    return CheckResult(False, f"❌ {what}: wrong answer for {description}: expected "
                              f"{short(expected)}, got {short(got)}.")


def _matches(mistake: Callable[..., Any], learner: Callable[..., Any], args: tuple) -> bool:
    try:
        a = np.asarray(mistake(*args), dtype=float)
        b = np.asarray(learner(*args), dtype=float)
    except Exception:
        return False
    return a.shape == b.shape and np.allclose(a, b, atol=1e-8)


def short(x: Any) -> str:
    """A compact, rounded rendering of a test input or answer."""
    if isinstance(x, tuple):
        text = "(" + ", ".join(short(v) for v in x) + ")"
    elif isinstance(x, float | np.floating):
        text = f"{x:.4g}"
    elif isinstance(x, np.ndarray | list):
        text = np.array2string(np.asarray(x, dtype=float), precision=3, separator=", ",
                               threshold=12)
    else:
        text = repr(x)
    return text if len(text) < 200 else text[:200] + "…"


def as_array(value: Any) -> np.ndarray:
    """A learner's answer (tensor, array, list or number) as a float NumPy array."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    return np.asarray(value, dtype=float)


def flat_params(params: dict[str, torch.Tensor]) -> torch.Tensor:
    """A parameter dict as one detached vector (for comparing parameters or gradients)."""
    return torch.cat([p.detach().reshape(-1) for p in params.values()])


def tensors_close(a: torch.Tensor, b: torch.Tensor, rtol: float = 1e-7) -> bool:
    """Same shape and equal to float64 rounding (the meta-learning checkers' comparison)."""
    return a.shape == b.shape and bool(torch.allclose(a, b, rtol=rtol, atol=1e-10))


@contextmanager
def single_threaded() -> Iterator[None]:
    """Torch on one thread while checking: on a busy machine, waking a thread pool for each
    op on a tiny tensor can cost milliseconds (the checkers make hundreds of calls)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)
