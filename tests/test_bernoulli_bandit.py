"""Chapter 07's task family: Bernoulli bandits as a Gymnasium env and as a batched torch env
that must agree with it pull for pull when both are fed the same uniforms."""

import copy

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.utils.env_checker import check_env

import mini_lib  # noqa: F401  (registers the environments)
from mini_lib.envs.bernoulli_bandit import (
    DEFAULT_ARMS,
    DEFAULT_PULLS,
    BatchedBernoulliBandit,
    BernoulliBanditEnv,
    sample_tasks,
    uniform_arms,
)


@pytest.mark.parametrize("kwargs", [{}, {"k": 3, "n_pulls": 4}, {"probs": [0.0, 1.0]}])
def test_the_gymnasium_env_passes_the_env_checker(kwargs):
    check_env(BernoulliBanditEnv(**kwargs), skip_render_check=True)


def test_the_env_is_registered_and_takes_its_parameters_and_a_task_through_make():
    env = gym.make("mini_lib/BernoulliBandit-v0")
    assert env.spec.max_episode_steps is None  # the env truncates itself after n_pulls
    assert env.action_space.n == DEFAULT_ARMS and env.observation_space.shape == (7,)
    assert env.unwrapped.n_pulls == DEFAULT_PULLS
    env = gym.make("mini_lib/BernoulliBandit-v0", k=3, n_pulls=20)
    observation, info = env.reset(seed=0, options={"task": [0.2, 0.5, 0.9]})
    assert observation.dtype == np.float32 and observation.tolist() == [0.0] * 5
    assert info["task"].tolist() == [0.2, 0.5, 0.9]


def test_the_observation_is_previous_arm_previous_reward_and_elapsed_fraction():
    env = BernoulliBanditEnv(probs=[0.0, 1.0, 0.0], n_pulls=4)
    env.reset(seed=0)
    observation, reward, terminated, truncated, _ = env.step(1)  # p = 1: always pays
    assert observation.tolist() == [0.0, 1.0, 0.0, 1.0, 0.25] and reward == 1.0
    assert isinstance(reward, float) and not terminated and not truncated
    observation, reward, *_ = env.step(np.int64(2))  # p = 0: never pays
    assert observation.tolist() == [0.0, 0.0, 1.0, 0.0, 0.5] and reward == 0.0
    for _ in range(2):
        observation, _, terminated, truncated, _ = env.step(0)
    assert truncated and not terminated and observation[-1] == 1.0
    with pytest.raises(RuntimeError, match="call reset"):
        env.step(0)
    observation, _ = env.reset()
    assert observation.tolist() == [0.0] * 5
    with pytest.raises(ValueError, match=r"action must be an integer in \[0, 2\], got 3"):
        env.step(3)


def test_reward_draws_come_from_the_seeded_np_random_and_the_task_switches_at_once():
    env = BernoulliBanditEnv(probs=[0.5, 0.5], n_pulls=50)

    def rewards(seed):
        env.reset(seed=seed)
        return [env.step(t % 2)[1] for t in range(50)]

    assert rewards(7) == rewards(7) and rewards(7) != rewards(8)
    env.reset(seed=0)
    env.reset_task([1.0, 0.0])
    assert [env.step(0)[1], env.step(1)[1]] == [1.0, 0.0]


def test_tasks_are_uniform_in_the_unit_interval_and_reproducible():
    tasks = sample_tasks(4000, seed=1)
    assert tasks.shape == (4000, DEFAULT_ARMS) and tasks.dtype == np.float64
    assert tasks.min() >= 0.0 and tasks.max() <= 1.0
    assert np.allclose(tasks.mean(axis=0), 0.5, atol=0.02)  # standard error 0.0046 per arm
    assert np.allclose(tasks.var(axis=0), 1 / 12, atol=0.01)
    assert np.array_equal(tasks, sample_tasks(4000, seed=1))
    assert not np.array_equal(tasks, sample_tasks(4000, seed=2))
    assert sample_tasks(3, seed=0, k=10).shape == (3, 10)
    assert np.array_equal(sample_tasks(6, seed=4), uniform_arms(np.random.default_rng(4), 6, 5))


def test_a_custom_sampler_is_called_with_the_seeded_rng_and_its_tasks_are_returned():
    calls = []

    def one_good_arm(rng, n, k):  # a dependent prior: one arm 0.9, the others 0.1
        calls.append((type(rng), n, k))
        tasks = np.full((n, k), 0.1)
        tasks[np.arange(n), rng.integers(k, size=n)] = 0.9
        return tasks

    tasks = sample_tasks(50, seed=3, k=4, sampler=one_good_arm)
    assert calls == [(np.random.Generator, 50, 4)]
    assert np.allclose(np.sort(tasks, axis=1), [0.1, 0.1, 0.1, 0.9])
    assert np.array_equal(tasks, sample_tasks(50, seed=3, k=4, sampler=one_good_arm))


@pytest.mark.parametrize(("sampler", "message"), [
    (lambda rng, n, k: rng.random((n, k + 1)), r"sampler must return .* shape \(n, k\)"),
    (lambda rng, n, k: rng.random(n), r"sampler must return .* shape \(n, k\)"),
    (lambda rng, n, k: rng.random((n, k)) + 0.5, r"sampler output must be .* \[0, 1\]"),
    (lambda rng, n, k: np.full((n, k), np.nan), r"sampler output must be .* \[0, 1\]"),
    ("uniform", "sampler must be a callable"),
])
def test_a_bad_sampler_is_refused_with_a_clear_message(sampler, message):
    with pytest.raises(ValueError, match=message):
        sample_tasks(5, seed=0, k=3, sampler=sampler)


@pytest.mark.parametrize(("make", "message"), [
    (lambda: sample_tasks(0, seed=0), r"n must be an integer in \[1, inf\], got 0"),
    (lambda: sample_tasks(3, seed=0, k=1), r"k must be an integer in \[2, inf\], got 1"),
    (lambda: sample_tasks(3, seed=-1), r"seed must be an integer in \[0, inf\], got -1"),
    (lambda: BernoulliBanditEnv(k=1), r"k must be an integer in \[2, inf\], got 1"),
    (lambda: BernoulliBanditEnv(probs=[0.5]), r"k must be an integer in \[2, inf\], got 1"),
    (lambda: BernoulliBanditEnv(n_pulls=0), r"n_pulls must be an integer in \[1, inf\], got 0"),
    (lambda: BernoulliBanditEnv(probs=[0.5, 1.2]), r"probs must be .* \[0, 1\], got \[1.2\]"),
    (lambda: BernoulliBanditEnv(probs=[0.5, 0.5], k=3), r"probs must be 3 arm .* shape \(2,\)"),
    (lambda: BernoulliBanditEnv().reset_task([0.5] * 4), r"task must be 5 arm .* shape \(4,\)"),
    (lambda: BernoulliBanditEnv(k=2).reset_task([-0.1, 0.5]), r"task must be .* \[0, 1\]"),
    (lambda: BernoulliBanditEnv(k=2).reset_task([np.nan, 0.5]), r"task must be .* \[0, 1\]"),
    (lambda: BernoulliBanditEnv().reset(options={"task": [[0.5] * 5]}), r"task must be 5 arm"),
    (lambda: BatchedBernoulliBandit(np.full(5, 0.5)), r"probs must have shape \(n_tasks, k\)"),
    (lambda: BatchedBernoulliBandit(np.full((3, 1), 0.5)), r"k must be an integer in \[2, "),
    (lambda: BatchedBernoulliBandit([[0.5, 2.0]]), r"probs must be .* \[0, 1\], got \[2.0\]"),
    (lambda: BatchedBernoulliBandit([[0.5, 0.5]], n_pulls=0), r"n_pulls must be .* got 0"),
])
def test_bad_arguments_are_refused_naming_the_parameter_and_the_valid_range(make, message):
    with pytest.raises(ValueError, match=message):
        make()


@pytest.mark.parametrize("arm", [0, 1, 2])
def test_the_mean_reward_of_an_arm_is_its_probability(arm):
    probs = np.array([0.3, 0.7, 0.05])
    p = probs[arm]
    env = BernoulliBanditEnv(probs=probs, n_pulls=100)
    env.reset(seed=arm)
    rewards = []
    for _ in range(200):  # 200 trials of 100 pulls: 20,000 rewards
        rewards += [env.step(arm)[1] for _ in range(100)]
        env.reset()
    standard_error = np.sqrt(p * (1 - p) / len(rewards))
    assert abs(np.mean(rewards) - p) < 5 * standard_error

    batched = BatchedBernoulliBandit(np.tile(probs, (2000, 1)), n_pulls=10,
                                     generator=torch.Generator().manual_seed(arm))
    batched.reset()
    total = sum(batched.step(torch.full((2000,), arm))[1].sum().item() for _ in range(10))
    assert abs(total / 20_000 - p) < 5 * standard_error


def test_the_batched_env_matches_the_gymnasium_env_step_for_step():
    n_tasks, k, n_pulls = 7, 4, 12
    probs = sample_tasks(n_tasks, seed=5, k=k)
    probs[0] = (0.0, 1.0, 0.0, 1.0)  # the edges: never, always
    rng = np.random.default_rng(0)
    actions = rng.integers(k, size=(n_pulls, n_tasks))
    envs, uniforms = [], np.empty((n_pulls, n_tasks))
    for task in range(n_tasks):
        env = gym.make("mini_lib/BernoulliBandit-v0", k=k, n_pulls=n_pulls)
        env.reset(seed=100 + task, options={"task": probs[task]})
        future = copy.deepcopy(env.unwrapped.np_random)  # the draws the env is about to make
        uniforms[:, task] = [future.random() for _ in range(n_pulls)]
        envs.append(env)

    batched = BatchedBernoulliBandit(torch.from_numpy(probs), n_pulls)
    observations = batched.reset()
    assert observations.shape == (n_tasks, k + 2) and not observations.any()
    rewards_seen = set()
    for t in range(n_pulls):
        observations, rewards, truncated = batched.step(torch.from_numpy(actions[t]),
                                                        torch.from_numpy(uniforms[t]))
        assert observations.dtype == torch.float32 and rewards.dtype == torch.float32
        for task, env in enumerate(envs):
            g_obs, g_rew, g_term, g_trunc, _ = env.step(actions[t, task])
            assert np.array_equal(observations[task].numpy(), g_obs), (task, t)
            assert float(rewards[task]) == g_rew, (task, t)
            assert (bool(truncated[task]), g_term) == (g_trunc, False), (task, t)
            rewards_seen.add(g_rew)
    assert truncated.all() and rewards_seen == {0.0, 1.0}


def test_the_batched_env_draws_from_its_generator_and_refuses_steps_after_the_trial():
    probs = sample_tasks(50, seed=0)

    def run(seed):
        batched = BatchedBernoulliBandit(probs, n_pulls=3,
                                         generator=torch.Generator().manual_seed(seed))
        batched.reset()
        return torch.stack([batched.step(torch.zeros(50, dtype=torch.long))[1]
                            for _ in range(3)])

    assert torch.equal(run(0), run(0)) and not torch.equal(run(0), run(1))
    batched = BatchedBernoulliBandit(probs[:2], n_pulls=2)
    for _ in range(2):
        *_, truncated = batched.step(torch.tensor([0, 1]))
    assert truncated.all()
    with pytest.raises(RuntimeError, match="call reset"):
        batched.step(torch.tensor([0, 1]))
    batched.reset()
    with pytest.raises(ValueError, match=r"actions must be integers of shape \(2,\)"):
        batched.step(torch.zeros(3, dtype=torch.long))
    with pytest.raises(ValueError, match=r"actions must be integers"):
        batched.step(torch.zeros(2))
    with pytest.raises(ValueError, match=r"actions must be arms in \[0, 4\]"):
        batched.step(torch.tensor([0, 5]))
    with pytest.raises(ValueError, match=r"uniforms must have shape \(2,\)"):
        batched.step(torch.tensor([0, 1]), torch.zeros(3))
    with pytest.raises(ValueError, match=r"uniforms must be in \[0, 1\]"):
        batched.step(torch.tensor([0, 1]), torch.tensor([0.5, 1.5]))
    observations, rewards, truncated = batched.step([1, 2], [0.0, 0.0])  # lists are fine too
    assert observations[:, :5].argmax(dim=1).tolist() == [1, 2] and not truncated.any()
    assert rewards.tolist() == [1.0, 1.0]  # u = 0 < p pays for any p > 0
