"""Planning with a model: random shooting and CEM find the optimum of a known quadratic
problem, task by task; returns are the model's rollouts; bad input is refused."""

import pytest
import torch

from mini_lib.model_based.planning import (
    cross_entropy_method,
    predicted_returns,
    random_shooting,
)

LOW, HIGH = torch.tensor([-1.0, -1.0]), torch.tensor([1.0, 1.0])
STATES = torch.tensor([[0.0, 0.0], [0.3, -0.4], [2.0, 0.0]])
GOALS = torch.tensor([[0.5, 0.2], [-0.1, 0.1], [0.0, 0.0]])


def move(states, actions):  # s' = s + a: the optimum is known in closed form
    return states + actions


def near(goals):
    def reward(states, actions, following):
        return -((following - goals[:, None, :]) ** 2).sum(dim=-1)
    return reward


near_goal = near(GOALS)


def test_the_returns_are_the_model_s_rollouts():
    sequences = torch.randn(3, 4, 2, 2)
    expected = torch.zeros(3, 4)
    for t_task in range(3):
        for n in range(4):
            s = STATES[t_task]
            for t in range(2):
                s = s + sequences[t_task, n, t]
                expected[t_task, n] -= ((s - GOALS[t_task]) ** 2).sum()
    torch.testing.assert_close(predicted_returns(move, near_goal, STATES, sequences), expected)


def test_one_step_plans_find_the_clipped_optimum_for_every_task():
    optimum = torch.clamp(GOALS - STATES, LOW, HIGH)  # task 2 is out of reach: a = (-1, 0)
    generator = torch.Generator().manual_seed(0)
    shooting = random_shooting(move, near_goal, STATES, 1, 4000, LOW, HIGH, generator)
    best = near_goal(STATES[:, None], optimum[:, None], (STATES + optimum)[:, None])[:, 0]
    assert (shooting.first_action - optimum).abs().max() < 0.2  # 20 seeds: at most 0.133
    assert torch.all(shooting.predicted_return > best - 0.05)  # 20 seeds: within 0.031
    cem = cross_entropy_method(move, near_goal, STATES, 1, 200, LOW, HIGH, iterations=6,
                               generator=generator)
    assert (cem.first_action - optimum).abs().max() < 0.005  # 20 seeds: at most 0.0003
    assert torch.all(cem.predicted_return <= best + 1e-6)
    assert torch.all(cem.predicted_return >= shooting.predicted_return - 1e-6)


def test_a_longer_horizon_goes_to_the_goal_at_once():
    """Over 3 steps the best plan reaches the goal with its first action and stays."""
    generator = torch.Generator().manual_seed(1)
    plan = cross_entropy_method(move, near(GOALS[:2]), STATES[:2], 3, 400, LOW, HIGH,
                                iterations=8, generator=generator)
    torch.testing.assert_close(plan.first_action, GOALS[:2] - STATES[:2], atol=0.04,
                               rtol=0)  # 20 seeds: at most 0.021
    assert plan.sequence.shape == (2, 3, 2)


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match=r"^horizon "):
        random_shooting(move, near_goal, STATES, 0, 10, LOW, HIGH)
    with pytest.raises(ValueError, match=r"^action_low and action_high"):
        random_shooting(move, near_goal, STATES, 1, 10, HIGH, LOW)
    with pytest.raises(ValueError, match=r"^elite_fraction "):
        cross_entropy_method(move, near_goal, STATES, 1, 10, LOW, HIGH, elite_fraction=1.5)
    with pytest.raises(ValueError, match=r"^states must be"):
        predicted_returns(move, near_goal, STATES[0], torch.zeros(3, 1, 1, 2))
