"""Meta-training on 2D navigation: bad settings refused, runs reproducible, the four methods
distinct, evaluation after 0..k adaptation steps, a diverging run stopped."""

import math
from dataclasses import replace

import pytest
import torch

from mini_lib.checks import DivergenceError
from mini_lib.envs.point_navigation import sample_tasks
from mini_lib.tasks.navigation_training import (
    NavigationConfig,
    evaluate_adaptation,
    train_navigation,
)

TINY = NavigationConfig(iterations=3, meta_batch=2, trajectories=3, hidden=(8,))


def flat(params) -> torch.Tensor:
    return torch.cat([p.flatten() for p in params.values()])


@pytest.mark.parametrize(("field", "value"), [("method", "reptile"), ("iterations", 0),
                                               ("trajectories", 1), ("alpha", 0.0),
                                               ("gamma", 1.5), ("hidden", ())])
def test_bad_settings_are_refused_naming_the_field(field, value):
    with pytest.raises(ValueError, match=field):
        replace(TINY, **{field: value})


def test_a_run_is_reproducible_and_the_methods_differ():
    runs = {method: train_navigation(replace(TINY, method=method), seed=0)
            for method in ("maml", "fomaml", "pretrain", "oracle")}
    again = train_navigation(replace(TINY, method="maml"), seed=0)
    assert torch.equal(flat(runs["maml"].params), flat(again.params))
    assert runs["maml"].post_returns == again.post_returns
    assert not torch.equal(flat(runs["maml"].params), flat(runs["fomaml"].params))
    assert not torch.equal(flat(runs["maml"].params), flat(runs["pretrain"].params))
    # the same first support batch: every method sees the same goals and noise at iteration 0
    assert runs["maml"].pre_returns[0] == runs["pretrain"].pre_returns[0]
    assert all(math.isnan(r) for r in runs["pretrain"].post_returns)
    assert runs["oracle"].params["mean.0.weight"].shape[1] == 4  # position and goal
    assert len(runs["fomaml"].post_returns) == TINY.iterations


def test_evaluation_reports_the_return_after_each_adaptation_step():
    run = train_navigation(TINY, seed=1)
    returns = evaluate_adaptation(run.model, run.params, sample_tasks(3, seed=5), 4,
                                  alpha=0.1, steps=2)
    assert len(returns) == 3 and all(r < 0 for r in returns)
    assert evaluate_adaptation(run.model, run.params, sample_tasks(3, seed=5), 4, 0.1, 2) == (
        returns)


def test_evaluation_takes_one_step_size_per_step_and_refuses_a_wrong_schedule():
    run = train_navigation(TINY, seed=1)
    goals = sample_tasks(3, seed=5)
    constant = evaluate_adaptation(run.model, run.params, goals, 4, alpha=0.1, steps=2)
    assert evaluate_adaptation(run.model, run.params, goals, 4, [0.1, 0.1], 2) == constant
    halved = evaluate_adaptation(run.model, run.params, goals, 4, [0.1, 0.05], 2)
    assert halved[:2] == constant[:2] and halved[2] != constant[2]
    with pytest.raises(ValueError, match="one per step"):
        evaluate_adaptation(run.model, run.params, goals, 4, [0.1], 2)
    with pytest.raises(ValueError, match="alpha"):
        evaluate_adaptation(run.model, run.params, goals, 4, [0.1, -1.0], 2)


def test_a_diverging_run_stops_and_names_the_inner_step_size():
    with pytest.raises(DivergenceError, match="alpha=1e\\+30"):
        train_navigation(replace(TINY, alpha=1e30), seed=0)
