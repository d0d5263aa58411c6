"""Chapter 01's pure slider functions, its panel driven programmatically, and the band plot."""

import math

import numpy as np
import pytest
from matplotlib.figure import Figure

from mini_lib.demos.ch01_q_learning import cliff_experiment, cliff_panel, maximization_bias
from mini_lib.ui.plotting import plot_mean_and_band


def test_cliff_experiment_shows_safe_sarsa_and_edge_q_learning_at_epsilon_0_1():
    result = cliff_experiment(alpha=0.5, gamma=1.0, epsilon=0.1)
    sarsa_path, q_path = result.paths["Sarsa"], result.paths["Q-learning"]
    assert len(q_path) - 1 == 13 and {s // 12 for s in q_path[1:-1]} == {2}
    assert len(sarsa_path) - 1 > 13 and min(s // 12 for s in sarsa_path) <= 1
    assert result.tail_mean("Sarsa") > result.tail_mean("Q-learning") + 10
    assert result.values["Sarsa"].shape == (48,)


def test_both_reach_the_optimal_path_as_epsilon_goes_to_zero():
    result = cliff_experiment(alpha=0.5, gamma=1.0, epsilon=0.0)
    assert len(result.paths["Sarsa"]) - 1 == len(result.paths["Q-learning"]) - 1 == 13
    assert result.tail_mean("Sarsa") == pytest.approx(-13, abs=0.5)
    assert result.tail_mean("Q-learning") == pytest.approx(-13, abs=0.5)


def test_cliff_panel_tracks_its_sliders():
    panel = cliff_panel()
    assert panel.result.alpha == 0.5 and panel.result.epsilon == pytest.approx(0.1)
    result = panel.set(alpha=0.2, epsilon=0.0)
    direct = cliff_experiment(alpha=panel.values["alpha"], gamma=1.0, epsilon=0.0)
    assert np.array_equal(result.results["Sarsa"].returns, direct.results["Sarsa"].returns)
    assert "Sarsa" in panel.readout.value and panel.png.startswith(b"\x89PNG")
    assert not math.isnan(panel.last_redraw_ms)


def test_maximization_bias_small_run_has_the_right_shape_and_direction():
    left = maximization_bias(n_runs=500, n_episodes=30)
    assert set(left) == {"Q-learning", "Double Q-learning"}
    assert left["Q-learning"].shape == (30,)
    assert left["Q-learning"][5:30].mean() > left["Double Q-learning"][5:30].mean() + 20


def test_plot_mean_and_band_draws_the_mean_and_refuses_unknown_bands():
    ax = Figure().subplots()
    runs = np.array([[0.0, 1.0, 2.0, 3.0], [2.0, 3.0, 4.0, 5.0]])
    line = plot_mean_and_band(ax, runs, smooth=2)
    assert np.allclose(line.get_ydata(), [1.5, 2.5, 3.5])  # mean of 2-episode moving averages
    assert np.allclose(line.get_xdata(), [2, 3, 4])
    with pytest.raises(ValueError, match="band must be 'sem' or 'std'"):
        plot_mean_and_band(ax, runs, band="iqr")
