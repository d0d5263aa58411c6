"""How does real Hogwild A3C (``mini_lib.policy_gradient.a3c.train_a3c``) scale on this machine?

Measures throughput for 1-4 workers and steps to solve over seeds for 1 and 2 workers (see
:mod:`mini_lib.artefacts.a3c_scaling` for the exact protocol), stores them as
``data/a3c_scaling.npz`` with the machine's description (the same as
``python -m mini_lib.artefacts a3c_scaling``) and prints them as markdown tables. A3C is not
deterministic and throughput depends on the load: run it on an idle machine::

    python benchmarks/a3c_scaling.py                       # the platform's start method
    python benchmarks/a3c_scaling.py --start-method spawn  # what macOS and Windows use
    python benchmarks/a3c_scaling.py --quick               # smoke run: prints, stores nothing
    python benchmarks/a3c_scaling.py --ray                 # processes beside Ray (the [ray] extra)

``--ray`` stores nothing: it prints env steps per second of the process backend and of the
Ray backend (one local cluster, started once) for 1 and 2 workers at 8 and 512 env steps per
update, timed from each run's first update (Ray's ``ray.init`` and actor start-up are
printed on their own).
"""

from __future__ import annotations

import argparse
import statistics
from dataclasses import replace

import numpy as np

from mini_lib.artefacts.a3c_scaling import A3CScaling, generate, load_scaling
from mini_lib.artefacts.store import save
from mini_lib.policy_gradient.config import CARTPOLE_A3C


def print_tables(scaling: A3CScaling) -> None:
    print(scaling.description, "\n")
    print("| workers | start-up (s) | wall env steps/s | vs 1 worker | per worker steps/CPU-s |")
    print("|---|---|---|---|---|")
    for i, n in enumerate(scaling.throughput_workers):
        per = ", ".join(f"{x:,.0f}" for x in scaling.steps_per_cpu_second[i, :n])
        print(f"| {n} | {scaling.start_up_seconds[i]:.2f} | "
              f"{scaling.wall_steps_per_second[i]:,.0f} | {scaling.speedup[i]:.2f}x | {per} |")
    print("\n| workers | seed | solved | env steps | seconds | fresh mean |")
    print("|---|---|---|---|---|---|")
    for i, n in enumerate(scaling.solve_workers):
        for j, seed in enumerate(scaling.seeds):
            print(f"| {n} | {seed} | {'yes' if scaling.solved[i, j] else 'no'} | "
                  f"{scaling.solve_steps[i, j]:,} | {scaling.solve_seconds[i, j]:.1f} | "
                  f"{scaling.fresh_mean[i, j]:.1f} |")
        print(f"| {n} | all | {int(scaling.solved[i].sum())}/{len(scaling.seeds)} | median "
              f"{statistics.median(scaling.solve_steps[i].tolist()):,.0f} | median "
              f"{np.median(scaling.solve_seconds[i]):.1f} | |")


def compare_with_ray() -> None:
    import os
    import time

    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    import ray

    from mini_lib.artefacts.a3c_scaling import machine_description
    from mini_lib.policy_gradient.a3c import train_a3c

    print(machine_description(), "\n")
    start = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    print(f"ray.init: {time.perf_counter() - start:.1f} s\n")
    print("| backend | env steps per update | workers | env steps/s | first update after |")
    print("|---|---|---|---|---|")
    try:
        for n_steps, total in ((8, 4_000), (512, 24_576)):
            config = replace(CARTPOLE_A3C, n_steps=n_steps, total_steps=total)
            for backend in ("processes", "ray"):
                for workers in (1, 2):
                    run = train_a3c(config, workers, backend=backend)
                    busy = run.seconds - (run.seconds_to_first_update or 0.0)
                    print(f"| {backend} | {n_steps} | {workers} | {run.global_steps / busy:,.0f} "
                          f"| {run.seconds_to_first_update:.2f} s |", flush=True)
    finally:
        start = time.perf_counter()
        ray.shutdown()
        print(f"\nray.shutdown: {time.perf_counter() - start:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--start-method", default=None,
                        help="fork, spawn or forkserver (default: the platform's)")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 2 s windows, seed 0, 20k-step cap; prints, stores nothing")
    parser.add_argument("--ray", action="store_true",
                        help="compare the process and Ray backends (stores nothing)")
    args = parser.parse_args()
    if args.ray:
        compare_with_ray()
        return
    if args.quick:
        arrays, description = generate(config=replace(CARTPOLE_A3C, total_steps=20_000),
                                       seconds=2.0, seeds=(0,), start_method=args.start_method)
        print_tables(A3CScaling(arrays, description))
        return
    arrays, description = generate(start_method=args.start_method)
    path = save("a3c_scaling", arrays, description)
    print(f"wrote {path}\n")
    print_tables(load_scaling())


if __name__ == "__main__":
    main()
