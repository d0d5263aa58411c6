"""Chapter 03's panels: the sweep browser shows the right cell, the live variance demo is
correct (a baseline lowers the variance, a batch of B episodes divides it by B) and fast."""


import numpy as np
import pytest
from blit_check import blit_mismatch

from mini_lib.artefacts.pg_sweep import GRID, QUANTITIES, PGSweep
from mini_lib.demos.ch03_policy_gradient import (
    BASELINES,
    BATCH_SIZES,
    seed_means,
    separated,
    sweep_cell,
    sweep_panel,
    variance_demo,
    variance_panel,
)


def synthetic_sweep() -> PGSweep:
    """Every number encodes its own grid position, so a wrong lookup is visible."""
    n_lr, n_gamma = len(GRID["learning_rate"]), len(GRID["gamma"])
    reinforce = np.zeros((n_lr, n_gamma, len(GRID["baseline"]), 3, len(QUANTITIES), 6))
    actor_critic = np.zeros((n_lr, n_gamma, len(GRID["gae_lambda"]), 3, len(QUANTITIES), 6))
    for index in np.ndindex(*reinforce.shape[:4]):
        lr, gamma, baseline, seed = index
        reinforce[index] = 100 * lr + 10 * gamma + baseline + 0.01 * seed
    for index in np.ndindex(*actor_critic.shape[:4]):
        lr, gamma, lam, seed = index
        actor_critic[index] = 100 * lr + 10 * gamma + lam + 0.01 * seed + 0.5
    axes = {name: np.array(values, dtype=float) for name, values in GRID.items()}
    return PGSweep(axes, reinforce, actor_critic, 1500 * np.arange(1, 7), np.arange(3))


def test_sweep_cell_picks_the_requested_grid_points():
    cell = sweep_cell(synthetic_sweep(), learning_rate=3e-2, gamma=0.99, baseline=False,
                      gae_lambda=1.0)
    assert cell.reinforce[:, 0, 0] == pytest.approx([210.0, 210.01, 210.02])
    assert cell.actor_critic[:, 1, -1] == pytest.approx([212.5, 212.51, 212.52])
    assert cell.n_solved(cell.reinforce) == 0


def test_off_grid_values_are_refused_with_the_grid():
    with pytest.raises(ValueError, match=r"gamma must be one of the swept values "
                                         r"\[0.9, 0.99, 1.0\]"):
        sweep_cell(synthetic_sweep(), learning_rate=3e-3, gamma=0.95, baseline=True,
                   gae_lambda=0.95)


def test_sweep_panel_browses_and_blits_the_same_picture_as_a_full_render():
    panel = sweep_panel(synthetic_sweep())
    assert set(panel.sliders) == set(GRID)
    panel.set(learning_rate=3e-4, baseline=False, gae_lambda=0.0)
    assert panel.result.reinforce[0, 0, 0] == pytest.approx(10.0)  # γ 0.99 is index 1
    assert "baseline off" in panel.readout.value and "λ = 0" in panel.readout.value
    assert blit_mismatch(panel) < 0.005


def test_a_baseline_lowers_the_variance_and_batches_divide_it():
    result = variance_demo(batch_size=16, baseline="V(s)", gamma=0.9)
    none, constant, value = result.variance
    assert np.all(value < none) and np.all(constant < none)
    assert result.ratio > 2.0
    # Var(mean of B) = Var(one) / B, up to the Monte-Carlo error of the measurement.
    scaled = none * np.array(BATCH_SIZES)
    assert np.all(np.abs(scaled / scaled[0] - 1) < 0.35), scaled / scaled[0]
    assert result.uphill > 0.9 and len(result.cosines) == 4096 // 16


def test_larger_gamma_means_a_larger_gradient_and_a_larger_absolute_variance():
    short = variance_demo(batch_size=1, baseline="none", gamma=0.5)
    long = variance_demo(batch_size=1, baseline="none", gamma=0.99)
    assert long.variance[0, 0] > 10 * short.variance[0, 0]
    assert long.grad_norm > 10 * short.grad_norm


def test_relative_variance_divides_by_the_squared_gradient_norm():
    result = variance_demo(batch_size=16, baseline="none", gamma=0.9)
    assert result.relative == pytest.approx(result.variance / result.grad_norm**2)
    assert result.relative_variance == pytest.approx(result.chosen_variance
                                                     / result.grad_norm**2)
    assert result.mean_cosine == pytest.approx(result.cosines.mean())
    assert -1.0 <= result.cosines.min() and result.cosines.max() <= 1.0
    # Same estimates, same batches: the ratio is the variance ratio at this batch size.
    k = BATCH_SIZES.index(16)
    assert result.ratio == pytest.approx(1.0)
    assert variance_demo(16, "V(s)", 0.9).ratio == pytest.approx(
        result.variance[0, k] / result.variance[2, k])


def test_a_zero_gradient_has_no_relative_variance():
    result = variance_demo(batch_size=4, baseline="none", gamma=0.0)  # only the start state
    assert result.grad_norm == 0.0 and np.all(np.isnan(result.relative))


def test_separated_needs_every_seed_of_one_cell_above_every_seed_of_the_other():
    def cell(*seed_scores):
        curves = np.zeros((len(seed_scores), 2, 4))
        curves[:, 0] = np.array(seed_scores)[:, None]
        return curves

    assert seed_means(cell(100, 200, 300)) == pytest.approx([100, 200, 300])
    assert separated(cell(301, 400, 500), cell(100, 200, 300))
    assert not separated(cell(250, 400, 500), cell(100, 200, 300))
    with_nan = cell(100, 200, 300)
    with_nan[0, 0, :2] = np.nan  # a diverged run scores 0 from there on
    assert seed_means(with_nan)[0] == pytest.approx(50.0)


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="baseline must be one of"):
        variance_demo(baseline="median")
    with pytest.raises(ValueError, match="batch_size must be one of"):
        variance_demo(batch_size=3)


def test_variance_panel_recomputes_on_a_new_gamma_and_blits_correctly():
    """Timing (≤ 1 s per recompute) is measured by benchmarks/slider_redraw.py, not here."""
    panel = variance_panel()
    assert set(panel.sliders) == {"batch_size", "baseline", "gamma"}
    panel.set(gamma=0.8, baseline=BASELINES[2], batch_size=64)  # new γ: a full recompute
    assert "batch of 64, baseline V(s)" in panel.readout.value
    assert blit_mismatch(panel) < 0.005
