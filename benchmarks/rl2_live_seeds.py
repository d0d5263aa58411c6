"""Chapter 07's live RL² run (10 pulls, 5 arms) over seeds, on one CPU code path.

The notebook trains :data:`mini_lib.demos.ch07_rl2.LIVE_RUN` (seed 0) and asserts that the
agent scores at least 6.3 on 1000 fresh bandits (Duan et al.'s RL² 6.7, random play 5.0), a
claim that must hold on every learner's CPU. Per seed this prints the wall time, the mean
total reward of the first and last 100 training updates, and the mean total reward on the
1000 test bandits with sampled and with most-likely arms. Run it on both paths::

    python benchmarks/cpu_paths.py benchmarks/rl2_live_seeds.py [--seeds 0 1 2 3 4]
"""

from __future__ import annotations

import argparse
import os

import numpy as np
import torch

from mini_lib.demos.ch07_rl2 import LIVE_RUN, evaluation_tasks
from mini_lib.rl2.training import train_rl2
from mini_lib.rl2.trials import evaluate_rl2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"torch CPU capability {torch.backends.cpu.get_cpu_capability()} "
          f"(ATEN_CPU_CAPABILITY={os.environ.get('ATEN_CPU_CAPABILITY', '<unset>')}); {LIVE_RUN}")
    print(f"{'seed':>4} {'seconds':>7} {'first 100':>9} {'last 100':>8} {'test':>6} "
          f"{'test, likeliest arm':>19}")
    tasks = evaluation_tasks(1000, LIVE_RUN.n_arms)
    for seed in args.seeds:
        run = train_rl2(LIVE_RUN, seed=seed)
        sampled = float(evaluate_rl2(run.model, tasks, LIVE_RUN.n_pulls, seed=1).mean())
        likeliest = float(evaluate_rl2(run.model, tasks, LIVE_RUN.n_pulls, seed=1,
                                       greedy=True).mean())
        print(f"{seed:>4} {run.seconds:>7.1f} {np.mean(run.returns[:100]):>9.2f} "
              f"{np.mean(run.returns[-100:]):>8.2f} {sampled:>6.2f} {likeliest:>19.2f}",
              flush=True)


if __name__ == "__main__":
    main()
