"""Chapter 08's actuator tasks in chapter 06's sampler and trainer: the same arithmetic as the
dynamics model's ground truth, chapter 06's runs untouched, bad settings refused."""

import math

import numpy as np
import pytest
import torch

from mini_lib.envs.point_navigation import MAX_SPEED, BatchedPointNavigation, turn_actions
from mini_lib.meta.functional import params_of
from mini_lib.tasks.navigation import NavigationPolicy, sample_batch
from mini_lib.tasks.navigation_dynamics import GOAL, Dynamics, sample_dynamics, step
from mini_lib.tasks.navigation_training import NavigationConfig, task_batch, train_navigation


def test_turn_actions_rotates_then_scales():
    actions = torch.tensor([[[1.0, 0.0]], [[0.0, 2.0]]])
    turned = turn_actions(actions, torch.tensor([math.pi / 2, math.pi]), torch.tensor([0.5, 1.5]))
    assert torch.allclose(turned, torch.tensor([[[0.0, 0.5]], [[0.0, -3.0]]]), atol=1e-6)


def test_the_env_with_actuators_moves_as_the_dynamics_model_s_ground_truth():
    dynamics = sample_dynamics(5, np.random.default_rng(3))
    goals = np.tile(np.asarray(GOAL, dtype=np.float32), (5, 1))
    env = BatchedPointNavigation(goals, 4, actuators=dynamics)
    positions = env.reset()
    generator = torch.Generator().manual_seed(0)
    for _ in range(3):
        actions = 2 * torch.randn(5, 4, 2, generator=generator)
        expected = step(positions, actions, dynamics)
        positions, *_ = env.step(actions)
        assert torch.equal(positions, expected)


def test_identity_actuators_change_nothing():
    goals = np.array([[0.3, -0.2], [0.1, 0.4]], dtype=np.float32)
    identity = Dynamics(torch.zeros(2), torch.ones(2))
    torch.manual_seed(0)
    model = NavigationPolicy((16,))
    params = params_of(model)
    plain = sample_batch(model, params, goals, 3, torch.Generator().manual_seed(1))
    turned = sample_batch(model, params, goals, 3, torch.Generator().manual_seed(1),
                          actuators=identity)
    assert torch.allclose(plain.returns, turned.returns, atol=1e-5)


def test_a_turned_actuator_changes_the_episodes():
    goals = np.tile(np.asarray(GOAL, dtype=np.float32), (1, 1))
    torch.manual_seed(0)
    model = NavigationPolicy((16,))
    params = params_of(model)
    plain = sample_batch(model, params, goals, 3, torch.Generator().manual_seed(1))
    turned = sample_batch(model, params, goals, 3, torch.Generator().manual_seed(1),
                          actuators=Dynamics(torch.tensor([1.0]), torch.tensor([1.0])))
    assert not torch.allclose(plain.returns, turned.returns)


def test_bad_actuators_and_settings_are_refused():
    with pytest.raises(ValueError, match="actuators must be"):
        BatchedPointNavigation(np.zeros((3, 2)), 2, actuators=Dynamics(torch.zeros(2),
                                                                        torch.ones(2)))
    with pytest.raises(ValueError, match="tasks must be one of"):
        NavigationConfig(tasks="rotations")
    with pytest.raises(ValueError, match="oracle"):
        NavigationConfig(method="oracle", tasks="actuators")
    with pytest.raises(ValueError, match="tasks must be one of"):
        task_batch("rotations", 3, 0)


def test_task_batches_share_the_goal_and_are_seeded():
    goals, dynamics = task_batch("actuators", 6, 1234)
    assert np.array_equal(goals, np.tile(np.asarray(GOAL, dtype=np.float32), (6, 1)))
    again = task_batch("actuators", 6, 1234)[1]
    assert all(torch.equal(a, b) for a, b in zip(dynamics, again, strict=True))
    assert not torch.equal(dynamics.angle, task_batch("actuators", 6, 1235)[1].angle)
    assert task_batch("goals", 3, 5)[1] is None


def test_actuator_training_is_reproducible_and_differs_from_goal_training():
    config = NavigationConfig(method="fomaml", iterations=2, meta_batch=3, trajectories=4,
                              hidden=(16,), tasks="actuators")
    first = train_navigation(config, seed=0)
    second = train_navigation(config, seed=0)
    assert first.post_returns == second.post_returns
    assert all(torch.equal(first.params[k], second.params[k]) for k in first.params)
    goals = train_navigation(NavigationConfig(method="fomaml", iterations=2, meta_batch=3,
                                              trajectories=4, hidden=(16,)), seed=0)
    assert goals.pre_returns != first.pre_returns


def test_top_speed_is_the_env_s():
    dynamics = Dynamics(torch.tensor([0.3]), torch.tensor([1.5]))
    moved = step(torch.zeros(1, 1, 2), torch.full((1, 1, 2), 5.0), dynamics)
    assert moved.abs().max() == pytest.approx(MAX_SPEED)
