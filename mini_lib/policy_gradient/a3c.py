r"""Asynchronous advantage actor-critic (A3C, Mnih et al. 2016, Algorithm S3), real Hogwild.

Worker processes share one policy, critic and :class:`SharedAdam`; each loops: pull the shared
weights, run ``n_steps`` (t_max) steps, backpropagate locally, push the gradients, step the
shared optimiser, lock-free (Hogwild). Runs differ (the OS interleaves); every exit joins all.
"""

from __future__ import annotations

import contextlib
import copy
import os
import pickle
import signal
import time
import traceback
from collections import namedtuple
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import torch
import torch.multiprocessing as mp
from torch import nn
from tqdm.auto import tqdm

from mini_lib.checks import check_int
from mini_lib.policy_gradient.config import PolicyGradientConfig
from mini_lib.policy_gradient.networks import CategoricalPolicy, ValueNetwork
from mini_lib.policy_gradient.rollout_worker import RolloutWorker, WorkerGradient, make_cartpole
from mini_lib.policy_gradient.shared_adam import SharedAdam
from mini_lib.policy_gradient.updates import build_actor_critic, optimizer_groups

__all__ = ["A3CResult", "A3CShared", "WorkerError", "a3c_worker", "make_cartpole",
           "push_gradients", "train_a3c", "worker_update"]

Nets = tuple[CategoricalPolicy, ValueNetwork]
StopWhen = Callable[[CategoricalPolicy, int], bool]


class WorkerError(RuntimeError):
    """A worker process failed: killed, exited non-zero, or raised (its traceback inside)."""


def push_gradients(local: nn.Module, shared: nn.Module) -> None:
    """``shared_p.grad = local_p.grad`` for every parameter on every update (a shared tensor's
    ``.grad`` is per process); ``ValueError`` names a parameter without a gradient or with
    another shape. The trap: ikostrikov/pytorch-a3c's ``ensure_shared_grads`` returns once
    ``shared_param.grad is not None``, linking the grads only once and relying on in-place
    zeroing. Since torch 2.0 ``zero_grad()`` sets grads to ``None``: the shared grad stays on a
    stale tensor, or on one that accumulates if the local grads are never zeroed."""
    for (name, local_p), shared_p in zip(local.named_parameters(), shared.parameters(),
                                         strict=True):
        if local_p.grad is None:
            raise ValueError(f"local parameter {name!r} has no gradient: call backward first")
        if local_p.shape != shared_p.shape:
            raise ValueError(f"parameter {name!r}: local shape {tuple(local_p.shape)}, "
                             f"shared {tuple(shared_p.shape)}")
        shared_p.grad = local_p.grad


def worker_update(worker: RolloutWorker, shared: Nets, optimizer: torch.optim.Optimizer,
                  n_steps: int, step: int) -> WorkerGradient:
    """One A3C update, in-process: ``worker`` pulls the shared weights, computes its clipped
    gradient on ``n_steps`` steps, pushes it to ``shared``; ``optimizer`` (over ``shared``)
    steps. ``step``: the global step count, for divergence messages."""
    result = worker.gradient(_flat(shared), n_steps, step)
    push_gradients(worker.policy, shared[0])
    push_gradients(worker.value_fn, shared[1])
    optimizer.step()
    return result


#: What every worker gets: networks, optimiser state, counters, stop flag, queue, start count.
A3CShared = namedtuple("A3CShared", ["policy", "value_fn", "optimizer_state", "global_steps",
                                     "worker_steps", "worker_updates", "stop", "messages",
                                     "ready"])


def a3c_worker(rank: int, config: PolicyGradientConfig, seed: int,
               env_factory: Callable[[], gym.Env], shared: A3CShared) -> None:
    """A worker's entry point (top level: spawn imports it). One thread, SIGINT ignored (the
    caller owns interrupts), seed ``seed + rank``; updates until the stop flag or
    ``total_steps`` (overshoot ≤ ``(workers − 1) · n_steps``), then sends ``("done", rank,
    returns, end steps, CPU s)``; leaves if its parent died. On an exception it sends
    ``("error", rank, type, traceback, pickle or None)``, sets the stop flag and exits 1."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    torch.set_num_threads(1)
    parent = os.getppid()
    try:
        worker = RolloutWorker(config, rank, seed, env_factory)
        nets = (shared.policy, shared.value_fn)
        optimizer = SharedAdam(optimizer_groups(*nets, config), state=shared.optimizer_state)
        with shared.ready.get_lock():  # start together: under spawn, start-up takes seconds
            shared.ready.value += 1  # and a worker that starts early could do all the work
        while (shared.ready.get_obj().value < len(shared.worker_steps) and not shared.stop.value
               and os.getppid() == parent):
            time.sleep(0.01)
        returns, end_steps, cpu_start = [], [], time.process_time()
        while not shared.stop.value:
            done = shared.global_steps.get_obj().value
            if done >= config.total_steps or os.getppid() != parent:
                break
            n = min(config.n_steps, config.total_steps - done)
            update = worker_update(worker, nets, optimizer, n, done)
            with shared.global_steps.get_lock():
                shared.global_steps.value += n
                step = shared.global_steps.value
                shared.worker_steps[rank] += n
                shared.worker_updates[rank] += 1
            returns.extend(update.episode_returns)
            end_steps.extend(step - n + t for t in update.episode_ends)
        if os.getppid() == parent:
            shared.messages.put(("done", rank, returns, end_steps, time.process_time() - cpu_start))
    except Exception as exc:
        blob = None
        with contextlib.suppress(Exception):  # an exception that does not pickle: text only
            blob = pickle.dumps(exc)
        shared.stop.value = True
        shared.messages.put(("error", rank, type(exc).__name__, traceback.format_exc(), blob))
        raise SystemExit(1) from None


def _flat(nets: Nets) -> torch.Tensor:
    return nn.utils.parameters_to_vector([p for net in nets for p in net.parameters()]).detach()


@dataclass
class A3CResult:
    """A run: the final networks (plain copies), counters, episodes, timings, solved step."""

    policy: CategoricalPolicy
    value_fn: ValueNetwork
    workers: int
    start_method: str
    initial_parameters: torch.Tensor
    final_parameters: torch.Tensor
    global_steps: int
    worker_steps: list[int]
    worker_updates: list[int]
    worker_cpu_seconds: list[float]
    episode_returns: list[float]
    episode_end_steps: list[int]
    episode_workers: list[int]
    seconds: float
    seconds_to_first_update: float | None
    solved_at_step: int | None

    def invariants(self) -> dict[str, bool]:
        """The timing-free facts every run must satisfy, whatever the interleaving."""
        return {"every worker updated": min(self.worker_updates, default=0) >= 1,
                "global steps == sum of worker steps": self.global_steps == sum(self.worker_steps),
                "shared parameters changed": not torch.equal(self.initial_parameters,
                                                             self.final_parameters),
                "all parameters finite": bool(torch.isfinite(self.final_parameters).all())}


def _describe_exit(rank: int, process: Any) -> str:
    code = process.exitcode
    if code < 0:
        name = signal.Signals(-code).name if -code in signal.valid_signals() else -code
        return f"worker {rank} (pid {process.pid}) was killed by {name}"
    return (f"worker {rank} (pid {process.pid}) exited with code {code} without reporting an "
            f"error (see its stderr; under spawn, is env_factory defined in a notebook cell?)")


def _reported(message: tuple, pid: int | None) -> BaseException:
    _, rank, type_name, text, blob = message
    error = WorkerError(f"worker {rank} (pid {pid}) raised {type_name}:\n{text}")
    try:
        original = pickle.loads(blob)
        original.__cause__ = error
        return original
    except Exception:  # no pickle, or one that does not rebuild
        return error


class _Run:
    """The caller's side; :meth:`shutdown` drops all shared memory (tracebacks keep frames)."""

    def __init__(self, ctx: Any, config: PolicyGradientConfig, workers: int, seed: int,
                 env_factory: Callable[[], gym.Env], progress: bool) -> None:
        env = env_factory()
        policy, value_fn = build_actor_critic(env, config, seed)
        env.close()
        policy.share_memory()
        value_fn.share_memory()
        optimizer = SharedAdam(optimizer_groups(policy, value_fn, config))
        self.shared = A3CShared(policy, value_fn, optimizer.shared_state(), ctx.Value("q", 0),
                                ctx.Array("q", workers, lock=False),
                                ctx.Array("q", workers, lock=False),
                                ctx.Value("b", False, lock=False), ctx.SimpleQueue(),
                                ctx.Value("q", 0))
        self.processes = [ctx.Process(target=a3c_worker, name=f"a3c-worker-{rank}", daemon=True,
                                      args=(rank, config, seed, env_factory, self.shared))
                          for rank in range(workers)]
        self.initial = _flat((policy, value_fn)).clone()
        self.bar = tqdm(total=config.total_steps, disable=not progress, unit="step",
                        desc=f"A3C ({workers} workers)")
        self.done, self.first_update, self.solved_at_step = {}, None, None

    def drain(self, raise_errors: bool = True) -> None:
        while not self.shared.messages.empty():
            message = self.shared.messages.get()
            if message[0] == "done":
                self.done[message[1]] = message
            elif raise_errors:
                raise _reported(message, self.processes[message[1]].pid)

    def supervise(self, stop_when: StopWhen | None) -> float:
        """Start the workers, poll (~20 Hz) until all exit, raise on a failure; wall seconds."""
        copy_of_policy, asked, start = copy.deepcopy(self.shared.policy), 0, time.perf_counter()
        for process in self.processes:
            process.start()  # spawn: PicklingError for a lambda or nested env_factory
        while True:
            self.drain()
            step = self.shared.global_steps.get_obj().value  # no lock: a killed worker may hold it
            if step and self.first_update is None:
                self.first_update = time.perf_counter() - start
            self.bar.update(min(step, self.bar.total) - self.bar.n)
            if stop_when is not None and step > asked and not self.shared.stop.value:
                asked = step
                copy_of_policy.load_state_dict(self.shared.policy.state_dict())
                if stop_when(copy_of_policy, step):
                    self.shared.stop.value = True
                    self.solved_at_step = step
            for rank, process in enumerate(self.processes):
                if process.exitcode not in (None, 0):
                    self.drain()  # a worker that raised has reported before it exited
                    raise WorkerError(_describe_exit(rank, process))
            if all(process.exitcode is not None for process in self.processes):
                self.drain()
                return time.perf_counter() - start
            time.sleep(0.05)

    def finish(self, start_method: str, seconds: float) -> A3CResult:
        """The result, from the (now idle) shared state and the workers' messages."""
        nets, n = (self.shared.policy, self.shared.value_fn), len(self.processes)
        episodes = sorted((end, ret, rank) for rank, message in self.done.items()
                          for ret, end in zip(message[2], message[3], strict=True))
        return A3CResult(
            copy.deepcopy(nets[0]), copy.deepcopy(nets[1]), n, start_method, self.initial,
            _flat(nets).clone(), self.shared.global_steps.get_obj().value,
            list(self.shared.worker_steps), list(self.shared.worker_updates),
            [self.done[r][4] if r in self.done else float("nan") for r in range(n)],
            [e[1] for e in episodes], [e[0] for e in episodes], [e[2] for e in episodes],
            seconds, self.first_update, self.solved_at_step)

    def shutdown(self, timeout: float = 3.0) -> None:
        """Stop flag; join ≤ ``timeout`` s (draining: no worker blocks on a full pipe); kill."""
        self.shared.stop.value = True
        started = [p for p in self.processes if p.pid is not None]
        deadline = time.monotonic() + timeout
        with contextlib.suppress(Exception):  # a message cut short by an interrupt: stop reading
            while any(p.is_alive() for p in started) and time.monotonic() < deadline:
                self.drain(raise_errors=False)
                time.sleep(0.02)
        for method in ("terminate", "kill"):
            for process in [p for p in started if p.is_alive()]:
                getattr(process, method)()
                process.join(1.0)
        for process in [p for p in started if not p.is_alive()]:
            process.close()
        self.shared.messages.close()
        self.bar.close()
        self.shared = self.processes = None


def train_a3c(config: PolicyGradientConfig, workers: int, seed: int = 0, *,
              start_method: str | None = None, env_factory: Callable[[], gym.Env] = make_cartpole,
              progress: bool = False, stop_when: StopWhen | None = None,
              backend: str = "processes", address: str | None = None) -> A3CResult:
    """A3C with ``workers`` processes (1-32) for about ``config.total_steps`` global steps,
    from the networks ``build_actor_critic(env, config, seed)`` makes (as the A2C trainer).

    ``start_method``: None (the platform's default, not fixing it) or one of
    ``multiprocessing.get_all_start_methods()``; under spawn ``env_factory`` must be top-level.
    ``stop_when(policy, step)`` is asked here, on a copy of the shared policy, whenever the
    counter moved; True stops the run. A worker's exception is re-raised (its own type if it
    unpickles, caused by a :class:`WorkerError` with its traceback); a killed worker raises
    :class:`WorkerError`. Every exit (KeyboardInterrupt too) first stops and joins all workers.
    ``backend="ray"``: the same workers as Ray actors (``address``: a cluster to join), see
    :func:`mini_lib.policy_gradient.ray_backend.train_on_ray`."""
    workers = check_int("workers", workers, 1, 32)
    if backend not in ("processes", "ray"):
        raise ValueError(f"backend must be 'processes' or 'ray', got {backend!r}")
    if backend == "ray":
        from mini_lib.policy_gradient.ray_backend import train_on_ray  # optional: imports ray
        return train_on_ray(config, workers, seed, address=address, env_factory=env_factory,
                            progress=progress, stop_when=stop_when)
    methods = mp.get_all_start_methods()
    if start_method is not None and start_method not in methods:
        raise ValueError(f"start_method must be None or one of {methods}, got {start_method!r}")
    method = start_method or mp.get_start_method(allow_none=True) or methods[0]
    run = _Run(mp.get_context(method), config, workers, seed, env_factory, progress)
    try:
        return run.finish(method, run.supervise(stop_when))
    finally:
        run.shutdown()
