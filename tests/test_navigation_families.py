"""Chapter 08's families on 2D navigation: concatenation is a map to weights, context is read
back exactly, CAVIA's meta-gradient is the finite difference, runs are reproducible."""

import itertools
from dataclasses import replace

import numpy as np
import pytest
import torch
from torch.func import functional_call

from mini_lib.checks import DivergenceError
from mini_lib.envs.point_navigation import PointNavigationEnv, sample_tasks
from mini_lib.meta.conditioning import ConcatConditioner
from mini_lib.meta.context_encoder import GaussianPosterior
from mini_lib.tasks.navigation import NavigationPolicy
from mini_lib.tasks.navigation_context import (
    FamilyLearner,
    adapt_context,
    collect_context,
    context_transitions,
    goal_log_likelihood,
    infer,
    task_code,
)
from mini_lib.tasks.navigation_families import FamilyConfig, train_family

TINY = FamilyConfig(iterations=3, meta_batch=2, trajectories=3, hidden=(8,),
                    hyper_hidden=(8,))


def test_concatenation_is_the_first_bias_moved_by_the_embedding():
    """π([s; e]) with a 4-input first layer equals the 2-input policy with bias b + W_e e."""
    torch.manual_seed(0)
    target = NavigationPolicy((8,))
    conditioner = ConcatConditioner(target, embedding_dim=2)
    oracle = NavigationPolicy((8,), observe_goal=True)
    shared = dict(zip(conditioner.names, conditioner.shared, strict=True))
    with torch.no_grad():
        for name, p in oracle.named_parameters():
            p.copy_(shared[name] if name != "mean.0.weight" else
                    torch.cat([shared[name], conditioner.embedding_weight], dim=1))
    goals, states = torch.randn(3, 2), torch.randn(3, 5, 2)
    params = conditioner(goals)
    for task in range(3):
        one = {name: value[task] for name, value in params.items()}
        inputs = torch.cat([states[task], goals[task].expand(5, 2)], dim=-1)
        torch.testing.assert_close(functional_call(target, one, (states[task],)),
                                   oracle(inputs))
    params["mean.0.bias"].sum().backward()
    assert conditioner.embedding_weight.grad is not None
    with pytest.raises(ValueError, match=r"^first_bias "):
        ConcatConditioner(target, 2, first_bias="mean.0.weight")


def test_context_transitions_are_the_env_s_own_steps():
    torch.manual_seed(0)
    learner = FamilyLearner("context", "concat", 3, hidden=(8,))
    goals = sample_tasks(2, seed=5)
    context = collect_context(learner, goals, torch.Generator().manual_seed(0), 4)
    s, a, r, s_next = context.transitions[1, :4].split([2, 2, 1, 2], dim=-1)
    env = PointNavigationEnv(goals[1])
    env.reset()
    for t in range(4):  # the Gymnasium env, step for step, from the recorded actions
        np.testing.assert_allclose(s[t].numpy(), env.position, atol=1e-6)
        position, reward, *_ = env.step(a[t].numpy())
        np.testing.assert_allclose(s_next[t].numpy(), position, atol=1e-6)
        assert r[t].item() == pytest.approx(reward, abs=1e-6)
    assert context.mask.sum(dim=1).tolist() == [4.0, 4.0]
    full, mask = context_transitions(goals, context.batch)
    assert torch.equal(full, context.transitions)
    assert torch.allclose(full[..., 4].mul(mask).sum(dim=1), context.batch.returns[:, 0])


def test_no_context_leaves_the_prior_and_more_context_narrows_the_posterior():
    torch.manual_seed(0)
    learner = FamilyLearner("context", "hyper", 3, hidden=(8,), hyper_hidden=(8,))
    goals = sample_tasks(3, seed=6)
    variances = []
    for n in (0, 1, 10, 100):
        context = collect_context(learner, goals, torch.Generator().manual_seed(0), n)
        variances.append(infer(learner, context).variance)
    torch.testing.assert_close(variances[0], torch.ones(3, 3))
    assert all((later <= earlier).all() for earlier, later in itertools.pairwise(variances))
    with pytest.raises(ValueError, match="no encoder"):
        infer(FamilyLearner("goal", "concat", 2, hidden=(8,)), context)


def test_a_reward_is_a_linear_measurement_of_the_task_code():
    """r² − |s'|² = (−2 s', 1) · (g, |g|²): why rank-one factors can pin the goal down."""
    generator = torch.Generator().manual_seed(0)
    goals, positions = torch.rand(50, 2, generator=generator) - 0.5, torch.randn(50, 2)
    reward = -(positions - goals).norm(dim=-1)
    measurement = torch.cat([-2 * positions, torch.ones(50, 1)], dim=-1)
    torch.testing.assert_close((measurement * task_code(goals.numpy())).sum(-1),
                               reward**2 - (positions**2).sum(-1))
    learner = FamilyLearner("context", "concat", 3, hidden=(8,))
    context = collect_context(learner, goals[:4].numpy(), generator, 10)
    posterior = infer(learner, context)
    assert goal_log_likelihood(posterior, goals[:4].numpy()).shape == (4,)
    with pytest.raises(ValueError, match="task code"):
        goal_log_likelihood(GaussianPosterior(torch.zeros(4, 2), torch.eye(2).expand(4, 2, 2)),
                            goals[:4].numpy())


def _double_cavia(seed: int = 0):
    torch.manual_seed(seed)
    learner = FamilyLearner("cavia", "concat", 3, hidden=(8,)).double()
    with torch.no_grad():
        learner.conditioner.embedding_weight.normal_(0.0, 0.5)
    goals = sample_tasks(2, seed=7)
    generator = torch.Generator().manual_seed(seed)
    support = learner.sample(torch.zeros(2, 3, dtype=torch.float64), goals, 4, generator)
    query = learner.sample(torch.randn(2, 3, dtype=torch.float64), goals, 4, generator)
    return learner, support, query


def test_one_cavia_step_is_a_gradient_step_on_the_context_alone():
    learner, support, _ = _double_cavia()
    adapted = adapt_context(learner, support, alpha=0.5, steps=1)
    context = torch.zeros(2, 3, dtype=torch.float64, requires_grad=True)
    learner.task_losses(learner.weights(context), support).sum().backward()
    torch.testing.assert_close(adapted, -0.5 * context.grad)
    assert torch.equal(adapt_context(learner, support, 0.5, steps=0),
                       torch.zeros(2, 3, dtype=torch.float64))


def test_the_cavia_meta_gradient_matches_finite_differences():
    learner, support, query = _double_cavia()
    theta = {name: p.detach() for name, p in learner.conditioner.named_parameters()}

    def meta_loss(params):
        context = adapt_context(learner, support, 0.5, 2, theta=params)
        weights = functional_call(learner.conditioner, params, (context,))
        return learner.task_losses(weights, query).mean()

    gradient = torch.func.grad(meta_loss)(theta)
    direction = {name: torch.randn_like(p) for name, p in theta.items()}
    eps = 1e-5
    shifted = [meta_loss({n: p + sign * eps * direction[n] for n, p in theta.items()})
               for sign in (1, -1)]
    finite = (shifted[0] - shifted[1]) / (2 * eps)
    exact = sum((gradient[n] * direction[n]).sum() for n in theta)
    assert exact.item() == pytest.approx(finite.item(), rel=1e-5, abs=1e-8)
    first_order = torch.func.grad(lambda p: learner.task_losses(
        functional_call(learner.conditioner, p, (adapt_context(
            learner, support, 0.5, 2, theta=p, first_order=True),)), query).mean())(theta)
    assert not torch.allclose(first_order["embedding_weight"], gradient["embedding_weight"])


@pytest.mark.parametrize(("embedding", "conditioner", "dim"),
                         [("goal", "concat", 2), ("goal", "hyper", 2), ("context", "concat", 3),
                          ("context", "hyper", 3), ("cavia", "concat", 3)])
def test_every_family_trains_reproducibly(embedding, conditioner, dim):
    config = replace(TINY, embedding=embedding, conditioner=conditioner, embedding_dim=dim)
    runs = [train_family(config, seed=0) for _ in range(2)]
    assert runs[0].returns == runs[1].returns and len(runs[0].returns) == 3
    assert (len(runs[0].kl) == 3) == (embedding == "context")
    assert (len(runs[0].pre_returns) == 3) == (embedding == "cavia")
    first = [p for p in runs[0].learner.parameters() if p.requires_grad]
    second = [p for p in runs[1].learner.parameters() if p.requires_grad]
    assert all(torch.equal(p, q) for p, q in zip(first, second, strict=True))
    fresh = FamilyLearner(embedding, conditioner, dim, hidden=(8,), hyper_hidden=(8,))
    assert all(p.shape == q.shape for p, q in zip(fresh.parameters(),
                                                   runs[0].learner.parameters(), strict=True))


@pytest.mark.parametrize(("field", "value"), [("embedding", "rnn"), ("conditioner", "film"),
                                               ("trajectories", 1), ("kl_weight", -1.0),
                                               ("alpha", 0.0), ("hyper_hidden", ())])
def test_bad_settings_are_refused_naming_the_field(field, value):
    with pytest.raises(ValueError, match=field):
        replace(TINY, **{field: value})
    with pytest.raises(ValueError, match="embedding_dim must be 2"):
        FamilyLearner("goal", "concat", 3)
    with pytest.raises(ValueError, match="embedding_dim must be 3"):
        FamilyLearner("context", "concat", 2)


def test_a_diverging_cavia_run_stops_naming_the_inner_step():
    config = replace(TINY, embedding="cavia", embedding_dim=3, alpha=1e30, iterations=5)
    with pytest.raises(DivergenceError, match="inner step alpha=1e"):
        train_family(config, seed=0)
