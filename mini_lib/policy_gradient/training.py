r"""The two policy-gradient training loops, REINFORCE and actor-critic, and a solved check.

Both loops are the same three lines per update — collect experience, compute the loss, take a
clipped gradient step — read top to bottom. A later chapter (A3C) reuses
:func:`~mini_lib.policy_gradient.rollouts.collect_rollout` and
:func:`~mini_lib.policy_gradient.losses.actor_critic_loss` in its own workers.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import gymnasium as gym
import numpy as np
import torch
from tqdm.auto import tqdm

from mini_lib.evaluation import SolvedCheck
from mini_lib.policy_gradient.config import PolicyGradientConfig
from mini_lib.policy_gradient.losses import PolicyGradientLoss, actor_critic_loss, reinforce_loss
from mini_lib.policy_gradient.networks import CategoricalPolicy, ValueNetwork, policy_actor
from mini_lib.policy_gradient.rollouts import RolloutState, collect_episodes, collect_rollout
from mini_lib.policy_gradient.updates import build_actor_critic, gradient_step, optimizer_groups

__all__ = ["PolicyGradientResult", "record_update", "solved_check", "train_actor_critic",
           "train_reinforce"]


@dataclass
class PolicyGradientResult:
    """What training produced: the networks, per-episode returns and losses of every update."""

    policy: CategoricalPolicy
    value_fn: ValueNetwork | None
    episode_returns: list[float] = field(default_factory=list)
    episode_end_steps: list[int] = field(default_factory=list)
    losses: list[dict[str, float]] = field(default_factory=list)
    seconds: float = 0.0
    solved_at_step: int | None = None


def _setup(env: gym.Env, config: PolicyGradientConfig, seed: int, with_value: bool):
    policy, value_fn = build_actor_critic(env, config, seed, with_value)
    env.action_space.seed(seed)
    return policy, value_fn, torch.optim.Adam(optimizer_groups(policy, value_fn, config))


def record_update(result: PolicyGradientResult, loss: PolicyGradientLoss, returns: list[float],
            end_steps: list[int], bar: tqdm, n_new_steps: int) -> None:
    result.losses.append(loss.as_floats())
    result.episode_returns.extend(returns)
    result.episode_end_steps.extend(end_steps)
    if returns:
        bar.set_postfix(recent_return=f"{np.mean(result.episode_returns[-10:]):.0f}")
    bar.update(n_new_steps)


def train_reinforce(
    env: gym.Env,
    config: PolicyGradientConfig,
    seed: int = 0,
    *,
    progress: bool = False,
    stop_when: Callable[[CategoricalPolicy, int], bool] | None = None,
) -> PolicyGradientResult:
    """REINFORCE (with a learned baseline if ``config.use_baseline``) for about
    ``config.total_steps`` environment steps, ``config.batch_episodes`` episodes per update.

    ``stop_when(policy, step) -> bool`` is asked after every update; True ends training and
    records ``solved_at_step``. ``progress`` shows a tqdm bar with the recent return.
    """
    policy, value_fn, optimizer = _setup(env, config, seed, config.use_baseline)
    result = PolicyGradientResult(policy, value_fn)
    start = time.perf_counter()
    env.reset(seed=seed)
    rng = np.random.default_rng(seed)
    step = 0
    bar = tqdm(total=config.total_steps, disable=not progress, desc="REINFORCE", unit="step")
    while step < config.total_steps:
        batch = collect_episodes(env, policy, config.batch_episodes, rng)
        loss = reinforce_loss(policy, value_fn, batch, config)
        gradient_step(loss, optimizer, config, step)
        ends = (step + torch.cumsum(batch.lengths, 0)).tolist()
        n_new = int(batch.lengths.sum())
        record_update(result, loss, batch.returns, ends, bar, min(n_new, config.total_steps - step))
        step += n_new
        if stop_when is not None and stop_when(policy, step):
            result.solved_at_step = step
            break
    bar.close()
    result.seconds = time.perf_counter() - start
    return result


def train_actor_critic(
    env: gym.Env,
    config: PolicyGradientConfig,
    seed: int = 0,
    *,
    progress: bool = False,
    stop_when: Callable[[CategoricalPolicy, int], bool] | None = None,
) -> PolicyGradientResult:
    """Advantage actor-critic: one update per ``config.n_steps``-step rollout, for
    ``config.total_steps`` environment steps (the last rollout may be shorter).

    ``stop_when(policy, step) -> bool`` is asked after every update; True ends training and
    records ``solved_at_step``. ``progress`` shows a tqdm bar with the recent return.
    """
    policy, value_fn, optimizer = _setup(env, config, seed, True)
    result = PolicyGradientResult(policy, value_fn)
    start = time.perf_counter()
    state = RolloutState.start(env, seed)
    step = 0
    bar = tqdm(total=config.total_steps, disable=not progress, desc="actor-critic",
               unit="step")
    while step < config.total_steps:
        n = min(config.n_steps, config.total_steps - step)
        rollout = collect_rollout(env, policy, n, state)
        loss = actor_critic_loss(policy, value_fn, rollout, config)
        gradient_step(loss, optimizer, config, step)
        record_update(result, loss, rollout.episode_returns,
                [step + t + 1 for t in rollout.episode_ends], bar, n)
        step += n
        if stop_when is not None and stop_when(policy, step):
            result.solved_at_step = step
            break
    bar.close()
    result.seconds = time.perf_counter() - start
    return result


def solved_check(check: SolvedCheck) -> Callable[[CategoricalPolicy, int], bool]:
    """``stop_when`` for the policy-gradient loops: ``check``'s criterion on the greedy policy.

    :class:`~mini_lib.evaluation.SolvedCheck` evaluates at exact multiples of ``every``;
    REINFORCE advances by whole episodes, so this evaluates at the first update at or past
    each multiple, with :func:`~mini_lib.policy_gradient.networks.policy_actor` (its
    ``history`` and ``consecutive`` rule apply as they are).
    """
    next_eval = [check.every]

    def stop_when(policy: CategoricalPolicy, step: int) -> bool:
        if step < next_eval[0]:
            return False
        next_eval[0] = (step // check.every + 1) * check.every
        return check.evaluate(policy_actor(policy), step)

    return stop_when
