"""Chapter 05's adaptation panel: the right numbers, bad input refused, blitting = full render."""


import numpy as np
import pytest
import torch
from blit_check import blit_mismatch

from mini_lib.demos.ch05_maml import (
    MAX_K,
    adapt_on_task,
    adaptation_panel,
    compare_methods,
    support_x,
)
from mini_lib.meta.functional import adapt, params_of
from mini_lib.meta.training import evaluate_adaptation
from mini_lib.tasks.sinusoid import SinusoidMLP, batch_mse, forward, held_out_tasks


def thetas() -> dict:
    out = {}
    for seed, name in enumerate(("MAML", "pretrained", "from scratch")):
        torch.manual_seed(seed)
        out[name] = params_of(SinusoidMLP())
    return out


def test_adaptation_matches_the_library_step_by_step():
    nets = thetas()
    result = adapt_on_task(nets, alpha=0.05, steps=3, k_shot=7, amplitude=2.0, phase=0.5)
    x = support_x()[:7]
    y = 2.0 * torch.sin(x - 0.5)
    grid = torch.tensor(result.grid, dtype=torch.float32).reshape(-1, 1)
    truth = 2.0 * torch.sin(grid - 0.5)
    assert np.allclose(result.x_support, x[:, 0].numpy())
    assert np.allclose(result.y_support, y[:, 0].numpy())
    for name, theta in nets.items():
        phi = adapt(theta, batch_mse, (x, y), 0.05, 3)
        assert np.allclose(result.curves[name], forward(phi, grid)[:, 0].numpy(), atol=1e-5)
        assert np.allclose(result.start[name], forward(theta, grid)[:, 0].numpy(), atol=1e-6)
        assert result.errors[name].shape == (11,)
        assert result.errors[name][3] == pytest.approx(
            float(((forward(phi, grid) - truth) ** 2).mean()), rel=1e-4)
        assert result.error(name) == result.errors[name][3]
    zero = adapt_on_task(nets, alpha=0.05, steps=0, k_shot=7, amplitude=2.0, phase=0.5)
    for name in nets:
        assert np.array_equal(zero.curves[name], zero.start[name])


def test_the_steps_slider_picks_the_library_s_adaptation_after_that_many_steps():
    """The panel and evaluate_adaptation share one step loop: the same errors (up to float
    rounding: the panel vmaps over the learners, the evaluation over the tasks)."""
    nets = thetas()
    x = support_x()[:10]
    y = 3.0 * torch.sin(x - 1.0)
    grid = torch.linspace(-5, 5, 201).reshape(-1, 1)
    truth = 3.0 * torch.sin(grid - 1.0)
    errors = evaluate_adaptation(nets["MAML"], batch_mse, (x[None], y[None]),
                                 (grid[None], truth[None]), 0.02, 10)[0]
    first = adapt_on_task(nets, 0.02, 0, 10, 3.0, 1.0)
    np.testing.assert_allclose(first.errors["MAML"], errors, rtol=1e-6)
    for steps in (1, 4, 10):  # the slider only picks a step of the same path
        result = adapt_on_task(nets, 0.02, steps, 10, 3.0, 1.0)
        assert np.array_equal(result.errors["MAML"], first.errors["MAML"])
        assert result.error("MAML") == first.errors["MAML"][steps]


def test_more_shots_add_points_instead_of_reshuffling():
    nets = thetas()
    five = adapt_on_task(nets, 0.01, 1, 5, 3.0, 1.0)
    twenty = adapt_on_task(nets, 0.01, 1, MAX_K, 3.0, 1.0)
    assert np.array_equal(twenty.x_support[:5], five.x_support)


@pytest.mark.parametrize(("field", "value", "message"), [
    ("alpha", 0.0, "alpha must be"), ("steps", 11, "steps must be"),
    ("k_shot", 0, "k_shot must be"), ("amplitude", 6.0, "amplitude must be"),
    ("phase", 4.0, "phase must be"),
])
def test_out_of_range_values_name_the_parameter(field, value, message):
    kwargs = dict(alpha=0.01, steps=1, k_shot=10, amplitude=3.0, phase=1.0) | {field: value}
    with pytest.raises(ValueError, match=message):
        adapt_on_task(thetas(), **kwargs)


def test_an_absurd_alpha_is_reported_not_plotted_as_nan():
    with pytest.raises(ValueError, match=r"alpha=.* far too large"):
        adapt_on_task(thetas(), alpha=1e12, steps=10, k_shot=10, amplitude=5.0, phase=1.0)


def test_compare_methods_is_evaluate_adaptation_per_method():
    nets = thetas()
    tasks = held_out_tasks(5, k_query=10)
    errors = compare_methods(nets, tasks, alpha=0.02, max_steps=4)
    assert set(errors) == set(nets)
    for name, theta in nets.items():
        expected = evaluate_adaptation(theta, batch_mse, tasks.support, tasks.query, 0.02, 4)
        assert np.array_equal(errors[name], expected)


def test_panel_sliders_and_blitted_picture_equals_a_full_render():
    panel = adaptation_panel(thetas())
    assert set(panel.sliders) == {"alpha", "steps", "k_shot", "amplitude", "phase"}
    panel.set(steps=4, k_shot=15, amplitude=4.0)
    assert panel.result.steps == 4 and len(panel.result.x_support) == 15
    assert "after 4 steps of α = 0.01 on 15 points" in panel.readout.value
    assert blit_mismatch(panel) < 0.005


def test_panel_keeps_the_last_plot_when_alpha_explodes():
    panel = adaptation_panel(thetas())
    good = panel.result
    panel.set(alpha=0.3, steps=10, amplitude=5.0)
    if panel.error is not None:  # a diverging fit is reported in the readout ...
        assert "far too large" in panel.error and panel.result is good
    else:  # ... or, if it stays finite, plotted (clipped) with its huge error
        assert np.isfinite(panel.result.errors["MAML"]).all()
