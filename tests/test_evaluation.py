"""Batched greedy evaluation equals one-episode-at-a-time play; value vs return bookkeeping."""

import gymnasium as gym
import numpy as np
import pytest
import torch

from mini_lib.evaluation import (
    SolvedCheck,
    evaluate_policy,
    greedy_actor,
    run_episodes,
    value_vs_return,
)
from mini_lib.returns import discounted_return, returns_to_go


def lean_right_policy(observations: np.ndarray) -> np.ndarray:
    """Push the cart towards where the pole leans (a decent CartPole controller)."""
    return (observations[:, 2] + 0.5 * observations[:, 3] > 0).astype(int)


def one_at_a_time(seed: int, n: int) -> list[float]:
    env = gym.make("CartPole-v1")
    returns = []
    for i in range(n):
        observation, _ = env.reset(seed=seed + i)
        total, done = 0.0, False
        while not done:
            action = int(lean_right_policy(observation[None])[0])
            observation, reward, terminated, truncated, _ = env.step(action)
            total += reward
            done = terminated or truncated
        returns.append(total)
    return returns


def test_batched_episodes_equal_sequential_episodes():
    batched = evaluate_policy(lean_right_policy, "CartPole-v1", n_episodes=4, seed=3)
    assert batched.tolist() == one_at_a_time(3, 4)
    assert len(set(batched.tolist())) > 1 or batched[0] == 500  # the seeds differ


def test_episode_traces_are_aligned():
    envs = [gym.make("CartPole-v1", max_episode_steps=7) for _ in range(3)]
    episodes = run_episodes(lean_right_policy, envs, seed=0)
    for observations, rewards, terminated in zip(episodes.observations, episodes.rewards,
                                                 episodes.terminated, strict=True):
        assert observations.shape == (len(rewards), 4)
        assert len(rewards) == 7 and not terminated  # truncated by the time limit


def test_returns_to_go_matches_discounted_return_of_each_suffix():
    rewards = np.array([1.0, -2.0, 0.5, 3.0])
    expected = [discounted_return(rewards[t:], 0.9) for t in range(4)]
    assert returns_to_go(rewards, 0.9) == pytest.approx(expected)


class ConstantQ(torch.nn.Module):
    def __init__(self, values):
        super().__init__()
        self.values = torch.tensor(values, dtype=torch.float32)

    def forward(self, observations):
        return self.values.expand(observations.shape[0], -1)


def test_value_vs_return_on_a_policy_that_always_falls():
    # Always pushing left drops the pole within a few dozen steps: every state's true
    # discounted return is known from the episode itself.
    check = value_vs_return(ConstantQ([7.0, 1.0]), gamma=0.9, n_episodes=3, seed=0)
    envs = [gym.make("CartPole-v1") for _ in range(3)]
    episodes = run_episodes(lambda o: np.zeros(len(o), dtype=int), envs, seed=0)
    truth = np.concatenate([returns_to_go(r, 0.9) for r in episodes.rewards])
    assert check.estimated_value == pytest.approx(7.0)
    assert check.true_value == pytest.approx(truth.mean())
    assert check.score == pytest.approx(episodes.returns().mean())


def test_solved_check_evaluates_only_every_n_steps():
    check = SolvedCheck(threshold=50.0, every=10, n_episodes=2)
    always_left = ConstantQ([1.0, 0.0])
    assert not any(check(always_left, step) for step in range(1, 20))
    assert [step for step, _ in check.history] == [10]
    assert check.history[0][1] < 50  # always pushing left falls quickly
    assert greedy_actor(always_left)(np.zeros((3, 4))).tolist() == [0, 0, 0]


def balance(observations):
    """Push towards where the pole is falling: balances CartPole for hundreds of steps."""
    return (observations[:, 2] + observations[:, 3] > 0).astype(int)


def always_left(observations):
    return np.zeros(len(observations), dtype=int)  # falls after about ten steps


@pytest.mark.parametrize(("consecutive", "expected"), [(1, [True, False, True, True]),
                                                       (2, [False, False, False, True])])
def test_solved_check_with_consecutive_needs_passes_in_a_row(consecutive, expected):
    """Pass, fail, pass, pass: with two in a row, only the last evaluation solves."""
    check = SolvedCheck(threshold=100.0, n_episodes=3, consecutive=consecutive)
    got = [check.evaluate(act, step) for step, act in
           enumerate((balance, always_left, balance, balance))]
    assert got == expected
    assert [mean >= 100 for _, mean in check.history] == [True, False, True, True]


def test_solved_check_refuses_a_zero_streak():
    with pytest.raises(ValueError, match="consecutive must be an integer in"):
        SolvedCheck(consecutive=0)
