"""Chapter 04's panels and demo functions: the sweep browser shows the requested cell over
the tuned one, solved steps are read off correctly, a batch from many envs is more varied."""

import numpy as np
import pytest
from blit_check import blit_mismatch

from mini_lib.artefacts.a3c_sweep import ESTIMATORS, GRID, PANELS, QUANTITIES, A3CSweep
from mini_lib.demos.ch04_a3c import (
    BASE,
    batch_diversity,
    cell_summary,
    first_solved,
    sweep_cell,
    sweep_panel,
)

N_EVALS = 6


def synthetic_sweep() -> A3CSweep:
    """Every number encodes its own panel and grid position, so a wrong lookup is visible."""
    panels = {}
    for k, (panel, (first, second)) in enumerate(PANELS.items()):
        shape = (len(GRID[first]), len(GRID[second]), 3, len(QUANTITIES), N_EVALS)
        curves = np.zeros(shape)
        for i, j, seed in np.ndindex(*shape[:3]):
            curves[i, j, seed] = 1000 * k + 100 * i + 10 * j + seed
        panels[panel] = curves
    axes = {name: np.array(values, dtype=float) for name, values in GRID.items()}
    estimators = np.zeros((len(ESTIMATORS), 5, len(QUANTITIES), N_EVALS))
    return A3CSweep(axes, panels, estimators, tuple(ESTIMATORS), 2500 * np.arange(1, N_EVALS + 1))


def test_sweep_cell_picks_the_requested_cell_and_the_tuned_one():
    cell = sweep_cell(synthetic_sweep(), "rollout_lr", t_max=128, learning_rate=1e-3)
    assert cell.curves[:, 0, 0] == pytest.approx([300, 301, 302])  # t_max index 3, lr index 0
    base_i = GRID["t_max"].index(BASE["t_max"])
    base_j = GRID["learning_rate"].index(BASE["learning_rate"])
    assert cell.base[0, 0, 0] == pytest.approx(100 * base_i + 10 * base_j)
    stale = sweep_cell(synthetic_sweep(), "staleness", workers=4, staleness=15)
    assert stale.curves[2, 1, -1] == pytest.approx(2000 + 100 + 30 + 2)


def test_off_grid_values_and_unknown_panels_are_refused():
    with pytest.raises(ValueError, match=r"t_max must be one of the swept values"):
        sweep_cell(synthetic_sweep(), "rollout_lr", t_max=16, learning_rate=1e-3)
    with pytest.raises(ValueError, match="panel must be one of"):
        sweep_panel(synthetic_sweep(), "workers")


def test_first_solved_reads_the_first_evaluation_at_or_above_475():
    curves = np.zeros((3, 2, 4))
    curves[0, 0] = [100, 475, 200, 500]
    curves[1, 0] = [np.nan, np.nan, 480, 500]
    curves[2, 0] = [474.9, 10, 10, 10]
    steps = np.array([2500, 5000, 7500, 10000])
    assert first_solved(curves, steps) == [5000, 7500, None]


def test_the_summary_names_the_knobs_and_each_seed():
    text = cell_summary(sweep_cell(synthetic_sweep(), "rollout_lr", t_max=4, learning_rate=1e-3))
    assert text.startswith("t_max = 4, learning rate = 1e-03:")
    assert text.count("never 475 (final 0)") == 1 and text.count("never 475") == 3
    high = cell_summary(sweep_cell(synthetic_sweep(), "gamma_entropy", gamma=1.0,
                                   entropy_coef=0.0))
    assert high.startswith("γ = 1, entropy coefficient β = 0:")
    assert high.count("475 at 2k") == 3  # values ≥ 1000 reach the bar at the first evaluation


@pytest.mark.parametrize("panel", list(PANELS))
def test_panels_browse_and_blit_the_same_picture_as_a_full_render(panel):
    widget = sweep_panel(synthetic_sweep(), panel)
    first, second = PANELS[panel]
    assert set(widget.sliders) == {first, second}
    widget.set(**{first: GRID[first][-1], second: GRID[second][0]})
    assert widget.result.values == {first: GRID[first][-1], second: GRID[second][0]}
    assert blit_mismatch(widget) < 0.005


def test_a_batch_from_many_envs_covers_more_of_the_state_variance():
    one, four, many = (batch_diversity(n, t, n_batches=60) for n, t in ((1, 32), (4, 8),
                                                                        (32, 1)))
    assert one < 0.6 < four < many <= 1.0
    with pytest.raises(ValueError, match="n_envs"):
        batch_diversity(0, 8)


def test_stale_gradient_alignment_is_exactly_one_without_staleness():
    from dataclasses import replace

    from mini_lib.demos.ch04_a3c import stale_gradient_alignment
    from mini_lib.policy_gradient.config import CARTPOLE_A2C

    cosines = stale_gradient_alignment(replace(CARTPOLE_A2C, learning_rate=1e-2), (0, 8),
                                       updates=20, n_envs=2)
    assert len(cosines[0]) == len(cosines[8]) == 20 - 8
    assert np.allclose(cosines[0], 1.0, atol=1e-6)  # the same parameters, the same rollout
    assert np.all(cosines[8] <= 1.0 + 1e-6) and np.all(cosines[8] >= -1.0 - 1e-6)
    assert cosines[8].mean() < 1.0 - 1e-4  # eight Adam steps at 1e-2 do move the gradient
    with pytest.raises(ValueError, match="updates"):
        stale_gradient_alignment(CARTPOLE_A2C, (0, 8), updates=5)
