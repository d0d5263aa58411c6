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


def test_the_torch_batched_pair_equals_the_numpy_references():
    """One NumPy reference pair, one torch batched pair: they must agree on padded batches."""
    import torch

    from mini_lib.returns import discounted_returns, returns_to_go, reward_to_go

    rng = np.random.default_rng(0)
    episodes = [rng.normal(size=n) for n in (1, 4, 7)]
    padded = torch.zeros(3, 7, dtype=torch.float64)
    mask = torch.zeros(3, 7, dtype=torch.float64)
    for i, rewards in enumerate(episodes):
        padded[i, : len(rewards)] = torch.as_tensor(rewards)
        mask[i, : len(rewards)] = 1.0
    padded[0, 3] = 99.0  # garbage on a padded step must not leak into any return
    for gamma in (0.0, 0.5, 0.9, 1.0):
        batched_g0 = discounted_returns(padded, gamma, mask)
        batched_gt = reward_to_go(padded, gamma, mask)
        for i, rewards in enumerate(episodes):
            assert batched_g0[i].item() == pytest.approx(discounted_return(rewards, gamma))
            np.testing.assert_allclose(batched_gt[i, : len(rewards)].numpy(),
                                       returns_to_go(rewards, gamma), rtol=1e-12, atol=1e-12)
            assert torch.all(batched_gt[i, len(rewards):] == 0)
