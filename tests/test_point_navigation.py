"""Chapter 06's task family: 2D point navigation as a Gymnasium env and as a batched torch env
that must agree with it step for step, masks included."""

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.utils.env_checker import check_env

import mini_lib  # noqa: F401  (registers the environments)
from mini_lib.envs.point_navigation import (
    GOAL_TOLERANCE,
    HORIZON,
    BatchedPointNavigation,
    PointNavigationEnv,
    sample_tasks,
)


@pytest.mark.filterwarnings("ignore:.*Box observation space m.*:UserWarning")  # unbounded: true
def test_the_gymnasium_env_passes_the_env_checker_and_is_registered():
    check_env(PointNavigationEnv(), skip_render_check=True)
    env = gym.make("mini_lib/PointNavigation-v0")
    assert env.spec.max_episode_steps == HORIZON
    observation, info = env.reset(seed=0, options={"task": (0.3, -0.2)})
    assert observation.tolist() == [0.0, 0.0] and info["goal"].tolist() == pytest.approx([0.3,
                                                                                          -0.2])


def test_tasks_are_uniform_in_the_square_and_reproducible():
    goals = sample_tasks(4000, seed=1)
    assert goals.shape == (4000, 2) and goals.dtype == np.float32
    assert goals.min() >= -0.5 and goals.max() <= 0.5
    assert np.allclose(goals.mean(axis=0), 0.0, atol=0.02)
    assert np.array_equal(goals, sample_tasks(4000, seed=1))
    assert not np.array_equal(goals, sample_tasks(4000, seed=2))


def test_actions_are_scaled_clipped_and_the_reward_is_the_distance_after_the_move():
    env = PointNavigationEnv(goal=(0.5, 0.0))
    env.reset()
    observation, reward, terminated, truncated, _ = env.step([0.5, 7.0])  # 0.05, clipped 0.1
    assert observation == pytest.approx([0.05, 0.1])
    assert reward == pytest.approx(-np.hypot(0.45, 0.1), rel=1e-6)
    assert not terminated and not truncated


def test_standing_still_scores_the_analytic_return_and_reaching_the_goal_terminates():
    env = gym.make("mini_lib/PointNavigation-v0")
    env.reset(options={"task": (0.3, 0.4)})
    total, steps, truncated = 0.0, 0, False
    while not truncated:
        _, reward, terminated, truncated, _ = env.step(np.zeros(2, dtype=np.float32))
        total, steps = total + reward, steps + 1
    assert steps == HORIZON and total == pytest.approx(-50.0, rel=1e-5)  # 100 x distance 0.5
    env.reset(options={"task": (0.2, 0.1)})
    for _ in range(2):  # 0.1 per step in x, 0.05 in y: there after two steps
        _, reward, terminated, _, _ = env.step(np.array([1.0, 0.5], dtype=np.float32))
    assert terminated and -reward < GOAL_TOLERANCE * np.sqrt(2)


def test_bad_goals_are_refused():
    with pytest.raises(ValueError, match="task"):
        PointNavigationEnv(goal=(0.1, np.nan))
    with pytest.raises(ValueError, match="goals must have shape"):
        BatchedPointNavigation(np.zeros(3), 4)


@pytest.mark.parametrize("policy", ["random", "towards the goal"])
def test_the_batched_env_matches_the_gymnasium_env_step_for_step(policy):
    goals = sample_tasks(6, seed=3)
    goals[0] = (0.2, 0.1)  # one task that terminates early
    n_traj = 5
    rng = np.random.default_rng(0)
    batched = BatchedPointNavigation(goals, n_traj)
    position = batched.reset()
    actions = []
    for _ in range(HORIZON):
        if policy == "random":
            a = rng.normal(size=(6, n_traj, 2)).astype(np.float32) * 2
        else:
            a = ((goals[:, None, :] - position.numpy()) * 10).astype(np.float32)
        actions.append(a)
        position, *_ = batched.step(torch.from_numpy(a))
    batched = BatchedPointNavigation(goals, n_traj)
    batched.reset()
    steps = [batched.step(torch.from_numpy(a)) for a in actions]
    for task in range(6):
        for traj in range(n_traj):
            env = gym.make("mini_lib/PointNavigation-v0")
            env.reset(options={"task": goals[task]})
            ended = False
            for t, (obs, rew, term, trunc, alive) in enumerate(steps):
                assert bool(alive[task, traj]) == (not ended), (task, traj, t)
                if ended:
                    assert rew[task, traj] == 0.0
                    continue
                g_obs, g_rew, g_term, g_trunc, _ = env.step(actions[t][task, traj])
                assert np.array_equal(obs[task, traj].numpy(), g_obs)
                assert float(rew[task, traj]) == pytest.approx(g_rew, abs=1e-6)
                assert (bool(term[task, traj]), bool(trunc[task, traj])) == (g_term, g_trunc)
                ended = g_term or g_trunc
            assert ended
    if policy == "towards the goal":
        assert not steps[-1][4].any()  # everyone reached the goal before the time limit
        assert steps[1][2][0].all()  # task 0 is reached at step 2 by every trajectory


def test_the_batched_env_refuses_steps_after_the_horizon():
    batched = BatchedPointNavigation(sample_tasks(2, seed=0), 3, horizon=2)
    batched.reset()
    for _ in range(2):
        *_, truncated, _alive = batched.step(torch.zeros(2, 3, 2))
    assert truncated.all()
    with pytest.raises(RuntimeError, match="call reset"):
        batched.step(torch.zeros(2, 3, 2))
    with pytest.raises(ValueError, match="actions must have shape"):
        BatchedPointNavigation(sample_tasks(2, seed=0), 3).step(torch.zeros(3, 2))
