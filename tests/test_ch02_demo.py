"""Chapter 02's demos: the sweep browser shows the right cell and refuses off-grid values; the
sweep summaries read the right runs; the max of noisy estimates is biased and the double
estimator is not; the article's reset-every-step loop never stores a terminal transition."""

import math

import numpy as np
import pytest
from blit_check import blit_mismatch
from matplotlib.figure import Figure

from mini_lib.artefacts.dqn_sweep import GRID, DQNSweep
from mini_lib.demos.ch02_dqn import (
    PUBLISHED_CARTPOLE,
    end_ratios,
    expected_max_of_normals,
    max_bias,
    max_estimates,
    plot_ablations,
    replay_contents,
    runaway,
    sweep_cell,
    sweep_panel,
)
from mini_lib.ui.widgets import Choice


def synthetic_sweep() -> DQNSweep:
    """Every number encodes its own grid position, so a wrong lookup is visible."""
    shape = (*(len(v) for v in GRID.values()), 3, 3, 8)
    curves = np.zeros(shape)
    for index in np.ndindex(*shape[:5]):
        lr, gamma, period, double, seed = index
        curves[index][0] = 100 * lr + 10 * gamma + period + 0.1 * double + 0.01 * seed
        curves[index][1] = 2.0 + double  # estimate
        curves[index][2] = 1.0           # truth
    axes = {name: np.array(values, dtype=float) for name, values in GRID.items()}
    return DQNSweep(axes, curves, 2000 * np.arange(1, 9), np.arange(3))


def test_sweep_cell_picks_the_requested_grid_point():
    cell = sweep_cell(synthetic_sweep(), learning_rate=2.3e-2, gamma=0.99,
                      target_update_every=1, double_dqn=True)
    assert cell.scores[:, 0] == pytest.approx([210.1, 210.11, 210.12])
    assert cell.ratio == pytest.approx(np.full(8, 3.0))
    assert cell.n_solved == 0


def test_off_grid_values_are_refused_with_the_grid():
    with pytest.raises(ValueError, match=r"gamma must be one of the swept values \[0.9, 0.99\]"):
        sweep_cell(synthetic_sweep(), learning_rate=2.3e-3, gamma=0.95,
                   target_update_every=32, double_dqn=False)


def test_end_ratios_line_up_dqn_with_double_dqn_per_seed_and_drop_diverged_cells():
    sweep = synthetic_sweep()
    ratios = end_ratios(sweep)
    assert ratios.ratios.shape == (18, 2, 3) and len(ratios.cells) == 18
    assert np.all(ratios.ratios[:, 0] == 2.0) and np.all(ratios.ratios[:, 1] == 3.0)
    assert ratios.cells[0] == (2.3e-4, 0.9, 1) and ratios.cells[-1] == (2.3e-2, 0.99, 256)
    sweep.curves[2, 1, 0, 1, 2, 1, -1] = 1e4  # one run of (2.3e-2, 0.99, C = 1) diverges
    kept = end_ratios(sweep)
    assert len(kept.cells) == 17 and (2.3e-2, 0.99, 1) not in kept.cells


def test_runaway_compares_with_ten_times_the_largest_possible_return():
    sweep = synthetic_sweep()
    sweep.curves[0, 0, ..., 1, -1] = 99.0     # γ = 0.9: bound 10, 10 × bound = 100
    sweep.curves[0, 1, ..., 1, -1] = 101.0    # γ = 0.99: 10 × bound = 1000
    sweep.curves[1, 1, 0, 0, 0, 1, -1] = 1001.0
    flags = runaway(sweep)
    assert flags.shape == (3, 2, 3, 2, 3)
    assert not flags[0].any() and flags[1, 1, 0, 0, 0] and flags.sum() == 1


def test_the_max_of_unbiased_estimates_is_biased_upwards_and_the_double_estimator_is_not():
    bias = max_bias(n_actions=(1, 2, 8), n_trials=20_000, seed=0)
    assert np.all(np.abs(bias.double) < 4 * bias.double_se)
    assert abs(bias.single[0]) < 4 * bias.single_se[0]  # one action: no max, no bias
    assert np.all(np.abs(bias.single - bias.expected_single) < 4 * bias.single_se)
    assert bias.single[2] > 1.3 and bias.single[2] > 100 * bias.single_se[2]


def test_with_unequal_true_values_the_double_estimator_does_not_over_estimate():
    single, double = max_estimates([0.0, -0.5, -1.0], 1.0, 50_000, np.random.default_rng(1))
    assert single.mean() > 0.2
    assert double.mean() < 0.01  # van Hasselt 2010: E[double] ≤ max q (here it is below)
    with pytest.raises(ValueError, match="noise_std"):
        max_estimates([0.0], 0.0, 10, np.random.default_rng(0))


def test_expected_max_of_normals_matches_closed_forms():
    assert expected_max_of_normals(1) == pytest.approx(0.0, abs=1e-9)
    assert expected_max_of_normals(2) == pytest.approx(1 / math.sqrt(math.pi), rel=1e-6)
    assert expected_max_of_normals(3) == pytest.approx(1.5 / math.sqrt(math.pi), rel=1e-6)


def test_resetting_every_step_stores_only_start_states_and_no_termination():
    article = replay_contents(2000, reset_every_step=True)
    correct = replay_contents(2000, reset_every_step=False)
    assert article.terminal_fraction == 0.0 and article.max_abs_angle <= 0.05 + 1e-6
    assert correct.terminal_fraction > 0.02 and correct.max_abs_angle > 0.2


def test_identical_ablation_curves_are_drawn_apart_and_say_so():
    steps = 2000 * np.arange(1, 4)
    flat = np.full((3, 3, 3), 9.0)
    ablations = {"labels": np.array(["a", "b", "c"]), "steps": steps,
                 "curves": np.stack([flat + 100, flat, flat + 0.2])}
    ax = Figure().subplots()
    offsets = plot_ablations(ax, ablations, ("red", "green", "blue"), offset=15.0)
    assert offsets == [0.0, 0.0, 15.0]
    lines = ax.get_lines()
    assert lines[2].get_ydata()[0] == pytest.approx(24.2)
    assert lines[1].get_linestyle() != lines[2].get_linestyle()
    assert "(on b: drawn 15 higher)" in ax.get_legend_handles_labels()[1][2]


def test_published_results_are_the_cited_ones():
    assert [(p.steps, p.result) for p in PUBLISHED_CARTPOLE] == [
        (50_000, "500 ± 0"), (500_000, "488.7 ± 16.1")]


def test_panel_browses_the_sweep_and_blits_the_same_picture_as_a_full_render():
    panel = sweep_panel(synthetic_sweep())
    assert set(panel.sliders) == set(GRID)
    panel.set(learning_rate=2.3e-4, double_dqn=True)
    assert panel.result.scores[0, 0] == pytest.approx(10 * 1 + 1 + 0.1)  # γ 0.99, C 32: index 1
    assert "solved (≥ 475) by 0 of 3 seeds" in panel.readout.value
    assert blit_mismatch(panel) < 0.005


def test_choice_refuses_a_default_that_is_not_an_option():
    with pytest.raises(ValueError, match=r"default must be one of \(1, 2\), got 3"):
        Choice("c", (1, 2), 3)
