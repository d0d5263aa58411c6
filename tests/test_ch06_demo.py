"""Chapter 06's demo: the adaptation panel (the library's numbers, bad input refused, a
picture drawn), the path drawing and the Fig. 5 rows read from the stored file."""

import numpy as np
import pytest
import torch

from mini_lib.artefacts.maml_nav import load_policies
from mini_lib.demos.ch06_maml_rl import (
    MAX_STEPS,
    PAPER_FIG5,
    adapt_to_goal,
    adaptation_panel,
    fig5_rows,
)
from mini_lib.meta.functional import params_of
from mini_lib.tasks.navigation import NavigationPolicy
from mini_lib.tasks.navigation_training import evaluate_adaptation


def learners() -> dict:
    out = {}
    for seed, name in enumerate(("MAML", "pretrained")):
        torch.manual_seed(seed)
        model = NavigationPolicy((16, 16))
        out[name] = (model, params_of(model))
    return out


def test_the_panel_s_returns_are_the_library_s_evaluation_on_that_goal():
    nets = learners()
    result = adapt_to_goal(nets, alpha=0.2, steps=2, goal_x=0.3, goal_y=-0.1, trajectories=8)
    goal = np.array([[0.3, -0.1]], dtype=np.float32)
    for name, (model, params) in nets.items():
        expected = evaluate_adaptation(model, params, goal, 8, 0.2, MAX_STEPS)
        np.testing.assert_allclose(result.returns[name], expected, rtol=1e-6)
        assert result.mean_return(name) == result.returns[name][2]
        positions, mask = result.paths[name]
        assert positions.shape[1:] == (100, 2) and mask.shape == positions.shape[:2]
        assert np.all(positions[:, 0] == 0)  # every episode starts at the origin
    again = adapt_to_goal(nets, alpha=0.2, steps=2, goal_x=0.3, goal_y=-0.1, trajectories=8)
    assert all(np.array_equal(again.returns[n], result.returns[n]) for n in nets)
    zero = adapt_to_goal(nets, alpha=0.2, steps=0, goal_x=0.3, goal_y=-0.1, trajectories=8)
    for name in nets:
        assert np.array_equal(zero.paths[name][0], zero.start[name][0])


@pytest.mark.parametrize(("setting", "value"), [("alpha", 0.0), ("alpha", 20.0),
                                                ("steps", 6), ("steps", 1.5),
                                                ("trajectories", 1), ("goal_x", 0.7),
                                                ("goal_y", -0.51)])
def test_bad_slider_values_are_refused_naming_the_parameter(setting, value):
    values = dict(alpha=0.1, steps=1, goal_x=0.0, goal_y=0.0, trajectories=4) | {setting: value}
    with pytest.raises(ValueError, match=setting):
        adapt_to_goal(learners(), **values)


def test_the_panel_draws_and_follows_its_sliders():
    panel = adaptation_panel(learners(), trajectories=4)
    assert panel.error is None and panel.png.startswith(b"\x89PNG")
    result = panel.set(steps=3, goal_x=-0.4)
    assert result.steps == 3 and result.goal[0] == pytest.approx(-0.4)
    axes = panel.figure.axes
    assert [ax.get_xlabel() for ax in axes] == ["x position", "x position",
                                                "policy-gradient steps"]
    assert axes[-1].get_ylabel() == "mean return (100 steps)"


def test_the_stored_fig5_rows_cover_the_paper_s_rows():
    rows = fig5_rows(load_policies())
    assert set(PAPER_FIG5) <= set(rows)
    for returns, alphas in rows.values():
        assert returns.shape == (4,) and alphas.shape == (3,) and np.all(returns < 0)
