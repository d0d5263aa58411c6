"""Policy-gradient building blocks: returns, GAE and n-step targets (termination vs
truncation), rollouts, losses, config checks, and a short REINFORCE run on CartPole."""

from dataclasses import replace

import gymnasium as gym
import numpy as np
import pytest
import torch
from torch.distributions import Categorical

from mini_lib.checks import DivergenceError
from mini_lib.policy_gradient.advantages import gae_advantages, n_step_returns
from mini_lib.policy_gradient.config import CARTPOLE_REINFORCE, PolicyGradientConfig
from mini_lib.policy_gradient.losses import actor_critic_loss, reinforce_loss
from mini_lib.policy_gradient.networks import CategoricalPolicy, ValueNetwork, policy_actor
from mini_lib.policy_gradient.rollouts import (
    EpisodeBatch,
    RolloutState,
    collect_episodes,
    collect_rollout,
    pad_episodes,
)
from mini_lib.policy_gradient.training import train_actor_critic, train_reinforce
from mini_lib.returns import discounted_returns, reward_to_go


# -- returns --------------------------------------------------------------------------------
def slow_reward_to_go(rewards, gamma):
    out, running = [], 0.0
    for r in reversed(list(rewards)):
        running = r + gamma * running
        out.append(running)
    return out[::-1]


def test_reward_to_go_by_hand():
    G = reward_to_go(torch.tensor([1.0, 2.0, 3.0]), 0.5)
    # G_2 = 3, G_1 = 2 + 0.5·3 = 3.5, G_0 = 1 + 0.5·3.5 = 2.75
    torch.testing.assert_close(G, torch.tensor([2.75, 3.5, 3.0]))
    torch.testing.assert_close(reward_to_go(torch.tensor([1.0, 2.0, 3.0]), 0.0),
                               torch.tensor([1.0, 2.0, 3.0]))
    torch.testing.assert_close(reward_to_go(torch.tensor([1.0, 2.0, 3.0]), 1.0),
                               torch.tensor([6.0, 5.0, 3.0]))
    assert float(discounted_returns(torch.tensor([1.0, 2.0, 3.0]), 0.5)) == 2.75


def test_reward_to_go_of_a_padded_batch_matches_a_slow_loop():
    rng = np.random.default_rng(0)
    episodes = [rng.normal(size=n) for n in (7, 1, 4, 12)]
    rewards, mask = pad_episodes(episodes)
    assert rewards.shape == mask.shape == (4, 12)
    assert mask.sum(1).tolist() == [7, 1, 4, 12]
    rewards[mask == 0] = 99.0  # garbage in the padding must not leak into any return
    G = reward_to_go(rewards, 0.9, mask)
    for row, episode in enumerate(episodes):
        expected = torch.tensor(slow_reward_to_go(episode, 0.9))
        torch.testing.assert_close(G[row, :len(episode)], expected)
        assert torch.all(G[row, len(episode):] == 0)
    torch.testing.assert_close(discounted_returns(rewards, 0.9, mask), G[:, 0])


def rollout_arrays():
    """Six steps: an episode *terminates* after step 1, the next is *truncated* after step 3,
    a third runs on past the end of the rollout."""
    rewards = torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], dtype=torch.float64)
    values = torch.tensor([0.5, -1.0, 2.0, 1.5, 0.0, 3.0], dtype=torch.float64)
    next_values = torch.tensor([-1.0, 7.0, 1.5, 8.0, 3.0, 9.0], dtype=torch.float64)
    terminated = torch.tensor([False, True, False, False, False, False])
    truncated = torch.tensor([False, False, False, True, False, False])
    return rewards, values, next_values, terminated, truncated


def slow_bootstrapped_returns(rewards, next_values, terminated, truncated, gamma):
    """Discounted return to the end of the episode or of the rollout, by a plain loop."""
    T = len(rewards)
    out = []
    for t in range(T):
        G, discount = 0.0, 1.0
        for k in range(t, T):
            G += discount * float(rewards[k])
            discount *= gamma
            if terminated[k]:
                break
            if truncated[k] or k == T - 1:
                G += discount * float(next_values[k])
                break
        out.append(G)
    return torch.tensor(out, dtype=torch.float64)


def test_gae_with_lambda_one_is_the_bootstrapped_return_minus_the_value():
    rewards, values, next_values, terminated, truncated = rollout_arrays()
    advantages = gae_advantages(rewards, values, next_values, terminated, truncated, 0.9, 1.0)
    expected = slow_bootstrapped_returns(rewards, next_values, terminated, truncated, 0.9)
    torch.testing.assert_close(advantages, expected - values)
    # By hand for the two episode ends: termination ignores V(s'), truncation uses it.
    assert float(advantages[1]) == pytest.approx(2.0 - (-1.0))
    assert float(advantages[3]) == pytest.approx(4.0 + 0.9 * 8.0 - 1.5)


def test_gae_with_lambda_zero_is_the_td_error():
    rewards, values, next_values, terminated, truncated = rollout_arrays()
    advantages = gae_advantages(rewards, values, next_values, terminated, truncated, 0.9, 0.0)
    td_error = rewards + 0.9 * (~terminated) * next_values - values
    torch.testing.assert_close(advantages, td_error)


def test_gae_works_on_several_envs_side_by_side():
    rewards, values, next_values, terminated, truncated = rollout_arrays()
    two = [torch.stack([x, x.flip(0)], dim=1) for x in rollout_arrays()]
    both = gae_advantages(*two, 0.9, 0.7)
    single = gae_advantages(rewards, values, next_values, terminated, truncated, 0.9, 0.7)
    torch.testing.assert_close(both[:, 0], single)
    flipped = gae_advantages(*(x.flip(0) for x in rollout_arrays()), 0.9, 0.7)
    torch.testing.assert_close(both[:, 1], flipped)


def n_step_case(ended_at_1: str):
    rewards = torch.tensor([1.0, 2.0, 3.0, 4.0], dtype=torch.float64)
    next_values = torch.tensor([10.0, 20.0, 30.0, 40.0], dtype=torch.float64)
    terminated = torch.tensor([False, ended_at_1 == "terminated", False, False])
    truncated = torch.tensor([False, ended_at_1 == "truncated", False, False])
    return rewards, next_values, terminated, truncated


@pytest.mark.parametrize(
    ("ended_at_1", "expected"),
    [
        # t=0: 1 + .5·2 + .25·V(s'_1);  t=1: 2 + .5·V(s'_1) or 2 + .5·3 + .25·V(s'_2);
        # t=2: 3 + .5·4 + .25·V(s'_3);  t=3: 4 + .5·V(s'_3) (the rollout ends: bootstrap).
        ("nothing", [1 + 1 + 0.25 * 20, 2 + 1.5 + 0.25 * 30, 3 + 2 + 0.25 * 40, 4 + 0.5 * 40]),
        ("terminated", [1 + 1 + 0.0, 2 + 0.0, 15.0, 24.0]),
        ("truncated", [1 + 1 + 0.25 * 20, 2 + 0.5 * 20, 15.0, 24.0]),
    ],
)
def test_two_step_returns_by_hand(ended_at_1, expected):
    returns = n_step_returns(*n_step_case(ended_at_1), gamma=0.5, n=2)
    torch.testing.assert_close(returns, torch.tensor(expected, dtype=torch.float64))


def test_one_step_return_is_the_td_target_and_a_long_one_matches_gae():
    rewards, values, next_values, terminated, truncated = rollout_arrays()
    one = n_step_returns(rewards, next_values, terminated, truncated, 0.9, n=1)
    torch.testing.assert_close(one, rewards + 0.9 * (~terminated) * next_values)
    full = n_step_returns(rewards, next_values, terminated, truncated, 0.9, n=6)
    gae = gae_advantages(rewards, values, next_values, terminated, truncated, 0.9, 1.0)
    torch.testing.assert_close(full, gae + values)
    torch.testing.assert_close(full, slow_bootstrapped_returns(
        rewards, next_values, terminated, truncated, 0.9))


# -- networks, config -------------------------------------------------------------------------
def test_policy_returns_a_near_uniform_categorical_and_value_net_a_value_per_state():
    policy = CategoricalPolicy(4, 3, (16,))
    dist = policy(torch.randn(5, 4))
    assert isinstance(dist, Categorical) and dist.probs.shape == (5, 3)
    torch.testing.assert_close(dist.probs, torch.full((5, 3), 1 / 3), atol=0.02, rtol=0)
    assert ValueNetwork(4, (16,))(torch.randn(5, 7, 4)).shape == (5, 7)
    actions = policy_actor(policy, greedy=False)(np.zeros((8, 4), dtype=np.float32))
    assert actions.shape == (8,) and set(actions.tolist()) <= {0, 1, 2}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"gae_lambda": 1.5}, r"gae_lambda must be in \[0, 1\], got 1.5"),
        ({"n_steps": 0}, r"n_steps must be an integer in \[1, inf\], got 0"),
        ({"entropy_coef": -0.1}, r"entropy_coef must be in \[0, inf\], got -0.1"),
        ({"learning_rate": 0.0}, r"learning_rate must be in \(0, inf\], got 0.0"),
        ({"value_learning_rate": -1.0}, r"value_learning_rate must be in \(0, inf\]"),
        ({"gamma": 1.01}, r"gamma must be in \[0, 1\], got 1.01"),
        ({"batch_episodes": 0}, r"batch_episodes must be an integer in \[1, inf\]"),
        ({"max_grad_norm": 0}, r"max_grad_norm must be in \(0, inf\]"),
        ({"advantage": "td"}, r"advantage must be one of \('gae', 'n_step'\), got 'td'"),
        ({"hidden": ()}, "hidden must be a non-empty tuple"),
    ],
)
def test_config_rejects_bad_values_naming_the_parameter(kwargs, message):
    with pytest.raises(ValueError, match=message):
        PolicyGradientConfig(**kwargs)


def test_continuous_action_space_is_refused():
    env = gym.make("Pendulum-v1")
    config = PolicyGradientConfig(total_steps=10)
    for call in (lambda: train_reinforce(env, config), lambda: train_actor_critic(env, config),
                 lambda: CategoricalPolicy.for_env(env),
                 lambda: CategoricalPolicy(3, env.action_space),
                 lambda: collect_rollout(env, CategoricalPolicy(3, 2), 5,
                                         RolloutState.start(env, 0))):
        with pytest.raises(ValueError, match=r"env.action_space must be Discrete.*Box"):
            call()


# -- experience and losses ------------------------------------------------------------------
def test_rollouts_keep_the_final_observation_and_carry_episodes_across_calls():
    env = gym.make("CartPole-v1", max_episode_steps=5)  # every episode is truncated at 5
    policy = CategoricalPolicy.for_env(env, (8,))
    state = RolloutState.start(env, seed=0)
    rollout = collect_rollout(env, policy, 12, state)
    assert len(rollout) == 12 and rollout.observations.shape == (12, 4)
    assert rollout.truncated.nonzero().ravel().tolist() == [4, 9]
    assert not rollout.terminated.any()
    assert rollout.episode_returns == [5.0, 5.0] and rollout.episode_ends == [4, 9]
    inside = [t for t in range(11) if t not in (4, 9)]
    torch.testing.assert_close(rollout.next_observations[inside],
                               rollout.observations[[t + 1 for t in inside]])
    # At a truncation, next_observations is where the episode stopped, not the reset state.
    assert not torch.equal(rollout.next_observations[4], rollout.observations[5])
    assert state.episode_length == 2
    more = collect_rollout(env, policy, 3, state)
    assert more.episode_returns == [5.0] and more.episode_ends == [2]


class ConstantValue(torch.nn.Module):
    def __init__(self, value: float) -> None:
        super().__init__()
        self.value = torch.nn.Parameter(torch.tensor(value))

    def forward(self, observations):
        return self.value.expand(observations.shape[:-1])


def test_reinforce_loss_bootstraps_a_truncated_episode_but_not_a_terminated_one():
    observations, mask = pad_episodes([np.zeros((2, 4)), np.zeros((3, 4))])
    batch = EpisodeBatch(observations.float(), torch.zeros(2, 3, dtype=torch.int64),
                         torch.tensor([[1.0, 1.0, 0.0], [1.0, 1.0, 1.0]]), mask,
                         truncated=torch.tensor([False, True]),
                         final_observations=torch.zeros(2, 4))
    config = PolicyGradientConfig(gamma=0.5, normalize_advantages=False)
    loss = reinforce_loss(CategoricalPolicy(4, 2), ConstantValue(4.0), batch, config)
    # Terminated episode: G = [1.5, 1], no bootstrap. Truncated one: G = [1.75, 1.5, 1] plus
    # 0.5^(3−t)·V(final) = [0.125, 0.25, 0.5]·4.
    targets = torch.tensor([1.5, 1.0, 2.25, 2.5, 3.0])
    assert float(loss.value) == pytest.approx(float(((targets - 4.0) ** 2).mean()))


def test_loss_parts_add_up_and_entropy_bonus_enters_with_a_minus_sign():
    env = gym.make("CartPole-v1")
    policy, value_fn = CategoricalPolicy.for_env(env, (8,)), ValueNetwork(4, (8,))
    rollout = collect_rollout(env, policy, 20, RolloutState.start(env, seed=0))
    config = PolicyGradientConfig(entropy_coef=0.01, value_coef=0.5, n_steps=20)
    for advantage in ("gae", "n_step"):
        loss = actor_critic_loss(policy, value_fn, rollout, replace(config, advantage=advantage))
        total = loss.policy + 0.5 * loss.value - 0.01 * loss.entropy
        assert float(loss.total.detach()) == pytest.approx(float(total), rel=1e-6)
        assert float(loss.entropy) == pytest.approx(np.log(2), abs=0.01)  # near uniform
        loss.total.backward()
        assert all(p.grad is not None for p in [*policy.parameters(), *value_fn.parameters()])
    batch = collect_episodes(env, policy, 3, np.random.default_rng(0))
    assert batch.mask.shape[0] == 3 and len(batch.returns) == 3


def test_exploding_learning_rate_stops_with_the_likely_cause():
    config = PolicyGradientConfig(total_steps=3_000, learning_rate=1e30, value_learning_rate=1e30,
                                  max_grad_norm=float("inf"), n_steps=16, hidden=(8,))
    with pytest.raises(DivergenceError, match=r"learning_rate .* too high"):
        train_actor_critic(gym.make("CartPole-v1"), config, seed=0)


# -- training -------------------------------------------------------------------------------
def test_training_is_reproducible_stops_when_asked_and_shows_progress(capsys):
    env = gym.make("CartPole-v1")
    config = PolicyGradientConfig(total_steps=600, n_steps=50, hidden=(8,))
    calls = []

    def stop_at_300(policy, step):
        calls.append(step)
        return step >= 300

    a = train_actor_critic(env, config, seed=3, progress=True, stop_when=stop_at_300)
    b = train_actor_critic(env, config, seed=3)
    assert calls == [50, 100, 150, 200, 250, 300] and a.solved_at_step == 300
    assert len(a.losses) == 6 and len(b.losses) == 12
    assert a.episode_returns == b.episode_returns[:len(a.episode_returns)]
    assert a.episode_end_steps[-1] <= 300 and sum(a.episode_returns) == a.episode_end_steps[-1]
    assert "recent_return" in capsys.readouterr().err
    r = train_reinforce(env, PolicyGradientConfig(total_steps=200, batch_episodes=2,
                                                  use_baseline=False, hidden=(8,)), seed=3)
    assert r.value_fn is None and r.episode_end_steps[-1] == sum(r.episode_returns) >= 200


@pytest.fixture
def one_torch_thread():
    """Tiny networks run 3-4x faster on one thread than on two (no sync per small op)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_reinforce_with_baseline_learns_cartpole(one_torch_thread):
    """Random play scores about 22; a short run must clearly beat it (~3 s on a slow core).

    Seeds 0-3 end at 155-307 (mean of the last 20 episodes) after 15k steps.
    """
    env = gym.make("CartPole-v1")
    config = replace(CARTPOLE_REINFORCE, total_steps=15_000)
    result = train_reinforce(env, config, seed=0)
    assert np.mean(result.episode_returns[:20]) < 50
    assert np.mean(result.episode_returns[-20:]) > 100, result.episode_returns[-20:]
