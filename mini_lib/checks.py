"""Argument validation with messages a learner can act on.

Every check raises ``ValueError`` that names the parameter, the value it got and the
valid range, e.g. ``gamma must be in [0, 1], got 1.5``. Training loops call
:func:`check_finite` so that a diverging run stops with the likely cause instead of
drawing a silent NaN plot.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from numbers import Integral, Real

import numpy as np

__all__ = [
    "DivergenceError",
    "check_finite",
    "check_in_range",
    "check_int",
    "check_positive",
    "check_probability",
    "check_shape",
    "check_widths",
]

#: A message, or a function that builds it only when it is needed (a training loop checks
#: every step, and fails at most once).
Text = str | Callable[[], str]


class DivergenceError(RuntimeError):
    """A run produced NaN or inf; the message names the likely cause."""


def _interval(low: float, high: float, low_open: bool, high_open: bool) -> str:
    left = "(" if low_open else "["
    right = ")" if high_open else "]"
    return f"{left}{_fmt(low)}, {_fmt(high)}{right}"


def _fmt(x: float) -> str:
    if x == math.inf:
        return "inf"
    if x == -math.inf:
        return "-inf"
    return f"{x:g}"


def _as_real(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, Real):
        raise ValueError(f"{name} must be a real number, got {value!r} ({type(value).__name__})")
    value = float(value)
    if math.isnan(value):
        raise ValueError(f"{name} must be a number, got nan")
    return value


def check_in_range(
    name: str,
    value: float,
    low: float = -math.inf,
    high: float = math.inf,
    *,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """Return ``value`` as float if it lies in the interval, else raise ``ValueError``.

    ``low_open``/``high_open`` exclude the end points, so ``check_in_range("alpha", a, 0, 1,
    low_open=True)`` accepts (0, 1].
    """
    x = _as_real(name, value)
    too_low = x <= low if low_open else x < low
    too_high = x >= high if high_open else x > high
    if too_low or too_high:
        raise ValueError(
            f"{name} must be in {_interval(low, high, low_open, high_open)}, got {value!r}"
        )
    return x


def check_probability(name: str, value: float) -> float:
    """A probability (or γ, ε): a number in [0, 1]."""
    return check_in_range(name, value, 0.0, 1.0)


def check_positive(name: str, value: float) -> float:
    """A strictly positive number, e.g. a learning rate."""
    return check_in_range(name, value, 0.0, math.inf, low_open=True)


def check_int(name: str, value: int, low: int | None = None, high: int | None = None) -> int:
    """An integer in ``[low, high]`` (either bound may be omitted)."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise ValueError(f"{name} must be an integer, got {value!r} ({type(value).__name__})")
    value = int(value)
    lo = -math.inf if low is None else low
    hi = math.inf if high is None else high
    if not lo <= value <= hi:
        raise ValueError(f"{name} must be an integer in {_interval(lo, hi, False, False)}, "
                         f"got {value}")
    return value


def check_shape(name: str, array: np.ndarray, shape: Sequence[int | None]) -> np.ndarray:
    """Check ``array.shape`` against ``shape`` (``None`` matches any length)."""
    array = np.asarray(array)
    ok = array.ndim == len(shape) and all(
        want is None or got == want for got, want in zip(array.shape, shape, strict=False)
    )
    if not ok:
        pretty = "(" + ", ".join("any" if s is None else str(s) for s in shape) + ")"
        raise ValueError(f"{name} must have shape {pretty}, got {array.shape}")
    return array


def check_widths(name: str, widths: Sequence[int]) -> tuple[int, ...]:
    """Hidden-layer widths: a non-empty tuple of integers >= 1."""
    if (not isinstance(widths, Sequence) or not widths
            or any(isinstance(w, bool) or not isinstance(w, Integral) or w < 1 for w in widths)):
        raise ValueError(f"{name} must be a non-empty tuple of widths >= 1, got {widths!r}")
    return tuple(int(w) for w in widths)


def _text(text: Text) -> str:
    return text() if callable(text) else text


def check_finite(what: Text, value: float | np.ndarray, likely_causes: Text | Sequence[str],
                 *, limit: float = math.inf) -> None:
    """Stop a run whose ``value`` became NaN or inf (or beyond ``±limit``), naming the cause.

    Raises :class:`DivergenceError` with the message ``"{what}. Likely cause: {causes}."``,
    the causes joined by ``"; or "``. ``what`` says what diverged and where (e.g. ``"DQN
    diverged at step 66: the loss became nan"``). Pass functions instead of strings to build
    the message only when the check fails.
    """
    if isinstance(value, float | int):  # the common case, once per training step: keep it cheap
        if math.isfinite(value) and abs(value) <= limit:
            return
    else:
        values = np.asarray(value, dtype=float)
        if np.all(np.isfinite(values)) and np.all(np.abs(values) <= limit):
            return
    causes = likely_causes() if callable(likely_causes) else likely_causes
    causes = [causes] if isinstance(causes, str) else list(causes)
    raise DivergenceError(f"{_text(what)}. Likely cause: " + "; or ".join(causes) + ".")
