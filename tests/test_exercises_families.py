"""Chapter 08's checkers accept right answers and name each typical bug."""

import pytest
import torch
from torch import nn
from torch.func import functional_call
from torch.nn import functional as F

from mini_lib.exercises.ch08_families import check_policy_mean, check_pool, reference_pool
from mini_lib.meta.context_encoder import ContextEncoder


def stub(*args):
    raise NotImplementedError


def crashes(*args):
    return [][0]


# -- exercise 1: the pooling step ----------------------------------------------------------------


def pool(means, variances, mask):
    precision_i = mask[..., None] / variances
    precision = 1.0 + precision_i.sum(dim=1)
    return (precision_i * means).sum(dim=1) / precision, 1.0 / precision


def pool_step_by_step(means, variances, mask):  # exact Bayesian updates, one at a time
    precision = torch.ones(means.shape[0], means.shape[2], dtype=means.dtype)
    weighted = torch.zeros_like(precision)
    for i in range(means.shape[1]):
        p_i = mask[:, i, None] / variances[:, i]
        precision, weighted = precision + p_i, weighted + p_i * means[:, i]
    return (weighted / precision).numpy(), (1 / precision).numpy()


def last_only(means, variances, mask):
    p = mask[:, -1, None] / variances[:, -1]
    return p * means[:, -1] / (1 + p), 1 / (1 + p)


def moving_average(means, variances, mask):
    mean, variance = torch.zeros_like(means[:, 0]), torch.ones_like(means[:, 0])
    for i in range(means.shape[1]):
        keep = mask[:, i, None]
        mean = keep * (0.5 * mean + 0.5 * means[:, i]) + (1 - keep) * mean
        variance = keep * (0.5 * variance + 0.5 * variances[:, i]) + (1 - keep) * variance
    return mean, variance


def position_weights(means, variances, mask):
    weights = torch.arange(1, means.shape[1] + 1, dtype=means.dtype) / means.shape[1]
    return pool(means, variances, mask * weights)


def no_prior(means, variances, mask):
    precision_i = mask[..., None] / variances
    precision = precision_i.sum(dim=1)
    return (precision_i * means).sum(dim=1) / precision, 1.0 / precision


def prior_only_when_empty(means, variances, mask):  # the NaN patched, the prior still missing
    precision_i = mask[..., None] / variances
    precision = precision_i.sum(dim=1) + (mask.sum(dim=1, keepdim=True) == 0)
    return (precision_i * means).sum(dim=1) / precision, 1.0 / precision


def averaged_precisions(means, variances, mask):
    count = mask.sum(dim=1, keepdim=True).clamp(min=1)
    precision_i = mask[..., None] / variances
    precision = 1.0 + precision_i.sum(dim=1) / count
    return (precision_i * means).sum(dim=1) / count / precision, 1.0 / precision


def summed_variances(means, variances, mask):
    mean, _ = pool(means, variances, mask)
    return mean, 1.0 + (mask[..., None] * variances).sum(dim=1)


def plain_mean(means, variances, mask):
    _, variance = pool(means, variances, mask)
    return (mask[..., None] * means).sum(dim=1) / mask.sum(dim=1, keepdim=True).clamp(min=1), \
        variance


def plain_mean_0_over_0(means, variances, mask):
    _, variance = pool(means, variances, mask)
    return (mask[..., None] * means).sum(dim=1) / mask.sum(dim=1, keepdim=True), variance


def no_shrinkage(means, variances, mask):  # weighted, but the prior left out of the mean
    mean, variance = pool(means, variances, mask)
    return mean / (1 - variance).clamp(min=1e-300) * (mask.sum(1, keepdim=True) > 0), variance


def mask_ignored(means, variances, mask):
    return pool(means, variances, torch.ones_like(mask))


def mean_masked_only(means, variances, mask):  # padded transitions still add precision
    precision_i = 1.0 / variances
    precision = 1.0 + precision_i.sum(dim=1)
    return (mask[..., None] * precision_i * means).sum(dim=1) / precision, 1.0 / precision


def latent_axis(means, variances, mask):
    precision_i = mask[..., None] / variances
    precision = 1.0 + precision_i.sum(dim=-1)
    return (precision_i * means).sum(dim=-1) / precision, 1.0 / precision


def task_axis(means, variances, mask):
    precision_i = mask[..., None] / variances
    precision = 1.0 + precision_i.sum(dim=0)
    return (precision_i * means).sum(dim=0) / precision, 1.0 / precision


def test_the_reference_is_the_context_encoder_s_pooling():
    torch.manual_seed(0)
    encoder = ContextEncoder(transition_dim=3, latent_dim=2, hidden=(8,)).double()
    transitions = torch.randn(4, 5, 3, dtype=torch.float64)
    mask = torch.tensor([[1, 1, 1, 1, 1], [0, 0, 0, 0, 0], [1, 0, 1, 0, 0], [0, 0, 0, 0, 1]],
                        dtype=torch.float64)
    with torch.no_grad():
        means, raw = encoder.factor(transitions).split(2, dim=-1)
        mean, variance = reference_pool(means, F.softplus(raw) + 1e-4, mask)
        posterior = encoder(transitions, mask)
    torch.testing.assert_close(mean, posterior.mean)
    torch.testing.assert_close(variance, posterior.variance)
    torch.testing.assert_close(variance[1], torch.ones(2, dtype=torch.float64))


@pytest.mark.parametrize("solution", [
    pool, pool_step_by_step, lambda m, v, k: tuple(reference_pool(m, v, k)),
    lambda m, v, k: [x.float() for x in pool(m, v, k)],  # float32 rounding is fine
])
def test_the_pool_checker_accepts_the_solution(solution):
    result = check_pool(solution)
    assert result.passed, result.message


@pytest.mark.parametrize(("bug", "phrase"), [
    (last_only, "depends on their order"),
    (moving_average, "depends on their order"),
    (lambda m, v, k: no_prior(m[:, -1:], v[:, -1:], k[:, -1:]), "depends on their order"),
    (position_weights, "depends on their order"),
    (no_prior, "the prior is forgotten"),
    (prior_only_when_empty, "the prior is forgotten"),
    (averaged_precisions, "*wider*"),
    (summed_variances, "*wider*"),
    (plain_mean, "a plain average of the means"),
    (plain_mean_0_over_0, "(0/0)"),
    (no_shrinkage, "the variance is right but the mean is not"),
    (mask_ignored, "the mask is ignored"),
    (mean_masked_only, "the mask is ignored"),
    (latent_axis, "pooled over the latent axis"),
    (task_axis, "pooled over the tasks"),
    (lambda m, v, k: pool(m, v, k)[0], "return a pair"),
    (lambda m, v, k: (pool(m, v, k)[0], 2 * pool(m, v, k)[1]), "wrong answer for"),
    (stub, "not implemented yet"),
    (crashes, "raised IndexError"),
])
def test_the_pool_checker_names_the_typical_bug(bug, phrase):
    result = check_pool(bug)
    assert not result.passed and phrase in result.message, result.message


# -- exercise 2: generated weights in the graph --------------------------------------------------


def pieces_of(flat, target, names=None):
    named = dict(target.named_parameters())
    names = list(named) if names is None else names
    pieces = torch.split(flat, [named[name].numel() for name in names])
    return {name: piece.reshape(named[name].shape)
            for name, piece in zip(names, pieces, strict=True)}


def policy_mean(flat, target, observations):
    return functional_call(target, pieces_of(flat, target), (observations,))


def policy_mean_by_hand(flat, target, observations):  # the layers written out, no module call
    params = pieces_of(flat, target)
    hidden = torch.relu(observations @ params["mean.0.weight"].T + params["mean.0.bias"])
    return hidden @ params["mean.2.weight"].T + params["mean.2.bias"]


def set_params(flat, target, observations):  # the seed article's base_model.set_params
    with torch.no_grad():
        for p, value in zip(target.parameters(), pieces_of(flat, target).values(), strict=True):
            p.copy_(value)
    return target(observations)


def data_copy(flat, target, observations):
    for p, value in zip(target.parameters(), pieces_of(flat, target).values(), strict=True):
        p.data.copy_(value)
    return target(observations)


def load_state(flat, target, observations):
    target.load_state_dict(pieces_of(flat, target))
    return target(observations)


def new_parameters(flat, target, observations):
    for name, value in pieces_of(flat, target).items():
        module_name, _, attribute = name.rpartition(".")
        setattr(target.get_submodule(module_name), attribute, nn.Parameter(value))
    return target(observations)


def vector_to_parameters(flat, target, observations):
    nn.utils.vector_to_parameters(flat, target.parameters())
    return target(observations)


def detached(flat, target, observations):
    return policy_mean(flat.detach(), target, observations)


def rebuilt_from_numbers(flat, target, observations):
    return policy_mean(torch.tensor(flat.tolist(), dtype=flat.dtype), target, observations)


def parameter_dict(flat, target, observations):
    params = {name: nn.Parameter(p) for name, p in pieces_of(flat, target).items()}
    return functional_call(target, params, (observations,))


def own_parameters(flat, target, observations):
    return target(observations)


def transposed(flat, target, observations):
    params = pieces_of(flat, target)
    for name, p in params.items():
        if p.ndim == 2:
            params[name] = p.reshape(-1).reshape(p.shape[1], p.shape[0]).T
    return functional_call(target, params, (observations,))


def sorted_by_name(flat, target, observations):
    names = sorted(name for name, _ in target.named_parameters())
    return functional_call(target, pieces_of(flat, target, names), (observations,))


def biases_first(flat, target, observations):
    names = [name for name, _ in target.named_parameters()]
    names = [n for n in names if not n.endswith("weight")] + [n for n in names
                                                               if n.endswith("weight")]
    return functional_call(target, pieces_of(flat, target, names), (observations,))


def biases_cut(flat, target, observations):
    params = pieces_of(flat, target)
    params = {name: p.detach() if name.endswith("bias") else p for name, p in params.items()}
    return functional_call(target, params, (observations,))


def side_effect(flat, target, observations):
    with torch.no_grad():
        target.log_std.fill_(0.5)
    return policy_mean(flat, target, observations)


def test_the_policy_mean_checker_accepts_the_solution():
    result = check_policy_mean(policy_mean)
    assert result.passed, result.message


def test_a_hand_written_two_layer_mean_passes_where_it_applies():
    result = check_policy_mean(lambda f, t, o: policy_mean_by_hand(f, t, o)
                               if len(t.mean) == 3 else policy_mean(f, t, o))
    assert result.passed, result.message


@pytest.mark.parametrize(("bug", "phrase"), [
    (set_params, "set_params(params)"),
    (data_copy, "you copy flat's numbers into the target's Parameters"),
    (load_state, "you copy flat's numbers"),
    (vector_to_parameters, "you copy flat's numbers"),
    (new_parameters, "you copy flat's numbers"),
    (detached, "the graph is cut"),
    (rebuilt_from_numbers, "the graph is cut"),
    (parameter_dict, "the graph is cut"),
    (own_parameters, "flat is not used"),
    (transposed, "reshape(in, out).T"),
    (sorted_by_name, "another order than target.named_parameters()"),
    (biases_first, "another order than target.named_parameters()"),
    (biases_cut, "does not reach the pieces of flat for ['mean.0.bias', 'mean.2.bias']"),
    (side_effect, "a side effect"),
    (lambda f, t, o: policy_mean(f, t, o) + 1e-3, "largest difference"),
    (lambda f, t, o: policy_mean(f, t, o)[..., :1], "must have shape"),
    (lambda f, t, o: policy_mean(f, t, o).tolist(), "torch tensor"),
    (stub, "not implemented yet"),
    (crashes, "raised IndexError"),
])
def test_the_policy_mean_checker_names_the_typical_bug(bug, phrase):
    result = check_policy_mean(bug)
    assert not result.passed and phrase in result.message, result.message


def test_copying_is_named_even_though_it_changes_the_target_too():
    result = check_policy_mean(set_params)
    assert result.message.startswith("❌ policy_mean: the values are right, but you copy")
    assert "side effect" not in result.message
