"""Discounted returns against the definition and closed forms."""

import numpy as np
import pytest

from mini_lib.returns import discounted_return, effective_horizon


def test_discounted_return_matches_the_definition():
    rewards = [1.0, -2.0, 3.0, 0.5]
    gamma = 0.7
    by_hand = 1.0 + 0.7 * -2.0 + 0.49 * 3.0 + 0.343 * 0.5
    assert discounted_return(rewards, gamma) == pytest.approx(by_hand)
    assert discounted_return(rewards, 0.0) == 1.0
    assert discounted_return(rewards, 1.0) == pytest.approx(2.5)
    assert discounted_return([], 0.9) == 0.0


def test_constant_reward_stream_approaches_the_effective_horizon():
    for gamma in (0.5, 0.9, 0.99):
        long_stream = np.ones(20_000)
        assert discounted_return(long_stream, gamma) == pytest.approx(effective_horizon(gamma))
    assert effective_horizon(1.0) == np.inf


def test_bad_input():
    with pytest.raises(ValueError, match=r"gamma must be in \[0, 1\], got 1.2"):
        discounted_return([1.0], 1.2)
    with pytest.raises(ValueError, match="rewards must be a 1-D sequence"):
        discounted_return([[1.0, 2.0]], 0.9)
