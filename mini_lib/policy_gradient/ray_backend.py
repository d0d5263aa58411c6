r"""A3C and A2C on Ray: the same :class:`RolloutWorker`, as remote actors; a parameter server here.

Ray (an optional extra: ``pip install -e ".[ray]"``) runs each worker as an actor
(``ray.remote(RolloutWorker)``), in a local cluster that :func:`ray.init` starts, or on the
cluster at ``address`` (``ray start --head`` on one machine, ``ray start --address=...`` on
the others). There is no shared memory across machines, so the global networks and the Adam
optimiser live in this process, a *parameter server*:

* **A3C** (asynchronous): every worker computes a gradient at the weights it was last sent;
  :func:`ray.wait` returns whichever finishes first, its gradient is applied at once, and
  that worker alone gets the new weights — the same staleness as Hogwild, without locks.
* **A2C** (synchronous): all workers compute at the same weights; their gradients are
  averaged into one step.

Each call costs a round trip (about 2 ms) plus sending the weights, so a remote worker needs
coarse-grained work: hundreds of env steps per call, not A3C's 8. Usage statistics are turned
off (``RAY_USAGE_STATS_ENABLED=0``); Ray writes session logs under ``/tmp/ray`` and, for a
local cluster, an authentication token to ``~/.ray/auth_token``; its log lines go to stderr.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

import gymnasium as gym
import torch
from torch.nn.utils import parameters_to_vector, vector_to_parameters
from tqdm.auto import tqdm

from mini_lib.policy_gradient.a3c import A3CResult, StopWhen, WorkerError
from mini_lib.policy_gradient.config import PolicyGradientConfig
from mini_lib.policy_gradient.rollout_worker import RolloutWorker, WorkerGradient, make_cartpole
from mini_lib.policy_gradient.updates import build_actor_critic, optimizer_groups

__all__ = ["INSTALL_HINT", "train_on_ray"]

INSTALL_HINT = ('Ray is an optional extra of the course; install it with\n'
                '    .venv/bin/pip install -c constraints.txt -e ".[ray]"   (make test does)')


def _ray():
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    try:
        import ray
    except ImportError as error:
        raise ImportError(INSTALL_HINT) from error
    return ray


def _apply(gradient: torch.Tensor, params: list[torch.nn.Parameter],
           optimizer: torch.optim.Optimizer) -> None:
    """Give ``params`` the flat ``gradient`` (copied into ``.grad``) and take one step."""
    grads = [torch.empty_like(p) for p in params]
    vector_to_parameters(gradient, grads)
    for p, g in zip(params, grads, strict=True):
        p.grad = g
    optimizer.step()


def train_on_ray(config: PolicyGradientConfig, workers: int, seed: int = 0, *,
                 synchronous: bool = False, address: str | None = None,
                 env_factory: Callable[[], gym.Env] = make_cartpole, progress: bool = False,
                 stop_when: StopWhen | None = None,
                 record: list[WorkerGradient] | None = None) -> A3CResult:
    """A3C (or, ``synchronous``, A2C) with ``workers`` Ray actors for about
    ``config.total_steps`` env steps, from the networks ``build_actor_critic`` makes.

    Uses the running Ray instance if there is one (and leaves it running); otherwise starts a
    local one, or joins ``address``, and shuts it down at the end, also on an error or an
    interrupt. ``stop_when(policy, step)`` is asked after every applied update. ``record``,
    if given, receives every :class:`WorkerGradient` in the order it was applied (tests replay
    them). A worker's exception is re-raised here; a dead actor raises :class:`WorkerError`.
    """
    ray = _ray()
    started = not ray.is_initialized()
    if started:
        ray.init(address=address, include_dashboard=False, log_to_driver=False,
                 logging_level="ERROR", num_cpus=None if address else max(workers, 1))
    cpus = ray.cluster_resources().get("CPU", 0)
    if cpus < workers:
        if started:
            ray.shutdown()
        raise ValueError(f"workers must be at most the Ray cluster's {cpus:g} CPUs (one actor "
                         f"each), got {workers}; start Ray with more num_cpus or fewer workers")
    env = env_factory()
    policy, value_fn = build_actor_critic(env, config, seed)
    env.close()
    params = [*policy.parameters(), *value_fn.parameters()]
    optimizer = torch.optim.Adam(optimizer_groups(policy, value_fn, config), foreach=False)
    initial = parameters_to_vector(params).detach().clone()
    remote = ray.remote(num_cpus=1)(RolloutWorker)
    actors = [remote.remote(config, rank, seed, env_factory) for rank in range(workers)]
    steps, worker_steps, worker_updates = 0, [0] * workers, [0] * workers
    returns, ends, owners, solved_at = [], [], [], None
    bar = tqdm(total=config.total_steps, disable=not progress, unit="step",
               desc=f"{'A2C' if synchronous else 'A3C'} on Ray ({workers} workers)")
    start, first = time.perf_counter(), None

    def collect(update: WorkerGradient) -> None:
        nonlocal steps
        if record is not None:
            record.append(update)
        worker_steps[update.rank] += update.steps
        worker_updates[update.rank] += 1
        returns.extend(update.episode_returns)
        ends.extend(steps + t for t in update.episode_ends)
        owners.extend([update.rank] * len(update.episode_ends))
        steps += update.steps
        bar.update(min(steps, bar.total) - bar.n)

    try:
        weights = ray.put(parameters_to_vector(params).detach())
        pending = {actor.gradient.remote(weights, None, 0): rank
                   for rank, actor in enumerate(actors)}
        while pending:
            if synchronous:
                updates = ray.get(list(pending))
                pending.clear()
                mean = torch.stack([u.gradient for u in updates]).mean(dim=0)
                _apply(mean, params, optimizer)
                for update in updates:
                    collect(update)
            else:
                ready, _ = ray.wait(list(pending), num_returns=1)
                rank = pending.pop(ready[0])
                update = ray.get(ready[0])
                _apply(update.gradient, params, optimizer)
                collect(update)
            first = first or time.perf_counter() - start
            if stop_when is not None and solved_at is None and stop_when(policy, steps):
                solved_at = steps
            if steps >= config.total_steps or solved_at is not None:
                continue  # let the calls in flight finish (their gradients are applied)
            weights = ray.put(parameters_to_vector(params).detach())
            idle = range(workers) if synchronous else [rank]
            pending.update({actors[r].gradient.remote(weights, None, steps): r for r in idle})
    except ray.exceptions.RayActorError as error:
        raise WorkerError(f"a Ray worker died: {error}") from error
    except ray.exceptions.RayTaskError as error:
        raise error.as_instanceof_cause() from None
    finally:
        bar.close()
        for actor in actors:
            ray.kill(actor)
        if started:
            ray.shutdown()
    final = parameters_to_vector(params).detach().clone()
    return A3CResult(policy, value_fn, workers, "ray", initial, final, steps, worker_steps,
                     worker_updates, [float("nan")] * workers, returns, ends, owners,
                     time.perf_counter() - start, first, solved_at)
