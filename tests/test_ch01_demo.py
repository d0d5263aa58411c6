"""Chapter 01's pure slider functions, its panel driven programmatically, and the band plot."""

import math

import numpy as np
import pytest
from matplotlib.figure import Figure

from mini_lib.demos.ch01_q_learning import (
    FIG_6_5_PEAK,
    FIG_6_5_REFERENCE,
    article_q_learning,
    cliff_experiment,
    cliff_panel,
    cliff_value_iteration,
    draw_cliff,
    greedy_start,
    maximization_bias,
    terminal_targets,
)
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


def test_figure_6_5_reference_is_the_stated_10000_run_simulation():
    left = maximization_bias(n_runs=10_000, n_episodes=300, seed=0)
    for name, points in FIG_6_5_REFERENCE.items():
        for episode, percent in points.items():
            assert left[name][episode - 1] == pytest.approx(percent, abs=0.006)
        assert left[name][:50].max() == pytest.approx(FIG_6_5_PEAK[name], abs=0.006)


def test_cliff_value_iteration_gives_the_13_step_optimum():
    solution = cliff_value_iteration(1.0)
    assert solution.V[36] == pytest.approx(-13.0) and solution.V[47] == 0.0
    assert solution.Q[:47].max() == pytest.approx(-1.0)  # all true values ≤ −1: Q₀ = 0 optimistic
    assert cliff_value_iteration(0.99).V[36] == pytest.approx(-(1 - 0.99**13) / 0.01)


def test_greedy_learners_explore_from_an_optimistic_start_and_stall_from_a_pessimistic_one():
    optimistic, pessimistic = greedy_start(0.0, n_runs=40), greedy_start(-100.0, n_runs=40)
    for name in ("Sarsa", "Q-learning"):
        assert optimistic.optimal_share(name) == 1.0
        assert pessimistic.optimal_share(name) < 0.8
        assert pessimistic.settled[name].all()  # those on a longer path stay on it
        assert (pessimistic.path_steps[name] >= 13).all()


def test_article_target_is_harmless_from_zero_and_adds_the_phantom_from_any_other_start():
    zero = terminal_targets(0.0, n_runs=1, n_episodes=150)
    assert np.array_equal(zero.tables["article"], zero.tables["correct"])
    ten = terminal_targets(10.0, n_runs=1, n_episodes=300)
    assert ten.path_error("correct") < 1e-9  # the correct target reaches V* on the path
    phantom = ten.start_value("article") - ten.optimal.V[36]
    assert phantom == pytest.approx(0.99**13 * 10.0, abs=1e-6)
    assert ten.path_error("article") == pytest.approx(0.99 * 10.0, abs=1e-6)  # next to the goal


def test_article_loop_learns_the_edge_path_like_the_library():
    Q = article_q_learning(bootstrap_after_done=False, gamma=1.0, n_episodes=200, seed=1)
    assert Q[36].max() == pytest.approx(-13.0)
    assert Q[47].tolist() == [0.0] * 4  # the goal's row is never updated


def test_draw_cliff_draws_up_to_three_paths_side_by_side():
    ax = Figure().subplots()
    paths = {"Sarsa": [36, 24], "Q-learning": [36, 24], "Expected Sarsa": [36, 24]}
    draw_cliff(ax, None, paths)
    offsets = [line.get_ydata()[0] - 3 for line in ax.get_lines()]
    assert len(offsets) == 3 and offsets == sorted(set(offsets))
