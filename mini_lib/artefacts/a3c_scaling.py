"""Chapter 04's measured scaling of real Hogwild A3C: throughput for 1-4 workers, steps to solve.

Unlike the sweeps this artefact is a *measurement*: A3C is not deterministic (the operating
system interleaves the workers) and throughput depends on the machine and its load, so
regenerating it gives other numbers. The description records the machine, the start method
and the load average before and after; run it on an idle machine::

    python -m mini_lib.artefacts a3c_scaling      # or: python benchmarks/a3c_scaling.py

Throughput: wall env steps per second of all workers together for :data:`WINDOW` seconds,
timed from the first update (so process start-up, several seconds under ``spawn``, is
excluded and stored on its own), and each worker's env steps per CPU-second of its loop.
Steps to solve: ``SolvedCheck(every=5000, n_episodes=20)`` asked in the caller whenever the
global counter moved (the evaluation competes with the workers for the CPU), for 1 and 2
workers over :data:`SEEDS`; an unsolved run counts as the config's ``total_steps``.
"""

from __future__ import annotations

import datetime
import os
import platform
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from mini_lib.artefacts.store import load_arrays, manifest_entry
from mini_lib.evaluation import SOLVED_CARTPOLE, SolvedCheck, evaluate_policy
from mini_lib.policy_gradient.a3c import train_a3c
from mini_lib.policy_gradient.config import CARTPOLE_A3C, PolicyGradientConfig
from mini_lib.policy_gradient.networks import policy_actor
from mini_lib.policy_gradient.training import solved_check

__all__ = ["SEEDS", "SOLVE_WORKERS", "THROUGHPUT_WORKERS", "WINDOW", "A3CScaling", "generate",
           "load_scaling", "machine_description", "measure_throughput", "steps_to_solve"]

THROUGHPUT_WORKERS = (1, 2, 3, 4)
SOLVE_WORKERS = (1, 2)
SEEDS = (0, 1, 2, 3, 4)
WINDOW = 10.0


def machine_description() -> str:
    """CPU model, cores, Python/torch versions, date and load: what the numbers mean."""
    cpuinfo = Path("/proc/cpuinfo")
    models = [line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines()
              if line.startswith("model name")] if cpuinfo.exists() else []
    cpu = models[0] if models else platform.processor() or platform.machine()
    return (f"{cpu}, {os.cpu_count()} logical CPUs, Python {platform.python_version()}, torch "
            f"{torch.__version__}, {datetime.date.today().isoformat()}, load average "
            f"{os.getloadavg()[0]:.2f}")


def measure_throughput(config: PolicyGradientConfig, workers: int, seconds: float = WINDOW,
                       start_method: str | None = None) -> dict[str, float | list[float]]:
    """One run of ``seconds`` seconds of training, timed from the first update."""
    samples: list[tuple[float, int]] = []

    def record(policy, step) -> bool:
        samples.append((time.perf_counter(), step))
        return samples[-1][0] - samples[0][0] >= seconds

    result = train_a3c(replace(config, total_steps=10**9), workers, seed=0,
                       start_method=start_method, stop_when=record)
    (t0, s0), (t1, s1) = samples[0], samples[-1]
    return {"start_up": result.seconds_to_first_update or float("nan"),
            "wall_steps_per_second": (s1 - s0) / (t1 - t0),
            "steps_per_cpu_second": [s / c for s, c in zip(result.worker_steps,
                                                           result.worker_cpu_seconds,
                                                           strict=True)]}


def steps_to_solve(config: PolicyGradientConfig, workers: int, seed: int,
                   start_method: str | None = None) -> dict[str, float]:
    """Env steps and seconds until the greedy policy first scores ≥ 475 (or the budget)."""
    check = SolvedCheck(threshold=SOLVED_CARTPOLE, every=5_000, n_episodes=20)
    result = train_a3c(config, workers, seed=seed, start_method=start_method,
                       stop_when=solved_check(check))
    fresh = evaluate_policy(policy_actor(result.policy), n_episodes=20, seed=123)
    return {"solved": result.solved_at_step is not None,
            "steps": result.solved_at_step or config.total_steps, "seconds": result.seconds,
            "fresh_mean": float(fresh.mean())}


def generate(workers: int = 2, *, config: PolicyGradientConfig = CARTPOLE_A3C,
             seconds: float = WINDOW, seeds: tuple[int, ...] = SEEDS,
             start_method: str | None = None) -> tuple[dict[str, np.ndarray], str]:
    """Measure both tables (``workers`` is unused: the worker counts are the measurement)."""
    torch.set_num_threads(1)
    before = machine_description()
    rows = [measure_throughput(config, n, seconds, start_method) for n in THROUGHPUT_WORKERS]
    per_cpu = np.full((len(rows), max(THROUGHPUT_WORKERS)), np.nan)
    for i, row in enumerate(rows):
        per_cpu[i, : len(row["steps_per_cpu_second"])] = row["steps_per_cpu_second"]
    solves = [[steps_to_solve(config, n, seed, start_method) for seed in seeds]
              for n in SOLVE_WORKERS]
    method = start_method or torch.multiprocessing.get_start_method(allow_none=True) or "fork"
    arrays = {
        "throughput_workers": np.array(THROUGHPUT_WORKERS),
        "wall_steps_per_second": np.array([r["wall_steps_per_second"] for r in rows]),
        "start_up_seconds": np.array([r["start_up"] for r in rows]),
        "steps_per_cpu_second": per_cpu,
        "solve_workers": np.array(SOLVE_WORKERS), "seeds": np.array(seeds),
        "solved": np.array([[s["solved"] for s in row] for row in solves]),
        "solve_steps": np.array([[s["steps"] for s in row] for row in solves]),
        "solve_seconds": np.array([[s["seconds"] for s in row] for row in solves]),
        "fresh_mean": np.array([[s["fresh_mean"] for s in row] for row in solves]),
    }
    description = (f"Chapter 04: real A3C (CARTPOLE_A3C, start method {method}, one torch "
                   f"thread per worker); throughput over {seconds:g} s for 1-4 workers and "
                   f"steps to solve (greedy ≥ 475, checked every 5000 steps) over seeds "
                   f"{list(seeds)} for 1 and 2 workers. Measured on: {before}; load average "
                   f"at the end {os.getloadavg()[0]:.2f}")
    return arrays, description


@dataclass(frozen=True)
class A3CScaling:
    """The stored measurement (arrays as in :func:`generate`) and what it was measured on."""

    arrays: dict[str, np.ndarray]
    description: str

    def __getattr__(self, name: str) -> np.ndarray:
        try:
            return self.__dict__["arrays"][name]
        except KeyError:
            raise AttributeError(name) from None

    @property
    def speedup(self) -> np.ndarray:
        """Wall throughput relative to one worker."""
        return self.wall_steps_per_second / self.wall_steps_per_second[0]


def load_scaling() -> A3CScaling:
    """The checksum-verified measurement from ``data/a3c_scaling.npz``."""
    return A3CScaling(load_arrays("a3c_scaling"), manifest_entry("a3c_scaling")["description"])
