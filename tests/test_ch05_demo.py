"""Chapter 05's demo: the adaptation panel (right numbers, bad input refused, blitting = full
render, legible fonts), the blind baselines, gradient agreement and equal-budget reading."""

import math

import numpy as np
import pytest
import torch
from blit_check import blit_mismatch

from mini_lib.demos.ch05_maml import (
    MAX_K,
    adapt_on_task,
    adaptation_panel,
    blind_baselines,
    blind_errors,
    check_within,
    compare_methods,
    gradient_agreement,
    support_x,
    task_average,
)
from mini_lib.meta.functional import adapt, params_of
from mini_lib.meta.training import evaluate_adaptation
from mini_lib.tasks.sinusoid import SinusoidMLP, batch_mse, forward, held_out_tasks, sample_tasks


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


def test_panel_legends_and_tick_labels_are_at_least_12_points():
    panel = adaptation_panel(thetas())
    panel.set(steps=2)
    texts = [t for ax in panel.figure.axes
             for t in [*ax.get_xticklabels(), *ax.get_yticklabels(), *ax.get_legend().get_texts()]]
    assert texts and min(t.get_fontsize() for t in texts) >= 12


# --- what a learner can do without the task's points ------------------------------------------

def test_task_average_is_minus_1_62_cos_x_and_the_mean_over_tasks():
    x = np.linspace(-5, 5, 11)
    np.testing.assert_allclose(task_average(x), -(2 / math.pi) * 2.55 * np.cos(x), atol=1e-12)
    assert task_average(0.0) == pytest.approx(-1.6234, abs=1e-4)
    tasks = sample_tasks(200_000, 1, np.random.default_rng(0), dtype=torch.float64)
    y = tasks.curve(torch.tensor([0.0, 1.0, 2.5]))[..., 0].numpy()
    np.testing.assert_allclose(y.mean(axis=0), task_average([0.0, 1.0, 2.5]), atol=0.015)


def test_blind_baselines_match_the_closed_forms_and_monte_carlo():
    baselines = blind_baselines()
    mean_square_amplitude = (5.0**3 - 0.1**3) / (3 * 4.9)  # E[A²] for A ~ U[0.1, 5]
    zero = mean_square_amplitude / 2  # E[sin²(x − φ)] = 1/2: φ spans a period of sin²
    mean_cos_squared = 0.5 + math.sin(10) / 20  # E[cos² x] for x ~ U[−5, 5]
    average = zero - (2 / math.pi * 2.55) ** 2 * mean_cos_squared
    assert baselines["zero"] == pytest.approx(zero, rel=1e-10)
    assert baselines["average"] == pytest.approx(average, rel=1e-10)
    assert (round(baselines["zero"], 2), round(baselines["average"], 2)) == (4.25, 3.01)
    errors = blind_errors(held_out_tasks(20_000, k_query=20, seed=3, dtype=torch.float64))
    for name in ("zero", "average"):  # standard error of these means ≈ 0.03
        assert errors[name].mean() == pytest.approx(baselines[name], abs=0.1)


def test_blind_errors_score_the_query_points():
    tasks = held_out_tasks(4, k_query=7)
    errors = blind_errors(tasks)
    x, y = tasks.query
    for i in range(4):
        xi, yi = x[i, :, 0].double().numpy(), y[i, :, 0].double().numpy()
        assert errors["zero"][i] == pytest.approx(np.mean(yi**2))
        assert errors["average"][i] == pytest.approx(np.mean((yi - task_average(xi)) ** 2))


def test_gradient_agreement_is_cosine_and_norm_ratio():
    g = {"a": torch.tensor([1.0, 2.0]), "b": torch.tensor([[2.0]])}
    assert gradient_agreement(g, g) == pytest.approx((1.0, 1.0))
    assert gradient_agreement(g, {k: -3 * v for k, v in g.items()}) == pytest.approx((-1.0, 3.0))
    orthogonal = {"a": torch.tensor([2.0, -1.0]), "b": torch.tensor([[0.0]])}
    cosine, ratio = gradient_agreement(g, orthogonal)
    assert cosine == pytest.approx(0.0) and ratio == pytest.approx(math.sqrt(5) / 3)


def fake_run() -> dict:
    return {"m.check_iterations": torch.tensor([500, 1000, 1500]),
            "m.check_mse": torch.tensor([3.0, 2.0, 1.0]), "m.losses": torch.zeros(1500),
            "m.seconds": torch.tensor(15.0)}


def test_check_within_reads_the_last_check_inside_the_budget():
    weights = fake_run()
    assert check_within(weights, "m", iterations=1499) == (1000, 2.0)
    assert check_within(weights, "m", iterations=1500) == (1500, 1.0)
    assert check_within(weights, "m", seconds=10.0) == (1000, 2.0)  # 10 ms per iteration
    with pytest.raises(ValueError, match="no stored check"):
        check_within(weights, "m", seconds=4.0)
