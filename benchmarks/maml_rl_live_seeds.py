"""Chapter 06's live meta-training run (first-order MAML, a 32-32 policy) over seeds, on one
CPU code path.

The notebook trains :data:`mini_lib.demos.ch06_maml_rl.LIVE_RUN` (seed 0) and asserts that
the return after one adaptation step has risen clearly: on held-out goals, and between the
first and last iterations. Those claims must hold on every learner's CPU, whose kernels round
differently in the last bits. Per seed this prints the wall time, the mean query return
(after one step) of iterations 1-10 and of the last 10, and the mean return on 20 held-out
goals (seed 7) before and after one step. Run it on both paths::

    python benchmarks/cpu_paths.py benchmarks/maml_rl_live_seeds.py [--seeds 0 1 2 3 4]
"""

from __future__ import annotations

import argparse
import os

import numpy as np
import torch

from mini_lib.demos.ch06_maml_rl import (
    LIVE_CHECK_GOALS,
    LIVE_CHECK_SEED,
    LIVE_CHECK_TRAJECTORIES,
    LIVE_RUN,
)
from mini_lib.envs.point_navigation import sample_tasks
from mini_lib.tasks.navigation_training import evaluate_adaptation, train_navigation


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"torch CPU capability {torch.backends.cpu.get_cpu_capability()} "
          f"(ATEN_CPU_CAPABILITY={os.environ.get('ATEN_CPU_CAPABILITY', '<unset>')}); {LIVE_RUN}")
    print(f"{'seed':>4} {'seconds':>7} {'after 1 step, its 1-10':>22} {'last 10':>8} "
          f"{'held-out 0 steps':>16} {'1 step':>7}")
    goals = sample_tasks(LIVE_CHECK_GOALS, seed=LIVE_CHECK_SEED)
    for seed in args.seeds:
        run = train_navigation(LIVE_RUN, seed=seed)
        post = np.array(run.post_returns)
        before, after = evaluate_adaptation(run.model, run.params, goals,
                                            LIVE_CHECK_TRAJECTORIES, LIVE_RUN.alpha, 1)
        print(f"{seed:>4} {run.seconds:>7.1f} {post[:10].mean():>22.1f} {post[-10:].mean():>8.1f} "
              f"{before:>16.1f} {after:>7.1f}", flush=True)


if __name__ == "__main__":
    main()
