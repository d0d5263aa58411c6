"""The Ray backend of A3C and A2C on a local Ray cluster: the invariants of the process
backend, the parameter server applies exactly the gradients the workers returned, errors
come back, and no Ray process outlives the cluster. Skipped without the [ray] extra (which
`make test` installs)."""

import os
import time
from dataclasses import replace

import psutil
import pytest
import torch

ray = pytest.importorskip("ray")

from mini_lib.policy_gradient.a2c import train_a2c  # noqa: E402
from mini_lib.policy_gradient.a3c import train_a3c  # noqa: E402
from mini_lib.policy_gradient.config import CARTPOLE_A3C  # noqa: E402
from mini_lib.policy_gradient.ray_backend import train_on_ray  # noqa: E402
from mini_lib.policy_gradient.rollout_worker import make_cartpole  # noqa: E402
from mini_lib.policy_gradient.updates import build_actor_critic, optimizer_groups  # noqa: E402

CONFIG = replace(CARTPOLE_A3C, total_steps=2_000)  # 250 updates of 8 steps
RAY_NAMES = ("raylet", "gcs_server", "ray::", "dashboard", "runtime_env_agent", "log_monitor")


def ray_processes() -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["cmdline", "name"]):
        text = " ".join(process.info["cmdline"] or []) + " " + (process.info["name"] or "")
        if process.pid != os.getpid() and any(name in text for name in RAY_NAMES):
            found.append(process)
    return found


def gone_within(seconds: float) -> list[psutil.Process]:
    deadline = time.monotonic() + seconds
    while (left := ray_processes()) and time.monotonic() < deadline:
        time.sleep(0.2)
    return left


def test_a_cluster_it_started_is_shut_down_with_no_ray_process_left():
    """Runs first, before the module's cluster exists."""
    assert not ray.is_initialized()
    result = train_on_ray(replace(CONFIG, total_steps=200), 1)
    assert result.global_steps >= 200 and not ray.is_initialized()
    assert gone_within(15.0) == []


@pytest.fixture(scope="module")
def local_cluster():
    assert not ray.is_initialized()
    # Ray workers do not inherit the driver's sys.path: tests/ (a3c_faults) goes in PYTHONPATH
    tests = os.path.dirname(os.path.abspath(__file__))
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR",
             runtime_env={"env_vars": {"PYTHONPATH": tests}})
    yield
    ray.shutdown()
    assert gone_within(15.0) == [], "Ray processes left after ray.shutdown()"


def replay(records, synchronous: bool, workers: int) -> torch.Tensor:
    """Apply the recorded gradients to fresh networks with a fresh Adam, in the same order."""
    policy, value_fn = build_actor_critic(make_cartpole(), CONFIG, 0)
    params = [*policy.parameters(), *value_fn.parameters()]
    optimizer = torch.optim.Adam(optimizer_groups(policy, value_fn, CONFIG), foreach=False)
    step = workers if synchronous else 1
    for k in range(0, len(records), step):
        grad = torch.stack([r.gradient for r in records[k:k + step]]).mean(dim=0)
        torch.nn.utils.vector_to_parameters(grad, grads := [torch.empty_like(p) for p in params])
        for p, g in zip(params, grads, strict=True):
            p.grad = g
        optimizer.step()
    return torch.nn.utils.parameters_to_vector(params).detach()


@pytest.mark.parametrize("synchronous", [False, True])
def test_a_run_keeps_the_invariants_and_applies_exactly_the_returned_gradients(
        local_cluster, synchronous):
    records = []
    result = train_on_ray(CONFIG, 2, seed=0, synchronous=synchronous, record=records)
    assert result.invariants() == dict.fromkeys(result.invariants(), True)
    assert CONFIG.total_steps <= result.global_steps <= CONFIG.total_steps + 2 * CONFIG.n_steps
    assert sum(result.worker_updates) == len(records) >= 200
    assert {r.rank for r in records} == {0, 1}
    if synchronous:
        assert result.worker_updates[0] == result.worker_updates[1]
    assert torch.equal(replay(records, synchronous, 2), result.final_parameters)
    assert ray.is_initialized()  # a running cluster is reused and left running


def test_the_backends_are_reached_through_train_a3c_and_train_a2c(local_cluster):
    a3c = train_a3c(replace(CONFIG, total_steps=400), 2, backend="ray")
    a2c = train_a2c(replace(CONFIG, total_steps=400), 2, backend="ray")
    assert a3c.start_method == a2c.start_method == "ray"
    assert a2c.worker_updates[0] == a2c.worker_updates[1]
    with pytest.raises(ValueError, match="backend must be"):
        train_a3c(CONFIG, 2, backend="threads")
    with pytest.raises(ValueError, match="workers must be at most the Ray cluster's 2 CPUs"):
        train_on_ray(CONFIG, 3)  # an actor per worker: a third would wait for a CPU forever


def test_a_worker_error_is_re_raised_with_its_own_type(local_cluster):
    import a3c_faults

    with pytest.raises(a3c_faults.InjectedFault, match="injected fault at step 201"):
        train_on_ray(replace(CONFIG, total_steps=10**6), 2,
                     env_factory=a3c_faults.make_failing_cartpole)
