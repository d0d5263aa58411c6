"""Chapter 07's demo: the tuned baselines, the belief probe and trace, and the trial panel
(the library's numbers, bad input refused, a picture drawn)."""

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from mini_lib.bandits.baselines import UCB1, EpsilonGreedy, run_policy
from mini_lib.demos.ch07_rl2 import (
    BASELINES,
    C_GRID,
    EPSILON_GRID,
    baseline_table,
    belief_trace,
    evaluation_tasks,
    probe_agent,
    tuned_baselines,
)
from mini_lib.demos.ch07_trial_panel import REPLAYS, TrialLab, TrialPlot, trial_panel
from mini_lib.rl2.belief import fit_probe, posterior_means
from mini_lib.rl2.policy import RecurrentActorCritic
from mini_lib.rl2.trials import play_trials


def small_agent(seed=0, k=3):
    torch.manual_seed(seed)
    model = RecurrentActorCritic(k, 8)
    trials = play_trials(model, evaluation_tasks(50, k), 6, torch.Generator().manual_seed(0))
    return model, fit_probe(trials.states, posterior_means(trials.actions, trials.rewards, k))


def test_tuned_baselines_choose_their_parameters_from_the_grids():
    policies = tuned_baselines(10, 3, n_validation=200)
    assert tuple(policies) == BASELINES
    assert isinstance(policies["UCB1"], UCB1) and policies["UCB1"].c in C_GRID
    assert isinstance(policies["ε-greedy"], EpsilonGreedy)
    assert policies["ε-greedy"].epsilon in EPSILON_GRID


def test_the_baseline_table_is_run_policy_on_the_test_bandits():
    columns = baseline_table(10, 3, n_tasks=300)
    thompson = tuned_baselines(10, 3)["Thompson"]
    expected = run_policy(thompson, evaluation_tasks(300, 3), 10, np.random.default_rng(0))
    np.testing.assert_array_equal(columns["Thompson"], expected)
    assert columns["Gittins"].mean() > columns["Random"].mean()


def test_probe_agent_scores_held_out_trials_and_the_trace_is_consistent():
    model, _ = small_agent()
    fit = probe_agent(model, 6, n_trials=100)
    assert fit.r2_held_out <= 1.0 and fit.r2_fit >= fit.r2_held_out - 0.2
    trace = belief_trace(model, fit.probe, [0.2, 0.5, 0.8], 6, seed=3)
    assert trace.decoded.shape == trace.posterior.shape == trace.policy.shape == (6, 3)
    np.testing.assert_allclose(trace.posterior[0], 0.5)
    np.testing.assert_allclose(trace.policy.sum(1), 1.0, rtol=1e-5)
    wins = sum(trace.rewards[t] for t in range(5) if trace.arms[t] == trace.arms[0])
    pulls = sum(1 for t in range(5) if trace.arms[t] == trace.arms[0])
    assert trace.posterior[5, trace.arms[0]] == pytest.approx((1 + wins) / (2 + pulls))


def test_the_lab_replays_the_same_bandit_and_clips_the_pull():
    lab = TrialLab({"a": small_agent(0), "b": small_agent(1)})
    view = lab.view("a", 2, 6, pull=99)
    assert view.pull == 6 and view.trace.probs.tolist() == evaluation_tasks(20, 3)[2].tolist()
    assert set(view.mean_rewards) == {"RL² agent", "Thompson", "UCB1", "Gittins"}
    for means in view.mean_rewards.values():
        assert means.shape == (6,) and np.all((means >= 0) & (means <= 1))
    assert lab.view("a", 2, 6, pull=1).mean_rewards is view.mean_rewards  # cached
    # the classics' per-pull means over REPLAYS replays average to the bandit's mean at pull 1
    assert abs(view.mean_rewards["Thompson"][0] - view.trace.probs.mean()) < 4 / np.sqrt(REPLAYS)
    for bad, name in [(lambda: lab.view("c", 0, 6, 1), "agent"),
                      (lambda: lab.view("a", 20, 6, 1), "bandit"),
                      (lambda: lab.view("a", 0, 0, 1), "n_pulls")]:
        with pytest.raises(ValueError, match=rf"^{name} "):
            bad()


def test_the_panel_draws_three_labelled_axes():
    lab = TrialLab({"a": small_agent(0)})
    figure = Figure()
    TrialPlot()(lab.view("a", 0, 6, 3), figure)
    assert len(figure.axes) == 3 and all(ax.get_xlabel() for ax in figure.axes)
    panel = trial_panel(lab)
    assert panel.result.pull == 1 and panel.png.startswith(b"\x89PNG")
