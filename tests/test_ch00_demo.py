"""Chapter 00's contraction measurement: the γᵏ bound holds, and episodes that end beat it."""

import numpy as np
import pytest

from mini_lib.demos.ch00_mapping import contraction


@pytest.mark.parametrize("gamma", [0.5, 0.8, 0.9, 0.95])
def test_value_iteration_error_respects_the_bound_and_falls_at_gamma_times_survival(gamma):
    trace = contraction(gamma)
    assert trace.errors[0] > 0.5 and trace.errors[-1] < 1e-13
    assert np.all(trace.errors <= trace.bound + 1e-12)
    assert 0 < trace.survival < 1
    late = trace.late_factor()
    assert late == pytest.approx(gamma * trace.survival, abs=0.05)
    assert late < 0.7 * gamma  # well below the bound's factor γ
    assert trace.factor(0, 5) == pytest.approx(gamma, abs=0.05)  # no terminal in reach yet
    assert 3 <= trace.policy_settled <= 10


def test_contraction_needs_gamma_below_one():
    with pytest.raises(ValueError, match="gamma"):
        contraction(1.0)
