"""Real Hogwild A3C: gradient hand-over, the shared optimiser, invariants, clean shutdown."""

import _thread
import copy
import gc
import multiprocessing
import os
import signal
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import a3c_faults
import psutil
import pytest
import torch

from mini_lib.policy_gradient.a3c import (
    WorkerError,
    make_cartpole,
    push_gradients,
    train_a3c,
    worker_update,
)
from mini_lib.policy_gradient.config import CARTPOLE_ACTOR_CRITIC
from mini_lib.policy_gradient.losses import actor_critic_loss
from mini_lib.policy_gradient.rollout_worker import RolloutWorker
from mini_lib.policy_gradient.rollouts import RolloutState, collect_rollout
from mini_lib.policy_gradient.shared_adam import SharedAdam
from mini_lib.policy_gradient.updates import (
    build_actor_critic,
    clipped_backward,
    optimizer_groups,
)

CONFIG = replace(CARTPOLE_ACTOR_CRITIC, advantage="n_step", n_steps=5, total_steps=1_000)
LONG = replace(CONFIG, total_steps=10**8)  # runs until the fault (or the 60 s guard) stops it
REPO = Path(__file__).resolve().parents[1]


def nets(seed: int = 0):
    return build_actor_critic(make_cartpole(), CONFIG, seed)


def backward(policy, value_fn, seed: int):
    """One clipped backward pass of the actor-critic loss on a fresh rollout."""
    env = make_cartpole()
    rollout = collect_rollout(env, policy, CONFIG.n_steps, RolloutState.start(env, seed))
    loss = actor_critic_loss(policy, value_fn, rollout, CONFIG)
    clipped_backward(loss, [list(policy.parameters()), list(value_fn.parameters())], CONFIG, 0)


def grads(module) -> list[torch.Tensor]:
    return [p.grad.clone() for p in module.parameters()]


# --- push_gradients --------------------------------------------------------------------------

def link_once(local, shared) -> None:
    """ikostrikov/pytorch-a3c's ensure_shared_grads: the bug push_gradients avoids."""
    for local_p, shared_p in zip(local.parameters(), shared.parameters(), strict=True):
        if shared_p.grad is not None:
            return
        shared_p._grad = local_p.grad


@pytest.mark.parametrize("push", [push_gradients, link_once], ids=["push_gradients", "link_once"])
def test_after_two_updates_the_shared_grad_is_the_second_backward_alone(push):
    (local, local_v), (shared, _) = nets(), nets()
    backward(local, local_v, seed=1)
    push(local, shared)
    first = grads(local)
    backward(local, local_v, seed=2)
    push(local, shared)
    second = grads(local)
    assert not all(torch.equal(a, b) for a, b in zip(first, second, strict=True))
    correct = all(torch.equal(p.grad, g) for p, g in zip(shared.parameters(), second, strict=True))
    assert correct is (push is push_gradients)  # the link-once pattern keeps the first grad


def test_push_gradients_names_a_missing_gradient_or_a_shape_mismatch():
    (local, local_v), (shared, _) = nets(), nets()
    with pytest.raises(ValueError, match=r"'net\.0\.weight' has no gradient"):
        push_gradients(local, shared)
    backward(local, local_v, seed=0)
    other = build_actor_critic(make_cartpole(), replace(CONFIG, hidden=(8, 32)), 0)[0]
    with pytest.raises(ValueError, match=r"parameter 'net\.0\.weight': local shape \(32, 4\)"):
        push_gradients(local, other)


def test_one_update_hands_the_shared_networks_exactly_one_backward_pass():
    shared = nets(seed=0)
    worker = RolloutWorker(CONFIG, rank=0, seed=7)  # stale local weights: it must pull first
    twin = RolloutWorker(CONFIG, rank=0, seed=7)  # the same env and random stream
    before = copy.deepcopy(shared)
    optimizer = SharedAdam(optimizer_groups(*shared, CONFIG))
    update = worker_update(worker, shared, optimizer, CONFIG.n_steps, 0)
    weights = torch.nn.utils.parameters_to_vector([*before[0].parameters(),
                                                   *before[1].parameters()])
    expected = twin.gradient(weights.detach(), CONFIG.n_steps)
    assert torch.equal(update.gradient, expected.gradient)
    for before_p, twin_p in zip([*before[0].parameters(), *before[1].parameters()],
                                twin.parameters, strict=True):
        before_p.grad = twin_p.grad
    torch.optim.Adam(optimizer_groups(*before, CONFIG), foreach=False).step()
    for shared_net, before_net in zip(shared, before, strict=True):
        for p, q in zip(shared_net.parameters(), before_net.parameters(), strict=True):
            assert torch.equal(p.grad, q.grad)
            assert torch.equal(p.detach(), q.detach())


# --- SharedAdam ------------------------------------------------------------------------------

def test_shared_adam_is_bit_identical_to_adam_in_one_process():
    (policy, value_fn), (policy2, value_fn2) = nets(), nets()
    shared = SharedAdam(optimizer_groups(policy, value_fn, CONFIG))
    plain = torch.optim.Adam(optimizer_groups(policy2, value_fn2, CONFIG), foreach=False)
    assert shared.is_shared()
    for seed in range(4):
        for p, v, opt in ((policy, value_fn, shared), (policy2, value_fn2, plain)):
            backward(p, v, seed)
            opt.step()
    for p, q in zip([*policy.parameters(), *value_fn.parameters()],
                    [*policy2.parameters(), *value_fn2.parameters()], strict=True):
        assert torch.equal(p, q)
    assert all(float(entry["step"]) == 4 for entry in shared.shared_state())


def test_a_step_in_a_spawned_child_updates_the_parents_state_and_parameters():
    """The child's target lives in tests/a3c_faults.py: this also checks that spawned
    children can import the test helpers (pytest puts tests/ on sys.path, spawn passes it)."""
    params = [torch.nn.Parameter(torch.linspace(-1, 1, 6).reshape(2, 3)),
              torch.nn.Parameter(torch.zeros(3))]
    for p in params:
        p.data.share_memory_()
    optimizer = SharedAdam(params, lr=0.1)
    expected = [torch.nn.Parameter(p.detach().clone()) for p in params]
    ctx = multiprocessing.get_context("spawn")
    child = ctx.Process(target=a3c_faults.adam_steps_in_child,
                        args=(params, optimizer.shared_state(), 0.1, 2))
    child.start()
    child.join(60)
    assert child.exitcode == 0
    reference = torch.optim.Adam(expected, lr=0.1, foreach=False)
    for _ in range(2):
        for p in expected:
            p.grad = p.detach() + 1.0
        reference.step()
    for p, q, entry in zip(params, expected, optimizer.shared_state(), strict=True):
        assert float(entry["step"]) == 2
        assert torch.equal(entry["exp_avg"], reference.state[q]["exp_avg"])
        assert torch.equal(p.detach(), q.detach())


def test_shared_adam_refuses_state_for_other_parameters():
    policy, value_fn = nets()
    state = SharedAdam(policy.parameters()).shared_state()
    with pytest.raises(ValueError, match="one entry per parameter"):
        SharedAdam(value_fn.parameters(), state=state[:2])


# --- arguments -------------------------------------------------------------------------------

@pytest.mark.parametrize("workers", [0, 33, 1.5, "2"])
def test_train_a3c_refuses_a_bad_worker_count(workers):
    with pytest.raises(ValueError, match="workers must be an integer"):
        train_a3c(CONFIG, workers)


def test_train_a3c_refuses_an_unknown_start_method():
    with pytest.raises(ValueError, match=r"start_method must be None or one of .*'threads'"):
        train_a3c(CONFIG, 2, start_method="threads")


# --- real runs -------------------------------------------------------------------------------

def worker_processes() -> list[psutil.Process]:
    """Live children of this process, without multiprocessing's long-lived resource tracker."""
    alive = []
    for child in psutil.Process().children(recursive=True):
        try:
            if (child.status() != psutil.STATUS_ZOMBIE
                    and "resource_tracker" not in " ".join(child.cmdline())):
                alive.append(child)
        except psutil.NoSuchProcess:
            pass
    return alive


def shared_memory_in_use() -> set[str]:
    """torch shared-memory files in /dev/shm, and torch segments or multiprocessing named
    semaphores this process still maps (those are ours, whatever else runs on the machine)."""
    files = {name for name in os.listdir("/dev/shm") if name.startswith("torch_")}
    with open("/proc/self/maps") as maps:
        mapped = {line.split(None, 5)[-1].strip() for line in maps
                  if "/dev/shm/torch_" in line or "/dev/shm/sem.mp-" in line}
    return files | mapped


@pytest.fixture
def leaves_nothing_behind():
    before = shared_memory_in_use()
    yield
    gc.collect()
    assert multiprocessing.active_children() == []
    assert worker_processes() == []
    assert shared_memory_in_use() - before == set()


@pytest.mark.parametrize("start_method", ["spawn", "fork"])
def test_a_real_run_keeps_the_invariants(start_method, leaves_nothing_behind):
    result = train_a3c(CONFIG, 2, seed=0, start_method=start_method)
    assert result.invariants() == dict.fromkeys(result.invariants(), True)
    assert CONFIG.total_steps <= result.global_steps <= CONFIG.total_steps + CONFIG.n_steps
    assert result.start_method == start_method and result.workers == 2
    assert set(result.episode_workers) <= {0, 1}
    assert result.episode_end_steps == sorted(result.episode_end_steps)
    assert not any(p.is_shared() for p in result.policy.parameters())


def fire_when_training(action, delay: float = 0.3):
    """A ``stop_when`` that starts ``threading.Timer(delay, action)`` at the first sign of
    training, and gives up on the run after 60 s (the test then fails, it does not hang)."""
    state = {}

    def stop_when(policy, step) -> bool:
        if not state:
            state["started"] = time.monotonic()
            timer = threading.Timer(delay, lambda: state.setdefault("fired", action()))
            timer.daemon = True
            timer.start()
        return time.monotonic() - state["started"] > 60

    return stop_when, state


@pytest.mark.parametrize(("start_method", "workers"), [("spawn", 1), ("fork", 2)])
def test_a_worker_that_raises_is_re_raised_with_its_own_type(start_method, workers,
                                                              leaves_nothing_behind):
    """Under spawn the exception type must unpickle in the caller (one worker keeps the slow
    spawn start-up short). Every worker's env fails at its step 201; the first report wins.
    (The kill test checks that a healthy worker is stopped.)"""
    with pytest.raises(a3c_faults.InjectedFault, match="injected fault at step 201") as caught:
        train_a3c(LONG, workers, start_method=start_method,
                  env_factory=a3c_faults.make_failing_cartpole)
    assert time.time() - caught.value.args[1] < 5.0
    cause = caught.value.__cause__
    assert isinstance(cause, WorkerError)
    assert "raised InjectedFault" in str(cause) and "a3c_faults.py" in str(cause)


def test_an_exception_that_does_not_unpickle_arrives_as_a_worker_error(leaves_nothing_behind):
    with pytest.raises(WorkerError, match=r"(?s)raised UnpicklableFault.*Traceback"):
        train_a3c(LONG, 2, start_method="fork",
                  env_factory=a3c_faults.make_unpicklable_failing_cartpole)


def test_a_worker_killed_from_outside_stops_the_run(leaves_nothing_behind):
    def kill_a_worker():
        victim = worker_processes()[0]
        victim.send_signal(signal.SIGKILL)
        return victim.pid, time.monotonic()

    stop_when, state = fire_when_training(kill_a_worker)
    with pytest.raises(WorkerError, match=r"worker \d \(pid \d+\) was killed by SIGKILL") as caught:
        train_a3c(LONG, 2, start_method="spawn", stop_when=stop_when)
    pid, killed_at = state["fired"]
    assert time.monotonic() - killed_at < 5.0
    assert f"(pid {pid})" in str(caught.value)


@pytest.fixture
def interrupts_raise():
    """Python's own SIGINT handler, as in a Jupyter kernel: a process started in the background
    (CI, ``nohup``) inherits SIGINT ignored, and then ``interrupt_main`` does nothing."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def test_an_interrupted_cell_re_raises_keyboard_interrupt_after_stopping_workers(
        interrupts_raise, leaves_nothing_behind):
    stop_when, state = fire_when_training(lambda: (_thread.interrupt_main(), time.monotonic()))
    with pytest.raises(KeyboardInterrupt):
        train_a3c(LONG, 2, start_method="spawn", stop_when=stop_when)
    assert time.monotonic() - state["fired"][1] < 5.0


def test_workers_leave_when_their_parent_is_killed():
    code = ("from dataclasses import replace; from mini_lib.policy_gradient.a3c import train_a3c;"
            "from mini_lib.policy_gradient.config import CARTPOLE_ACTOR_CRITIC as c;"
            "train_a3c(replace(c, n_steps=5, total_steps=10**8), 2, start_method='fork')")
    parent = psutil.Popen([sys.executable, "-c", code], cwd=REPO)
    try:
        deadline = time.monotonic() + 60
        while len(parent.children()) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        workers = parent.children()
        assert len(workers) == 2
    finally:
        parent.kill()
        parent.wait(10)
    _, alive = psutil.wait_procs(workers, timeout=5)
    alive = [p for p in alive if p.status() != psutil.STATUS_ZOMBIE]
    assert alive == [], f"orphaned workers {alive}"

