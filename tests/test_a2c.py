"""A2C (synchronous, N envs) and simulated asynchrony (K virtual workers, staleness τ)."""

from __future__ import annotations

from dataclasses import replace

import gymnasium as gym
import pytest
import torch

from mini_lib.policy_gradient.a2c import collect_rollouts, make_envs, start_states, train_a2c
from mini_lib.policy_gradient.config import CARTPOLE_A2C
from mini_lib.policy_gradient.losses import actor_critic_loss
from mini_lib.policy_gradient.networks import CategoricalPolicy, ValueNetwork
from mini_lib.policy_gradient.rollouts import RolloutState, collect_rollout
from mini_lib.policy_gradient.staleness import simulate_async

SMALL = replace(CARTPOLE_A2C, total_steps=2_000)


def _flat(*modules) -> torch.Tensor:
    return torch.cat([p.detach().flatten() for m in modules for p in m.parameters()])


def test_batched_rollout_matches_single_env_rollouts_step_for_step():
    torch.manual_seed(0)
    policy = CategoricalPolicy(4, 2, (16,))
    envs = make_envs("CartPole-v1", 3)
    batched = collect_rollouts(envs, policy, 60, start_states(envs, seed=7))
    for i in range(3):
        env = gym.make("CartPole-v1")
        single = collect_rollout(env, policy, 60, RolloutState.start(env, 7 + i))
        assert torch.equal(batched.actions[:, i], single.actions)
        assert torch.equal(batched.rewards[:, i], single.rewards)
        assert torch.equal(batched.terminated[:, i], single.terminated)
        torch.testing.assert_close(batched.observations[:, i], single.observations)
        torch.testing.assert_close(batched.next_observations[:, i], single.next_observations)
    assert batched.observations.shape == (60, 3, 4)
    assert sum(batched.terminated.flatten()) == len(batched.episode_returns)


def test_a2c_gradient_is_the_average_of_the_per_env_gradients():
    config = replace(SMALL, normalize_advantages=False)
    torch.manual_seed(1)
    policy, value_fn = CategoricalPolicy(4, 2, (16,)), ValueNetwork(4, (16,))
    envs = make_envs("CartPole-v1", 4)
    rollout = collect_rollouts(envs, policy, 8, start_states(envs, seed=0))
    params = [*policy.parameters(), *value_fn.parameters()]
    together = torch.autograd.grad(actor_critic_loss(policy, value_fn, rollout, config).total,
                                   params)
    per_env = []
    for i in range(4):
        one = type(rollout)(*(x[:, i:i + 1] for x in (
            rollout.observations, rollout.actions, rollout.rewards, rollout.next_observations,
            rollout.terminated, rollout.truncated)))
        per_env.append(torch.autograd.grad(
            actor_critic_loss(policy, value_fn, one, config).total, params))
    for k, g in enumerate(together):
        torch.testing.assert_close(g, torch.stack([pe[k] for pe in per_env]).mean(0))


def test_a2c_is_bit_reproducible():
    first, second = (train_a2c(SMALL, 4, seed=3) for _ in range(2))
    assert torch.equal(_flat(first.policy, first.value_fn), _flat(second.policy, second.value_fn))
    assert first.losses == second.losses
    assert first.episode_returns == second.episode_returns


def test_a2c_counts_env_steps_across_envs():
    result = train_a2c(SMALL, 4, seed=0)
    assert len(result.losses) == -(-SMALL.total_steps // (SMALL.n_steps * 4))
    assert result.episode_end_steps == sorted(result.episode_end_steps)
    assert 0 < result.episode_end_steps[-1] <= SMALL.total_steps + SMALL.n_steps * 4


def test_one_worker_without_staleness_is_exactly_a2c_with_one_env():
    a2c = train_a2c(SMALL, 1, seed=5)
    simulated = simulate_async(SMALL, workers=1, staleness=0, seed=5)
    assert torch.equal(_flat(a2c.policy, a2c.value_fn),
                       _flat(simulated.policy, simulated.value_fn))
    assert a2c.losses == simulated.losses
    assert a2c.episode_returns == simulated.episode_returns


def test_stale_gradients_use_the_parameters_tau_updates_old():
    result = simulate_async(SMALL, workers=3, staleness=4, seed=0)
    assert result.versions == [max(0, u - 4) for u in range(len(result.versions))]
    assert set(result.workers) == {0, 1, 2}
    fresh = simulate_async(SMALL, workers=3, staleness=0, seed=0)
    assert fresh.workers == result.workers  # same seeded order ...
    assert not torch.equal(_flat(fresh.policy), _flat(result.policy))  # ... other parameters


def test_a_stale_update_equals_the_gradient_at_the_old_parameters():
    """Replay the first updates of τ = 2 by hand: update u's gradient is that of the loss at
    θ_{u-2}, applied by Adam to θ_u."""
    config = replace(SMALL, total_steps=5 * SMALL.n_steps)
    result = simulate_async(config, workers=1, staleness=2, seed=0)
    env = gym.make("CartPole-v1")
    torch.manual_seed(0)
    policy, value_fn = CategoricalPolicy(4, 2, config.hidden), ValueNetwork(4, config.hidden)
    groups = [{"params": list(policy.parameters()), "lr": config.learning_rate},
              {"params": list(value_fn.parameters()), "lr": config.value_learning_rate}]
    optimizer = torch.optim.Adam(groups)
    state = RolloutState.start(env, 0)
    snapshots = [_flat(policy, value_fn)]
    stale_policy = CategoricalPolicy(4, 2, config.hidden)
    stale_value = ValueNetwork(4, config.hidden)
    for u in range(5):
        torch.nn.utils.vector_to_parameters(snapshots[max(0, u - 2)],
                                            [*stale_policy.parameters(),
                                             *stale_value.parameters()])
        rollout = collect_rollouts([env], stale_policy, config.n_steps, [state])
        loss = actor_critic_loss(stale_policy, stale_value, rollout, config)
        stale = [list(stale_policy.parameters()), list(stale_value.parameters())]
        grads = torch.autograd.grad(loss.total, [p for g in stale for p in g])
        grads = list(grads)
        for group_start, group in ((0, stale[0]), (len(stale[0]), stale[1])):
            part = grads[group_start:group_start + len(group)]
            norms = torch.stack([torch.linalg.vector_norm(g) for g in part])
            norm = torch.linalg.vector_norm(norms)
            scale = torch.clamp(config.max_grad_norm / (norm + 1e-6), max=1.0)
            grads[group_start:group_start + len(group)] = [g * scale for g in part]
        for p, g in zip([*policy.parameters(), *value_fn.parameters()], grads, strict=True):
            p.grad = g
        optimizer.step()
        snapshots.append(_flat(policy, value_fn))
    torch.testing.assert_close(snapshots[-1], _flat(result.policy, result.value_fn))


@pytest.mark.parametrize(("call", "name"), [
    (lambda: train_a2c(SMALL, 0), "n_envs"),
    (lambda: simulate_async(SMALL, workers=0, staleness=0), "workers"),
    (lambda: simulate_async(SMALL, workers=2, staleness=-1), "staleness"),
    (lambda: train_a2c(SMALL, 2, backend="threads"), "backend"),
    (lambda: train_a2c(SMALL, 2, backend="ray", loss_fn=lambda *a: None), "loss_fn"),
])
def test_bad_arguments_name_the_parameter(call, name):
    with pytest.raises(ValueError, match=name):
        call()
