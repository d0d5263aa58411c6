"""Chapter 02's sweep browser: the right cell is shown, off-grid values are refused."""


import numpy as np
import pytest
from blit_check import blit_mismatch

from mini_lib.artefacts.dqn_sweep import GRID, DQNSweep
from mini_lib.demos.ch02_dqn import overestimation_pairs, sweep_cell, sweep_panel
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


def test_overestimation_pairs_line_up_dqn_with_double_dqn():
    pairs = overestimation_pairs(synthetic_sweep())
    assert pairs.shape == (18, 2)
    assert np.all(pairs[:, 0] == 2.0) and np.all(pairs[:, 1] == 3.0)


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
