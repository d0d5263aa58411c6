"""The PEARL-style context encoder (chapter 08 groundwork): order does not matter, more
context narrows the posterior, the KL term is the closed form."""

import itertools

import pytest
import torch
from torch.distributions import Normal, kl_divergence

from mini_lib.meta.context_encoder import ContextEncoder, GaussianPosterior, kl_to_prior


@pytest.fixture
def encoder():
    torch.manual_seed(0)
    return ContextEncoder(transition_dim=7, latent_dim=3, hidden=(16,)).double()


def test_the_posterior_does_not_depend_on_the_order_of_the_transitions(encoder):
    transitions = torch.randn(4, 10, 7, dtype=torch.float64)
    shuffled = transitions[:, torch.randperm(10)]
    a, b = encoder(transitions), encoder(shuffled)
    torch.testing.assert_close(a.mean, b.mean)
    torch.testing.assert_close(a.variance, b.variance)


def test_each_transition_narrows_the_posterior_and_none_gives_the_prior(encoder):
    transitions = torch.randn(2, 12, 7, dtype=torch.float64)
    variances = [encoder(transitions[:, :n]).variance for n in range(1, 13)]
    for fewer, more in itertools.pairwise(variances):
        assert torch.all(more < fewer)
    assert torch.all(variances[0] < 1.0)
    empty = encoder(transitions, mask=torch.zeros(2, 12))
    torch.testing.assert_close(empty.mean, torch.zeros(2, 3, dtype=torch.float64))
    torch.testing.assert_close(empty.variance, torch.ones(2, 3, dtype=torch.float64))
    masked = encoder(transitions, mask=torch.cat([torch.ones(2, 5), torch.zeros(2, 7)], 1))
    torch.testing.assert_close(masked.mean, encoder(transitions[:, :5]).mean)


def test_kl_to_prior_is_the_closed_form_and_sampling_is_reparameterised(encoder):
    posterior = encoder(torch.randn(3, 6, 7, dtype=torch.float64))
    expected = kl_divergence(Normal(posterior.mean, posterior.variance.sqrt()),
                             Normal(torch.zeros(()), torch.ones(()))).sum(-1)
    torch.testing.assert_close(kl_to_prior(posterior), expected)
    prior = GaussianPosterior(torch.zeros(3), torch.eye(3))
    assert float(kl_to_prior(prior)) == pytest.approx(0.0)
    z = posterior.sample(torch.Generator().manual_seed(0))
    z.sum().backward()
    assert all(p.grad is not None for p in encoder.parameters())


def test_bad_shapes_are_refused(encoder):
    with pytest.raises(ValueError, match=r"^transitions "):
        encoder(torch.zeros(5, 6, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"^mask "):
        encoder(torch.zeros(2, 5, 7, dtype=torch.float64), mask=torch.ones(2, 4))
    with pytest.raises(ValueError, match=r"^latent_dim "):
        ContextEncoder(7, latent_dim=0)
