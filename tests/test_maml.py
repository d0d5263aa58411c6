"""MAML on sinusoids: the meta-gradients are the right numbers, not just numbers.

The torch.func implementation is checked against central finite differences and against an
independent plain-autograd implementation; the variants (first order, 0 inner steps, Reptile)
against what they reduce to; and a few seconds of meta-training against the un-adapted error.
"""

import math

import numpy as np
import pytest
import torch
from meta_check import finite_difference_meta_gradient, relative_error

from mini_lib.checks import DivergenceError
from mini_lib.meta.functional import adapt, meta_gradient, params_of, reptile_step
from mini_lib.meta.training import AdaptationCheck, MAMLConfig, evaluate_adaptation, train_meta
from mini_lib.tasks.sinusoid import (
    SinusoidFamily,
    SinusoidMLP,
    batch_mse,
    forward,
    held_out_tasks,
    mse,
    sample_tasks,
    shape_only,
    sinusoid,
)

SINUSOIDS = SinusoidFamily()


def tiny(seed: int = 0, dtype=torch.float64) -> tuple[SinusoidMLP, dict[str, torch.Tensor]]:
    torch.manual_seed(seed)
    model = SinusoidMLP(hidden=(4, 4)).to(dtype)
    return model, params_of(model)


def tasks64(n_tasks: int = 3, k_shot: int = 5, seed: int = 1):
    return sample_tasks(n_tasks, k_shot, np.random.default_rng(seed), dtype=torch.float64)


def autograd_meta_gradient(model, tasks, alpha, steps, detach_inner):
    """Reference: MAML written with plain torch.autograd and the module's own forward."""
    theta = [p.detach().clone().requires_grad_() for p in model.parameters()]
    names = [name for name, _ in model.named_parameters()]
    total = 0.0
    for i in range(len(tasks)):
        phi = theta
        for _ in range(steps):
            support = torch.func.functional_call(model, dict(zip(names, phi, strict=True)),
                                                 (tasks.x_support[i],))
            loss = ((support - tasks.y_support[i]) ** 2).mean()
            inner = torch.autograd.grad(loss, phi, create_graph=not detach_inner)
            phi = [p - alpha * g for p, g in zip(phi, inner, strict=True)]
        query = torch.func.functional_call(model, dict(zip(names, phi, strict=True)),
                                           (tasks.x_query[i],))
        total = total + ((query - tasks.y_query[i]) ** 2).mean() / len(tasks)
    return dict(zip(names, torch.autograd.grad(total, theta), strict=True))


# (1) the meta-gradient is the derivative of the meta-loss -----------------------------------

def test_maml_meta_gradient_matches_central_finite_differences():
    _, params = tiny()
    tasks, alpha, steps = tasks64(), 0.1, 2
    gradient, _ = meta_gradient(params, batch_mse, tasks.support, tasks.query, alpha, steps)
    numeric = finite_difference_meta_gradient(params, batch_mse, tasks.support, tasks.query,
                                              alpha, steps)
    assert relative_error(gradient, numeric) < 1e-5
    # ... and the second-order term matters here, so the test would catch a first-order bug.
    first_order, _ = meta_gradient(params, batch_mse, tasks.support, tasks.query, alpha, steps,
                                   first_order=True)
    assert relative_error(first_order, numeric) > 1e-2


def test_maml_meta_gradient_matches_plain_autograd_through_the_inner_steps():
    model, params = tiny()
    tasks = tasks64()
    gradient, _ = meta_gradient(params, batch_mse, tasks.support, tasks.query, 0.1, 3)
    reference = autograd_meta_gradient(model, tasks, 0.1, 3, detach_inner=False)
    assert relative_error(gradient, reference) < 1e-12


# (2) first-order MAML = MAML with the inner gradient detached -----------------------------

def test_first_order_gradient_equals_second_order_one_with_inner_gradient_detached():
    model, params = tiny()
    tasks = tasks64()
    first_order, _ = meta_gradient(params, batch_mse, tasks.support, tasks.query, 0.1, 2,
                                   first_order=True)
    reference = autograd_meta_gradient(model, tasks, 0.1, 2, detach_inner=True)
    assert relative_error(first_order, reference) < 1e-12
    # With one inner step it is the plain gradient of the query loss at the adapted φ.
    first_order, _ = meta_gradient(params, batch_mse, tasks[0].support, tasks[0].query, 0.1, 1,
                                   first_order=True)
    phi = adapt(params, batch_mse, (tasks.x_support[0], tasks.y_support[0]), 0.1, 1)
    at_phi = torch.func.grad(mse)(phi, tasks.x_query[0], tasks.y_query[0])
    assert relative_error(first_order, at_phi) < 1e-12


# (3) no inner step: MAML is joint training ------------------------------------------------

def test_zero_inner_steps_gives_the_joint_training_gradient():
    model, params = tiny()
    tasks = tasks64(n_tasks=4)
    for first_order in (False, True):
        gradient, loss = meta_gradient(params, batch_mse, tasks.support, tasks.query, 0.1, 0,
                                       first_order=first_order)
        model.zero_grad()
        joint = ((model(tasks.x_query) - tasks.y_query) ** 2).mean()  # all tasks, one network
        joint.backward()
        reference = {name: p.grad for name, p in model.named_parameters()}
        assert loss.item() == pytest.approx(joint.item(), rel=1e-12)
        assert relative_error(gradient, reference) < 1e-12


# (4) vmap over tasks = a Python loop over tasks -------------------------------------------

@pytest.mark.parametrize("first_order", [False, True])
def test_vmapped_meta_gradient_equals_a_loop_over_tasks(first_order):
    _, params = tiny()
    tasks = tasks64(n_tasks=5)
    batches = (batch_mse, tasks.support, tasks.query, 0.05, 2)
    vectorized, loss_v = meta_gradient(params, *batches, first_order=first_order)
    looped, loss_l = meta_gradient(params, *batches, first_order=first_order, vectorized=False)
    assert loss_v.item() == pytest.approx(loss_l.item(), rel=1e-12)
    assert relative_error(vectorized, looped) < 1e-12


# (5) Reptile ------------------------------------------------------------------------------

def test_reptile_with_one_step_and_epsilon_one_lands_on_phi():
    _, params = tiny()
    tasks = tasks64(n_tasks=3)
    phis = [adapt(params, batch_mse, (tasks.x_support[i], tasks.y_support[i]), 0.1, 1)
            for i in range(3)]
    updated, _ = reptile_step(params, batch_mse, tasks[1].support, tasks[1].query, 0.1, 1,
                              epsilon=1.0)
    assert relative_error(updated, phis[1]) < 1e-12
    # Several tasks: θ + ε·mean(φ − θ), here with ε = 1 the mean of the φ's, with ε = ½ halfway.
    mean_phi = {name: torch.stack([phi[name] for phi in phis]).mean(0) for name in params}
    updated, _ = reptile_step(params, batch_mse, tasks.support, tasks.query, 0.1, 1, epsilon=1.0)
    assert relative_error(updated, mean_phi) < 1e-12
    halfway, _ = reptile_step(params, batch_mse, tasks.support, tasks.query, 0.1, 1,
                              epsilon=0.5)
    expected = {name: (params[name] + mean_phi[name]) / 2 for name in params}
    assert relative_error(halfway, expected) < 1e-12


# (6) configuration and divergence ---------------------------------------------------------

@pytest.mark.parametrize(("field", "value"), [
    ("alpha", 0.0), ("alpha", -0.01), ("inner_steps", -1), ("inner_steps", 1.5),
    ("meta_batch_size", 0), ("outer_lr", 0.0), ("iterations", 0), ("method", "maml2"),
])
def test_config_rejects_bad_values_naming_the_parameter(field, value):
    with pytest.raises(ValueError, match=f"^{field} must") as error:
        MAMLConfig(**{field: value})
    assert repr(value) in str(error.value) or str(value) in str(error.value)


@pytest.mark.parametrize(("field", "value"), [("k_shot", 0), ("k_shot", 2.5), ("hidden", ()),
                                              ("hidden", (40, 0))])
def test_family_rejects_bad_values_naming_the_parameter(field, value):
    with pytest.raises(ValueError, match=f"^{field} must") as error:
        SinusoidFamily(**{field: value})
    assert repr(value) in str(error.value) or str(value) in str(error.value)


def test_zero_inner_steps_is_a_valid_config():
    assert MAMLConfig(inner_steps=0).inner_steps == 0


def test_a_huge_inner_step_stops_with_divergence_error_naming_alpha():
    with pytest.raises(DivergenceError, match="alpha=1e\\+15 too large"):
        train_meta(MAMLConfig(alpha=1e15, iterations=5, meta_batch_size=2), SINUSOIDS)


# (7) the task distribution ----------------------------------------------------------------

def test_sampler_shapes_ranges_and_values():
    tasks = sample_tasks(500, 7, np.random.default_rng(0), k_query=3)
    assert len(tasks) == 500
    assert tasks.amplitude.shape == tasks.phase.shape == (500,)
    assert tasks.x_support.shape == tasks.y_support.shape == (500, 7, 1)
    assert tasks.x_query.shape == tasks.y_query.shape == (500, 3, 1)
    assert tasks.x_support.dtype == torch.float32
    assert 0.1 <= tasks.amplitude.min() and tasks.amplitude.max() <= 5.0
    assert 0.0 <= tasks.phase.min() and tasks.phase.max() <= math.pi
    for x in (tasks.x_support, tasks.x_query):
        assert -5.0 <= x.min() and x.max() <= 5.0
        assert x.min() < -4.5 and x.max() > 4.5  # the whole interval is used
    assert tasks.amplitude.min() < 0.3 and tasks.amplitude.max() > 4.8
    expected = tasks.amplitude[:, None, None] * torch.sin(tasks.x_support - tasks.phase[:, None,
                                                                                         None])
    torch.testing.assert_close(tasks.y_support, expected)
    torch.testing.assert_close(tasks.y_query, sinusoid(tasks.x_query, tasks.amplitude,
                                                       tasks.phase))
    assert sample_tasks(2, 4, np.random.default_rng(0)).x_query.shape == (2, 4, 1)  # K default


def test_sampler_is_reproducible_and_held_out_tasks_are_fixed():
    a, b = (sample_tasks(5, 10, np.random.default_rng(3)) for _ in range(2))
    c = sample_tasks(5, 10, np.random.default_rng(4))
    assert torch.equal(a.x_support, b.x_support) and torch.equal(a.y_query, b.y_query)
    assert not torch.equal(a.amplitude, c.amplitude)
    assert torch.equal(held_out_tasks(20).y_query, held_out_tasks(20).y_query)
    assert held_out_tasks(20).x_query.shape == (20, 100, 1)
    grid = torch.linspace(-5, 5, 11)
    assert a.curve(grid).shape == (5, 11, 1)
    with pytest.raises(ValueError, match="k_shot must be an integer in"):
        sample_tasks(5, 0, np.random.default_rng(0))


# evaluation -------------------------------------------------------------------------------

def test_evaluation_records_the_query_error_after_each_adaptation_step():
    _, params = tiny()
    tasks = tasks64(n_tasks=4)
    errors = evaluate_adaptation(params, batch_mse, tasks.support, tasks.query, alpha=0.05,
                                 max_steps=3)
    assert errors.shape == (4, 4)
    for i in range(4):
        assert errors[i, 0] == pytest.approx(mse(params, tasks.x_query[i],
                                                 tasks.y_query[i]).item(), rel=1e-12)
        phi = adapt(params, batch_mse, (tasks.x_support[i], tasks.y_support[i]), 0.05, 3)
        assert errors[i, 3] == pytest.approx(mse(phi, tasks.x_query[i],
                                                 tasks.y_query[i]).item(), rel=1e-10)


# (8) a few seconds of meta-training make one gradient step useful -------------------------

def test_short_maml_run_makes_adaptation_clearly_reduce_the_error():
    tasks = held_out_tasks(100, k_query=50)
    config = MAMLConfig(iterations=300, meta_batch_size=10, outer_lr=3e-3)
    check = AdaptationCheck(batch_mse, tasks.support, tasks.query, every=150)
    result = train_meta(config, SINUSOIDS, seed=1, stop_when=check)
    assert len(result.losses) == 300 and [i for i, _ in check.history] == [150, 300]
    errors = evaluate_adaptation(result.params, batch_mse, tasks.support, tasks.query, alpha=0.01,
                                 max_steps=10).mean(axis=0)
    assert errors[1] < 0.75 * errors[0]  # measured 1.7 vs 2.7
    assert errors[10] < 0.5 * errors[0]  # measured 1.0
    assert check.history[-1][1] == pytest.approx(errors[1])
    # Without meta-training the same step barely helps.
    untrained = evaluate_adaptation(params_of(SinusoidMLP()), batch_mse, tasks.support,
                                    tasks.query, 0.01, 1).mean(axis=0)
    assert untrained[1] > 0.85 * untrained[0]


@pytest.mark.parametrize("method", ["fomaml", "reptile", "pretrain"])
def test_every_method_trains_and_can_stop_early(method):
    tasks = held_out_tasks(20, k_query=20)
    check = AdaptationCheck(batch_mse, tasks.support, tasks.query, every=5, threshold=math.inf)
    config = MAMLConfig(method=method, iterations=50, meta_batch_size=5, inner_steps=2,
                        outer_lr=0.1 if method == "reptile" else 1e-3)
    result = train_meta(config, SinusoidFamily(k_shot=5, hidden=(20,)), stop_when=check)
    assert result.stopped_at == 5 and len(result.losses) == 5
    assert all(math.isfinite(loss) for loss in result.losses)


# (9) the network and its parameter-dict evaluation -----------------------------------------

def test_the_network_keeps_its_parameter_names():
    model = SINUSOIDS.make_model()  # the stored weights' keys are net.0.weight … net.4.bias
    assert [name for name, _ in model.named_parameters()] == [
        f"net.{i}.{kind}" for i in (0, 2, 4) for kind in ("weight", "bias")]
    assert isinstance(model.net[1], torch.nn.ReLU)


def test_parameter_dict_evaluation_equals_the_module_and_draws_no_random_numbers():
    model, params = tiny()
    x = torch.linspace(-5, 5, 9, dtype=torch.float64).reshape(-1, 1)
    y = torch.sin(x)
    state = torch.get_rng_state()
    shape_only.cache_clear()
    torch.testing.assert_close(forward(params, x), model(x), rtol=0, atol=0)
    assert torch.equal(torch.get_rng_state(), state)
    assert mse(params, x, y).item() == ((model(x) - y) ** 2).mean().item()
    assert SINUSOIDS.loss(params, (x, y)).item() == mse(params, x, y).item()
    support, query = SinusoidFamily(k_shot=3).sample(4, np.random.default_rng(0))
    tasks = sample_tasks(4, 3, np.random.default_rng(0))
    assert torch.equal(support[0], tasks.x_support) and torch.equal(query[1], tasks.y_query)
