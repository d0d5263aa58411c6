"""data/families_nav.pt: loads (checksum, weights_only), every family does what the chapter
says it does on the 40 held-out goals, and a short retraining reproduces the stored curves."""

import itertools

import numpy as np
import pytest
import torch

from mini_lib.artefacts import families_nav
from mini_lib.artefacts.__main__ import GENERATORS
from mini_lib.artefacts.families_nav import RUNS, learner, load_families, train_run
from mini_lib.artefacts.store import manifest_entry
from mini_lib.demos.ch08_families import (
    cavia_returns,
    context_returns,
    given_returns,
    held_out_goals,
)


@pytest.fixture(scope="module")
def stored():
    return load_families()


def test_registered_and_listed_in_the_manifest():
    assert GENERATORS["families_nav"] is families_nav.generate
    assert manifest_entry("families_nav")["command"] == ("python -m mini_lib.artefacts "
                                                         "families_nav")


def test_every_run_is_stored_with_its_curves(stored):
    for run, config in RUNS.items():
        model = learner(stored, run)
        assert model.embedding == config.embedding
        assert stored[f"{run}.returns"].shape == (config.iterations,)
        assert torch.isfinite(stored[f"{run}.returns"]).all()
        assert len(stored[f"{run}.kl"]) == (config.iterations if config.embedding == "context"
                                            else 0)
    with pytest.raises(KeyError, match="no run 'maml'"):
        learner(stored, "maml")


def test_the_given_goal_families_reach_the_goal(stored):
    goals = held_out_goals()
    for run in ("goal_concat", "goal_hyper"):
        assert np.median(given_returns(learner(stored, run), goals)) > -3, run


def test_the_inferred_posterior_narrows_and_finds_the_goal(stored):
    """On held-out goals: no context is the prior; every transition adds precision; after a
    whole episode the posterior mean lies near the goal and the return is far above none."""
    goals = held_out_goals()
    model = learner(stored, "context_concat")
    results = {n: context_returns(model, goals, n) for n in (0, 1, 10, 100)}
    torch.testing.assert_close(results[0].posterior.covariance, torch.eye(3).expand(40, 3, 3))
    dets = [torch.linalg.det(results[n].posterior.covariance) for n in (0, 1, 10, 100)]
    assert all((later <= earlier * (1 + 1e-5)).all() for earlier, later in itertools.pairwise(dets))
    error = (results[100].posterior.mean[:, :2] - torch.as_tensor(goals)).norm(dim=1)
    assert error.median() < 0.2
    assert np.median(results[100].returns) > np.median(results[0].returns) + 15


def test_one_cavia_step_adapts(stored):
    returns = cavia_returns(learner(stored, "cavia"), held_out_goals(), alpha=1.0, steps=1)
    assert np.median(returns[1]) > np.median(returns[0]) + 15


@pytest.mark.parametrize(("run", "iterations"), [("goal_hyper", 3), ("context_concat", 3),
                                                 ("cavia", 2)])
def test_regenerating_the_first_iterations_gives_the_stored_curves(stored, run, iterations):
    """Same seed, same config: a short run is the stored run's prefix."""
    prefix = train_run(run, iterations)
    for curve in ("returns", "pre_returns", "kl"):
        np.testing.assert_allclose(prefix[f"{run}.{curve}"].numpy(),
                                   stored[f"{run}.{curve}"][:len(prefix[f"{run}.{curve}"])]
                                   .numpy(), rtol=1e-4)
