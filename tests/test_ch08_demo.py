"""Chapter 08's demo functions: intervals, per-goal evaluations, the two panels' views."""

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from mini_lib.demos.ch08_families import (
    cavia_returns,
    context_returns,
    given_returns,
    held_out_goals,
    maml_returns,
    mean_interval,
    returns_against_context,
)
from mini_lib.demos.ch08_panels import (
    adapt_by_gradient,
    context_panel,
    draw_context,
    draw_gradient,
    gradient_panel,
    read_context,
)
from mini_lib.meta.functional import params_of
from mini_lib.tasks.navigation import NavigationPolicy
from mini_lib.tasks.navigation_context import FamilyLearner

GOALS = held_out_goals()[:3]


@pytest.fixture(scope="module")
def learners():
    torch.manual_seed(0)
    maml = NavigationPolicy((8,))
    return {"goal": FamilyLearner("goal", "hyper", 2, hidden=(8,), hyper_hidden=(8,)),
            "context": FamilyLearner("context", "concat", 3, hidden=(8,)),
            "cavia": FamilyLearner("cavia", "concat", 5, hidden=(8,)),
            "maml": (maml, params_of(maml))}


def test_mean_interval_is_1_96_standard_errors():
    values = np.array([1.0, 2.0, 3.0, 4.0])
    mean, half = mean_interval(values)
    assert mean == 2.5 and half == pytest.approx(1.96 * np.std(values, ddof=1) / 2)
    with pytest.raises(ValueError, match=r"^values "):
        mean_interval(np.array([1.0]))


def test_held_out_goals_are_chapter_06_s_test_goals():
    from mini_lib.artefacts.maml_nav import fig5_goals

    assert np.array_equal(held_out_goals(), fig5_goals()) and held_out_goals().shape == (40, 2)


def test_per_goal_evaluations_have_one_entry_per_goal_and_are_seeded(learners):
    given = given_returns(learners["goal"], GOALS, trajectories=3)
    assert given.shape == (3,) and np.array_equal(given, given_returns(learners["goal"], GOALS,
                                                                       trajectories=3))
    result = context_returns(learners["context"], GOALS, 10, trajectories=3)
    assert result.returns.shape == (3,) and result.context.mask.sum(dim=1).max() == 10
    assert returns_against_context(learners["context"], GOALS, (0, 5)).shape == (2, 3)
    assert cavia_returns(learners["cavia"], GOALS, 1.0, 2, trajectories=3).shape == (3, 3)
    assert maml_returns(*learners["maml"], GOALS, 0.1, 1, trajectories=3).shape == (2, 3)
    with pytest.raises(ValueError, match=r"^learner must take the goal"):
        given_returns(learners["context"], GOALS)
    with pytest.raises(ValueError, match=r"^n_transitions "):
        context_returns(learners["context"], GOALS, 101)


def test_the_context_view_reads_prefixes_of_one_episode(learners):
    view = read_context(learners["context"], 5, 0.3, -0.2, trajectories=3)
    assert view.errors.shape == view.spreads.shape == (101,)
    assert view.spreads[0] == pytest.approx(1.0)  # no context: the prior N(0, I)
    assert np.all(np.diff(view.spreads) <= 1e-6)  # every transition narrows the belief
    again = read_context(learners["context"], 50, 0.3, -0.2, trajectories=3)
    np.testing.assert_allclose(again.errors, view.errors, rtol=1e-6)  # the same context
    draw_context(view, Figure())
    with pytest.raises(ValueError, match=r"^goal_x "):
        read_context(learners["context"], 5, 0.9, 0.0)


def test_the_gradient_view_adapts_both_learners(learners):
    view = adapt_by_gradient(learners["cavia"], learners["maml"], 2, 3, 0.3, -0.2)
    assert set(view.returns) == {"CAVIA", "MAML"}
    assert all(r.shape == (6,) and np.isfinite(r).all() for r in view.returns.values())
    draw_gradient(view, Figure())
    with pytest.raises(ValueError, match=r"^trajectories "):
        adapt_by_gradient(learners["cavia"], learners["maml"], 1, 1, 0.3, -0.2)


def test_the_panels_compute_their_first_view(learners):
    assert context_panel(learners["context"]).result.n == 3
    assert gradient_panel(learners["cavia"], learners["maml"]).result.steps == 1
