r"""Asynchrony made deterministic: K virtual A3C workers in one process, with stale gradients.

What makes Hogwild A3C different from A2C is *staleness*: a worker pulls the shared
parameters, spends a rollout acting, and by the time its gradient arrives, other workers have
already moved the parameters. Its gradient was computed at :math:`\theta_{u-\tau}` but is
applied to :math:`\theta_u`. Real workers are interleaved by the operating system, so no two
runs agree; here K virtual workers take turns in a seeded random order and each one's gradient
is computed on parameters exactly ``staleness`` = τ updates old (a ring buffer of parameter
snapshots). Every run is bit-reproducible, so a notebook can assert what staleness does.

With one worker and τ = 0 this *is* A2C with one environment (a unit test checks it bit for
bit). With K workers, τ = 0 is K environments taking turns, one update each; real A3C with K
equally fast workers sees τ ≈ K − 1.
"""

from __future__ import annotations

import copy
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch.nn.utils import parameters_to_vector, vector_to_parameters
from tqdm.auto import tqdm

from mini_lib.checks import check_int
from mini_lib.policy_gradient.a2c import (
    LossFunction,
    collect_rollouts,
    make_envs,
    start_states,
)
from mini_lib.policy_gradient.config import PolicyGradientConfig
from mini_lib.policy_gradient.losses import actor_critic_loss
from mini_lib.policy_gradient.networks import CategoricalPolicy
from mini_lib.policy_gradient.training import PolicyGradientResult, record_update
from mini_lib.policy_gradient.updates import build_actor_critic, clipped_backward, optimizer_groups

__all__ = ["StaleResult", "simulate_async"]


@dataclass
class StaleResult(PolicyGradientResult):
    """A :class:`PolicyGradientResult` plus, per update, which worker sent it and which
    parameter version (update count) its gradient was computed on."""

    workers: list[int] = field(default_factory=list)
    versions: list[int] = field(default_factory=list)


def simulate_async(
    config: PolicyGradientConfig,
    workers: int,
    staleness: int,
    seed: int = 0,
    *,
    env_id: str = "CartPole-v1",
    progress: bool = False,
    stop_when: Callable[[CategoricalPolicy, int], bool] | None = None,
    loss_fn: LossFunction = actor_critic_loss,
) -> StaleResult:
    """A3C with ``workers`` virtual workers whose gradients are ``staleness`` updates old.

    Update ``u``: a worker drawn by ``numpy.random.default_rng(seed)`` (uniformly, so the order
    is seeded, not round-robin) loads the global parameters of update ``max(0, u − τ)``,
    collects ``config.n_steps`` steps of its own env (seeded ``seed + worker``), computes the
    clipped gradient of ``loss_fn`` on that copy and hands it to the global Adam, which steps
    the *current* parameters. Runs for ``config.total_steps`` env steps or until
    ``stop_when(policy, step)`` says stop (``solved_at_step``).
    """
    workers = check_int("workers", workers, 1, 64)
    staleness = check_int("staleness", staleness, 0, 1000)
    envs = make_envs(env_id, workers)
    policy, value_fn = build_actor_critic(envs[0], config, seed)
    optimizer = torch.optim.Adam(optimizer_groups(policy, value_fn, config))
    local_policy, local_value = copy.deepcopy(policy), copy.deepcopy(value_fn)
    local_groups = [list(local_policy.parameters()), list(local_value.parameters())]
    global_params = [p for group in optimizer.param_groups for p in group["params"]]
    local_params = [p for group in local_groups for p in group]
    states = start_states(envs, seed)
    order = np.random.default_rng(seed)
    history = deque([parameters_to_vector(global_params)], maxlen=staleness + 1)
    result = StaleResult(policy, value_fn)
    start = time.perf_counter()
    step = update = 0
    bar = tqdm(total=config.total_steps, disable=not progress,
               desc=f"simulated A3C ({workers} workers, τ={staleness})", unit="step")
    try:
        while step < config.total_steps:
            worker = int(order.integers(workers)) if workers > 1 else 0
            with torch.no_grad():  # the oldest snapshot kept: τ updates ago
                vector_to_parameters(history[0], local_params)
            rollout = collect_rollouts([envs[worker]], local_policy, config.n_steps,
                                       [states[worker]])
            loss = loss_fn(local_policy, local_value, rollout, config)
            clipped_backward(loss, local_groups, config, step)
            for shared, local in zip(global_params, local_params, strict=True):
                shared.grad = local.grad
            optimizer.step()
            result.workers.append(worker)
            result.versions.append(max(0, update - staleness))
            update += 1
            history.append(parameters_to_vector(global_params).detach())
            record_update(result, loss, rollout.episode_returns,
                          [step + t + 1 for t in rollout.episode_ends], bar,
                          min(config.n_steps, config.total_steps - step))
            step += config.n_steps
            if stop_when is not None and stop_when(policy, step):
                result.solved_at_step = step
                break
    finally:
        bar.close()
        for env in envs:
            env.close()
    result.seconds = time.perf_counter() - start
    return result
