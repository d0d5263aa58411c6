"""MPC on actuator tasks: the oracle reaches the goal almost optimally, GrBAL's adapted model
predicts held-out actuators better than a pretrained one, configs are validated, seeded."""

import math

import numpy as np
import pytest
import torch

from mini_lib.meta.training import MAMLConfig, train_meta
from mini_lib.model_based.mpc import MPCConfig, run_mpc
from mini_lib.tasks.navigation_dynamics import (
    GOAL,
    Dynamics,
    DynamicsFamily,
    held_out_dynamics,
)

FAST = MPCConfig(planner="cem", horizon=3, n_sequences=100, episode_steps=30)


def straight_line_optimum() -> float:
    """Per coordinate the speed is at most 0.1, so after k steps the agent is at best at the
    distance from (0.3, 0.4) to the box [-0.1k, 0.1k]²: 0.3606, 0.2236, 0.1, then 0."""
    return -(math.hypot(0.2, 0.3) + math.hypot(0.1, 0.2) + 0.1)


@pytest.fixture(scope="module")
def models():
    torch.set_num_threads(1)
    family = DynamicsFamily()
    return {m: train_meta(MAMLConfig(method=m, iterations=150, meta_batch_size=25, alpha=0.5),
                          family, seed=0).params for m in ("maml", "pretrain")}


def test_the_oracle_reaches_the_goal_close_to_the_optimum():
    assert GOAL == (0.3, 0.4)
    identity = Dynamics(torch.zeros(3), torch.ones(3))
    config = MPCConfig(planner="cem", horizon=3, n_sequences=1000)
    rollout = run_mpc(None, config, identity, GOAL, adapt=False, seed=0, oracle=True)
    assert rollout.reached.all()
    assert (rollout.returns <= straight_line_optimum() + 1e-4).all()  # it cannot do better
    assert (rollout.returns >= straight_line_optimum() - 0.05).all()
    assert rollout.positions.shape == (3, 101, 2)
    torch.testing.assert_close(rollout.positions[:, -1], torch.tensor([GOAL] * 3),
                               atol=0.01, rtol=0)
    assert (rollout.prediction_error.nan_to_num(0.0) == 0).all()  # the true model


def test_grbal_predicts_held_out_actuators_better_than_a_pretrained_model(models):
    dynamics = held_out_dynamics(10)
    grbal = run_mpc(models["maml"], FAST, dynamics, GOAL, adapt=True, seed=0)
    pretrained = run_mpc(models["pretrain"], FAST, dynamics, GOAL, adapt=False, seed=0)
    # from t = 5, when it adapts on 5+ transitions (from 1 or 2 its step overshoots: MAML was
    # meta-trained on 10); seed 0: 0.11 against 0.40
    error_grbal = grbal.prediction_error[:, 5:].nanmean()
    error_pretrained = pretrained.prediction_error[:, 5:].nanmean()
    assert error_grbal < 0.5 * error_pretrained, (error_grbal, error_pretrained)
    assert grbal.returns.median() > pretrained.returns.median()


def test_a_rollout_is_reproducible_for_a_seed(models):
    dynamics = held_out_dynamics(4)
    first, again = (run_mpc(models["maml"], FAST, dynamics, GOAL, adapt=True, seed=3)
                    for _ in range(2))
    for a, b in zip(first, again, strict=True):
        torch.testing.assert_close(a, b, equal_nan=True)
    other = run_mpc(models["maml"], FAST, dynamics, GOAL, adapt=True, seed=4)
    assert not torch.equal(first.positions, other.positions)


def test_held_out_dynamics_are_fixed():
    a, b = held_out_dynamics(5), held_out_dynamics(5)
    assert torch.equal(a.angle, b.angle) and torch.equal(a.scale, b.scale)
    assert len(held_out_dynamics().angle) == 40


@pytest.mark.parametrize(("field", "value", "message"), [
    ("horizon", 0, r"^horizon must be an integer in \[1, inf\], got 0"),
    ("n_sequences", 1, r"^n_sequences must be an integer in \[2, inf\], got 1"),
    ("planner", "mppi", r"^planner must be one of"),
    ("recent", 0, r"^recent "),
    ("min_recent", 17, r"^min_recent must be an integer in \[1, 16\], got 17"),
    ("alpha", 0.0, r"^alpha must be in \(0, inf\], got 0.0"),
    ("adapt_steps", -1, r"^adapt_steps "),
    ("episode_steps", 0, r"^episode_steps "),
])
def test_the_config_is_validated(field, value, message):
    with pytest.raises(ValueError, match=message):
        MPCConfig(**{field: value})


def test_a_learned_agent_needs_its_parameters():
    with pytest.raises(ValueError, match="params"):
        run_mpc(None, FAST, held_out_dynamics(2), GOAL)
    assert np.isfinite(straight_line_optimum())
