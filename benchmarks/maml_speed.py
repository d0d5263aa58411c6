"""How fast is the course's MAML? vmap vs a loop over tasks, and the time to a useful 1-step fit.

Part 1: meta-iterations per second of second-order MAML (Finn et al.'s sinusoid setup: K = 10,
α = 0.01, 1 inner step, 25 tasks per meta-batch, Adam 1e-3) with the task axis vmapped and with
a Python loop over tasks, after checking both give the same parameters.
Part 2: wall time until the mean query MSE after one adaptation step, on 200 held-out tasks,
is ≤ 0.5; evaluated every ``--every`` iterations (evaluation time included), capped at
``--budget`` seconds. Also prints the 10-step MSE at each evaluation, and the pretrained
baseline for comparison. Run: ``python benchmarks/maml_speed.py [--budget 120]``.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch

from mini_lib.meta.functional import Params
from mini_lib.meta.training import MAMLConfig, evaluate_adaptation, train_meta
from mini_lib.tasks.sinusoid import SinusoidFamily, SinusoidTasks, batch_mse, held_out_tasks

FINN = MAMLConfig()  # α = 0.01, 1 inner step, meta-batch 25, Adam 1e-3
SINUSOIDS = SinusoidFamily()  # K = 10 support and query points, a 1-40-40-1 ReLU network


def mean_errors(params: Params, tasks: SinusoidTasks, max_steps: int = 10) -> np.ndarray:
    """Mean query MSE over ``tasks`` after 0…``max_steps`` steps of α = 0.01."""
    return evaluate_adaptation(params, batch_mse, tasks.support, tasks.query, 0.01,
                               max_steps).mean(axis=0)


def iterations_per_second(iterations: int, vectorized: bool) -> tuple[float, Params]:
    config = MAMLConfig(iterations=iterations, vectorized=vectorized)
    result = train_meta(config, SINUSOIDS, seed=0)
    return iterations / result.seconds, result.params


class Progress:
    """Every ``every`` iterations: 1- and 10-step MSE; stop at the target or the time budget."""

    def __init__(self, every: int, target: float, budget: float) -> None:
        self.tasks = held_out_tasks(200)
        self.every, self.target, self.budget = every, target, budget
        self.start = time.perf_counter()
        self.reached: tuple[int, float] | None = None
        self.history: list[tuple[int, float, float, float]] = []

    def __call__(self, params: Params, iteration: int) -> bool:
        if iteration % self.every:
            return False
        errors = mean_errors(params, self.tasks)
        seconds = time.perf_counter() - self.start
        self.history.append((iteration, seconds, errors[1], errors[10]))
        print(f"{iteration:>9} {seconds:>7.1f} {errors[0]:>7.3f} {errors[1]:>7.3f} "
              f"{errors[10]:>7.3f}", flush=True)
        if self.reached is None and errors[1] <= self.target:
            self.reached = (iteration, seconds)
            return True
        return seconds > self.budget


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=120.0, help="seconds for part 2")
    parser.add_argument("--every", type=int, default=500, help="iterations between checks")
    parser.add_argument("--target", type=float, default=0.5, help="1-step MSE to reach")
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"MAML on sinusoids, torch {torch.__version__}, {os.cpu_count()} CPUs, torch threads "
          f"1, load average {', '.join(f'{x:.2f}' for x in os.getloadavg())}")

    # Part 1: same numbers, different speed.
    loop_rate, loop_params = iterations_per_second(30, vectorized=False)
    vmap_rate, vmap_params = iterations_per_second(30, vectorized=True)
    worst = max(float((loop_params[n] - vmap_params[n]).abs().max()) for n in loop_params)
    vmap_rate, _ = iterations_per_second(300, vectorized=True)
    print(f"meta-iterations/s (MAML, meta-batch 25): vmap {vmap_rate:.1f}, loop over tasks "
          f"{loop_rate:.1f} ({vmap_rate / loop_rate:.1f}x); after 30 iterations the parameters "
          f"differ by at most {worst:.1e}")

    # Part 2: time to a 1-step MSE <= target on 200 held-out tasks.
    print(f"\nMAML (Finn setup) until 1-step MSE <= {args.target} on 200 held-out tasks, "
          f"budget {args.budget:.0f} s")
    print(f"{'iteration':>9} {'wall s':>7} {'0 step':>7} {'1 step':>7} {'10 step':>7}")
    progress = Progress(args.every, args.target, args.budget)
    result = train_meta(FINN, SINUSOIDS, seed=0, stop_when=progress)
    if progress.reached:
        iteration, seconds = progress.reached
        print(f"reached 1-step MSE <= {args.target} after {iteration} iterations, {seconds:.1f} s "
              f"({iteration / result.seconds:.1f} it/s including evaluations)")
    else:
        print(f"NOT reached within {args.budget:.0f} s ({len(result.losses)} iterations)")

    # The baseline it is compared with: one network fitted to all tasks, same evaluation.
    start = time.perf_counter()
    baseline = train_meta(MAMLConfig(method="pretrain", iterations=5_000), SINUSOIDS, seed=0)
    errors = mean_errors(baseline.params, held_out_tasks(200))
    print(f"\npretrained baseline, 5000 iterations in {time.perf_counter() - start:.1f} s: MSE "
          f"{errors[0]:.3f} / {errors[1]:.3f} / {errors[10]:.3f} after 0 / 1 / 10 steps")
    print(f"load average at the end {', '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
