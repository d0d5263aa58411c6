"""DQN building blocks: replay memory, TD target (termination vs truncation), config checks."""

import gymnasium as gym
import numpy as np
import pytest
import torch

from mini_lib.checks import DivergenceError
from mini_lib.deep_q.dqn import DQNConfig, QNetwork, td_target, train_dqn
from mini_lib.deep_q.replay import ReplayBuffer, TransitionBatch


def test_replay_buffer_is_a_ring_that_overwrites_the_oldest():
    buffer = ReplayBuffer(3, (2,))
    for i in range(5):
        buffer.add([i, i], i, float(i), [i + 1, i + 1], terminated=(i == 4))
    assert len(buffer) == 3
    assert sorted(buffer.actions.tolist()) == [2, 3, 4]  # 0 and 1 were overwritten
    rng = np.random.default_rng(0)
    batch = TransitionBatch(*(torch.cat(parts) for parts in zip(
        *(vars(buffer.sample(3, rng)).values() for _ in range(300)), strict=True)))
    assert set(batch.actions.tolist()) == {2, 3, 4}
    # Each sampled row is one consistent transition.
    assert torch.equal(batch.observations[:, 0], batch.actions.float())
    assert torch.equal(batch.terminated, (batch.actions == 4).float())


def test_replay_buffer_refuses_a_batch_larger_than_its_content():
    buffer = ReplayBuffer(10, (1,))
    buffer.add([0.0], 0, 0.0, [0.0], False)
    with pytest.raises(ValueError, match="batch_size must be <= the number of stored"):
        buffer.sample(2, np.random.default_rng(0))


class ConstantQ(torch.nn.Module):
    def __init__(self, values):
        super().__init__()
        self.values = torch.tensor(values, dtype=torch.float32)

    def forward(self, observations):
        return self.values.expand(observations.shape[0], -1)


def one_transition(terminated: float) -> TransitionBatch:
    return TransitionBatch(torch.zeros(1, 2), torch.zeros(1, dtype=torch.int64),
                           torch.tensor([1.0]), torch.zeros(1, 2), torch.tensor([terminated]))


def test_td_target_bootstraps_on_truncation_but_not_on_termination():
    target_net = ConstantQ([2.0, 5.0])
    # A time-limit truncation is stored with terminated = 0: the future counts.
    assert td_target(one_transition(0.0), target_net, 0.9).item() == pytest.approx(1 + 0.9 * 5)
    # A real termination: no future value.
    assert td_target(one_transition(1.0), target_net, 0.9).item() == pytest.approx(1.0)


def test_double_dqn_target_uses_online_argmax_and_target_value():
    online, target = ConstantQ([9.0, 0.0]), ConstantQ([2.0, 5.0])
    value = td_target(one_transition(0.0), target, 0.5, online_net=online).item()
    assert value == pytest.approx(1 + 0.5 * 2.0)  # online picks action 0, target says 2


def test_training_stores_truncation_as_not_terminated(monkeypatch):
    """Run a few steps on CartPole with a 5-step time limit: every episode is truncated."""
    stored_flags = []
    original_add = ReplayBuffer.add

    def spy_add(self, observation, action, reward, next_observation, terminated):
        stored_flags.append(terminated)
        original_add(self, observation, action, reward, next_observation, terminated)

    monkeypatch.setattr(ReplayBuffer, "add", spy_add)
    env = gym.make("CartPole-v1", max_episode_steps=5)
    config = DQNConfig(total_steps=40, learning_starts=20, train_every=10, gradient_steps=1,
                       batch_size=8, buffer_size=100, hidden=(8,), target_update_every=1)
    result = train_dqn(env, config, seed=0)
    assert len(result.episode_returns) == 8 and all(r == 5 for r in result.episode_returns)
    assert len(result.losses) == 2
    assert len(stored_flags) == 40 and not any(stored_flags), "truncation stored as terminal"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"learning_rate": -1e-3}, r"learning_rate must be in \(0, inf\], got -0.001"),
        ({"batch_size": 0}, r"batch_size must be an integer in \[1, inf\], got 0"),
        ({"buffer_size": 32, "batch_size": 64}, r"buffer_size must be an integer in \[64, inf\]"),
        ({"gamma": 1.5}, r"gamma must be in \[0, 1\], got 1.5"),
        ({"tau": 0.0}, r"tau must be in \(0, 1\], got 0.0"),
        ({"hidden": ()}, "hidden must be a non-empty tuple"),
        ({"max_abs_q": 0.0}, r"max_abs_q must be in \(0, inf\], got 0.0"),
    ],
)
def test_config_rejects_bad_values(kwargs, message):
    with pytest.raises(ValueError, match=message):
        DQNConfig(**kwargs)


def test_non_discrete_action_space_is_rejected():
    with pytest.raises(ValueError, match="action_space must be Discrete"):
        train_dqn(gym.make("Pendulum-v1"), DQNConfig(total_steps=1))


def test_exploding_learning_rate_stops_with_the_likely_cause():
    env = gym.make("CartPole-v1")
    config = DQNConfig(total_steps=400, learning_rate=1e30, learning_starts=64, train_every=1,
                       gradient_steps=1, batch_size=64, hidden=(16,), max_grad_norm=1e30,
                       use_target=False)
    with pytest.raises(DivergenceError, match=r"learning_rate .* too high"):
        train_dqn(env, config, seed=0)


def test_q_network_shape():
    net = QNetwork(4, 2, (16, 16))
    assert net(torch.zeros(3, 4)).shape == (3, 2)


def test_target_network_is_copied_every_c_gradient_steps(monkeypatch):
    import mini_lib.deep_q.dqn as dqn

    copies = []
    monkeypatch.setattr(dqn, "_update_target", lambda q, t, tau: copies.append(tau))
    config = DQNConfig(total_steps=100, learning_starts=10, train_every=20, gradient_steps=6,
                       batch_size=4, buffer_size=100, hidden=(8,), target_update_every=4)
    result = train_dqn(gym.make("CartPole-v1"), config, seed=0)
    assert len(result.losses) == 5 * 6  # bursts at steps 20, 40, 60, 80, 100
    assert len(copies) == 30 // 4


def test_stop_when_ends_training_and_records_the_step():
    calls = []

    def stop_at_37(q_net, step):
        calls.append(step)
        return step == 37

    config = DQNConfig(total_steps=100, learning_starts=100, hidden=(8,))
    result = train_dqn(gym.make("CartPole-v1"), config, seed=0, stop_when=stop_at_37)
    assert result.solved_at_step == 37 and calls == list(range(1, 38))


def test_exploding_q_values_without_a_target_network_stop_with_the_cause():
    """Huber keeps the loss finite while the estimates run away: caught by max_abs_q."""
    config = DQNConfig(total_steps=3_000, learning_starts=500, train_every=16,
                       gradient_steps=16, hidden=(32, 32), use_target=False, max_abs_q=1e3)
    with pytest.raises(DivergenceError, match=r"Q estimate reached .* no \(or an every-step\) "
                                              r"target network"):
        train_dqn(gym.make("CartPole-v1"), config, seed=0)
