"""The hypernetwork (chapter 08 groundwork): weights stay in the graph, and the generated
policy is exactly the policy those weights make."""

import numpy as np
import pytest
import torch
from torch.func import functional_call

from mini_lib.meta.hypernetwork import HyperNetwork
from mini_lib.tasks.navigation import NavigationPolicy, log_prob, sample_batch


@pytest.fixture
def hyper():
    torch.manual_seed(0)
    target = NavigationPolicy((8,))
    hyper = HyperNetwork(target, embedding_dim=2, hidden=(16,))
    with torch.no_grad():  # leave the zero-weight start, so the embedding matters
        hyper.body[-1].weight.normal_(0.0, 0.1)
    return target, hyper


def test_every_embedding_starts_at_the_target_s_initialisation():
    torch.manual_seed(0)
    target = NavigationPolicy((8,))
    generated = HyperNetwork(target, 2)(torch.randn(5, 2))
    for name, p in target.named_parameters():
        assert generated[name].shape == (5, *p.shape)
        torch.testing.assert_close(generated[name], p.detach().expand(5, *p.shape))


def test_gradients_reach_every_hypernetwork_parameter(hyper):
    """The source article's meta-policy copies generated values into a module: nothing
    reaches the generator. Through functional_call, every parameter gets a gradient."""
    target, hyper = hyper
    params = hyper(torch.tensor([0.3, -0.2]))
    observations, actions = torch.randn(20, 2), torch.randn(20, 2)
    loss = -log_prob(target, params, observations, actions).mean()
    loss.backward()
    for name, p in hyper.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    # the copying mistake, for contrast: the target's parameters get the gradient, not hyper
    hyper.zero_grad()
    with torch.no_grad():
        for name, p in target.named_parameters():
            p.copy_(hyper(torch.tensor([0.3, -0.2]))[name])
    (-log_prob(target, dict(target.named_parameters()), observations, actions).mean()).backward()
    assert all(p.grad is None or not p.grad.any() for p in hyper.parameters())


def test_the_generated_policy_is_the_policy_of_those_weights(hyper):
    target, hyper = hyper
    params = hyper(torch.tensor([[0.1, 0.4], [-0.3, 0.2]]))
    observations = torch.randn(7, 2)
    for task in range(2):
        built = NavigationPolicy((8,))
        built.load_state_dict({name: value[task].detach() for name, value in params.items()})
        one = {name: value[task] for name, value in params.items()}
        torch.testing.assert_close(functional_call(target, one, (observations,)),
                                   built(observations))


def test_per_task_weights_sample_in_the_batched_env_and_bad_input_is_refused(hyper):
    target, hyper = hyper
    goals = np.array([[0.3, -0.2], [-0.4, 0.1]], dtype=np.float32)
    with torch.no_grad():
        params = hyper(torch.as_tensor(goals))
    batch = sample_batch(target, params, goals, 3, torch.Generator().manual_seed(0))
    assert batch.returns.shape == (2, 3) and np.isfinite(batch.mean_return)
    with pytest.raises(ValueError, match=r"^embedding "):
        hyper(torch.zeros(3))
    with pytest.raises(ValueError, match=r"^embedding_dim "):
        HyperNetwork(target, 0)
