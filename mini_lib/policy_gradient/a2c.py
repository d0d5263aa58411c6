r"""A2C: the synchronous twin of A3C — N environments stepped in lockstep, one averaged update.

Mnih et al. (2016) ran many actor-learners asynchronously; A2C keeps their n-step advantage
actor-critic update but waits for all N actors each step and averages their gradients into
one. That makes it deterministic: with :func:`~mini_lib.seeding.seed_everything` and one torch
thread, a seed gives the same run bit for bit, which is what a notebook can assert.

Each update: every env takes ``config.n_steps`` (A3C's :math:`t_{max}`) steps with the current
policy, one batched network call per time step; the loss (default
:func:`~mini_lib.policy_gradient.losses.actor_critic_loss`, whose mean runs over all
:math:`N \cdot t_{max}` samples) gives one gradient; one clipped Adam step follows.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from functools import partial

import gymnasium as gym
import numpy as np
import torch
from tqdm.auto import tqdm

from mini_lib.checks import check_int
from mini_lib.policy_gradient.config import PolicyGradientConfig
from mini_lib.policy_gradient.losses import PolicyGradientLoss, actor_critic_loss
from mini_lib.policy_gradient.networks import CategoricalPolicy, ValueNetwork, check_policy_env
from mini_lib.policy_gradient.rollouts import Rollout, RolloutState
from mini_lib.policy_gradient.training import PolicyGradientResult, record_update
from mini_lib.policy_gradient.updates import build_actor_critic, gradient_step, optimizer_groups

__all__ = ["LossFunction", "collect_rollouts", "make_envs", "start_states", "train_a2c"]

#: ``loss(policy, value_fn, rollout, config)``: the advantage estimator and its loss.
LossFunction = Callable[[CategoricalPolicy, ValueNetwork, Rollout, PolicyGradientConfig],
                        PolicyGradientLoss]


def make_envs(env_id: str, n_envs: int) -> list[gym.Env]:
    """``n_envs`` independent copies of a Gymnasium environment."""
    n_envs = check_int("n_envs", n_envs, 1, 256)
    return [gym.make(env_id) for _ in range(n_envs)]


def start_states(envs: Sequence[gym.Env], seed: int) -> list[RolloutState]:
    """Reset env ``i`` with seed ``seed + i``; its actions are drawn from its own random stream
    (also seeded ``seed + i``), so env ``i`` sees the same experience whatever ``N`` is."""
    for env in envs:
        check_policy_env(env)
    return [RolloutState.start(env, seed + i) for i, env in enumerate(envs)]


def _sample(logits: np.ndarray, rng: np.random.Generator) -> int:
    """``a ~ softmax(logits)`` by inversion (cheaper than a ``Categorical`` per step)."""
    cumulative = np.cumsum(np.exp(logits - logits.max()))
    action = np.searchsorted(cumulative, rng.random() * cumulative[-1], side="right")
    return int(min(action, len(cumulative) - 1))


def collect_rollouts(envs: Sequence[gym.Env], policy: CategoricalPolicy, n_steps: int,
                     states: Sequence[RolloutState]) -> Rollout:
    """``n_steps`` steps of every env in lockstep: a :class:`Rollout` whose tensors are
    ``(n_steps, N, ...)`` (time first). ``states`` are updated in place; an episode that ends is
    reset. ``episode_ends`` holds the time index ``t`` at which each finished episode ended."""
    n_steps = check_int("n_steps", n_steps, 1)
    if len(envs) != len(states) or not envs:
        raise ValueError(f"need one RolloutState per env, got {len(states)} states for "
                         f"{len(envs)} envs")
    n = len(envs)
    obs = np.empty((n_steps, n, *states[0].observation.shape), dtype=np.float32)
    next_obs = np.empty_like(obs)
    actions = np.empty((n_steps, n), dtype=np.int64)
    rewards = np.empty((n_steps, n), dtype=np.float32)
    terminated = np.zeros((n_steps, n), dtype=bool)
    truncated = np.zeros((n_steps, n), dtype=bool)
    returns, ends = [], []
    for t in range(n_steps):
        obs[t] = np.stack([s.observation for s in states])
        with torch.no_grad():
            logits = policy.logits(torch.from_numpy(obs[t])).numpy()
        for i, (env, state) in enumerate(zip(envs, states, strict=True)):
            actions[t, i] = _sample(logits[i], state.rng)
            observation, reward, term, trunc, _ = env.step(int(actions[t, i]))
            next_obs[t, i] = observation
            rewards[t, i], terminated[t, i], truncated[t, i] = reward, term, trunc
            state.episode_return += float(reward)
            state.episode_length += 1
            if term or trunc:
                returns.append(state.episode_return)
                ends.append(t)
                observation, _ = env.reset()
                state.episode_return, state.episode_length = 0.0, 0
            state.observation = np.asarray(observation, dtype=np.float32)
    return Rollout(torch.from_numpy(obs), torch.from_numpy(actions), torch.from_numpy(rewards),
                   torch.from_numpy(next_obs), torch.from_numpy(terminated),
                   torch.from_numpy(truncated), returns, ends)


def train_a2c(
    config: PolicyGradientConfig,
    n_envs: int,
    seed: int = 0,
    *,
    env_id: str = "CartPole-v1",
    progress: bool = False,
    stop_when: Callable[[CategoricalPolicy, int], bool] | None = None,
    loss_fn: LossFunction = actor_critic_loss,
    backend: str = "local",
) -> PolicyGradientResult:
    """Synchronous advantage actor-critic over ``n_envs`` copies of ``env_id``.

    Each update uses ``config.n_steps`` steps of every env (``n_envs · n_steps`` env steps);
    training ends after ``config.total_steps`` env steps, or when ``stop_when(policy, step)``
    (asked after every update, ``step`` counting env steps) returns True, which records
    ``solved_at_step``. ``loss_fn`` swaps the advantage estimator (chapter 04 uses it to show
    the source article's). ``progress`` shows a tqdm bar with the recent return.

    ``backend="ray"`` runs the synchronous version on Ray instead: ``n_envs`` remote workers
    (one env each, the default ``loss_fn`` only), their gradients averaged into each step, and
    returns the :class:`~mini_lib.policy_gradient.a3c.A3CResult` of
    :func:`~mini_lib.policy_gradient.ray_backend.train_on_ray`.
    """
    if backend not in ("local", "ray"):
        raise ValueError(f"backend must be 'local' or 'ray', got {backend!r}")
    if backend == "ray":
        if loss_fn is not actor_critic_loss:
            raise ValueError("backend='ray' runs RolloutWorker's actor-critic loss; loss_fn "
                             "can only be changed with backend='local'")
        from mini_lib.policy_gradient.ray_backend import train_on_ray  # optional: imports ray
        return train_on_ray(config, n_envs, seed, synchronous=True, progress=progress,
                            stop_when=stop_when, env_factory=partial(gym.make, env_id))
    envs = make_envs(env_id, n_envs)
    policy, value_fn = build_actor_critic(envs[0], config, seed)
    optimizer = torch.optim.Adam(optimizer_groups(policy, value_fn, config))
    states = start_states(envs, seed)
    result = PolicyGradientResult(policy, value_fn)
    start = time.perf_counter()
    step = 0
    bar = tqdm(total=config.total_steps, disable=not progress, desc=f"A2C ({n_envs} envs)",
               unit="step")
    try:
        while step < config.total_steps:
            rollout = collect_rollouts(envs, policy, config.n_steps, states)
            loss = loss_fn(policy, value_fn, rollout, config)
            gradient_step(loss, optimizer, config, step)
            n_new = config.n_steps * n_envs
            record_update(result, loss, rollout.episode_returns,
                          [step + (t + 1) * n_envs for t in rollout.episode_ends], bar,
                          min(n_new, config.total_steps - step))
            step += n_new
            if stop_when is not None and stop_when(policy, step):
                result.solved_at_step = step
                break
    finally:
        bar.close()
        for env in envs:
            env.close()
    result.seconds = time.perf_counter() - start
    return result
