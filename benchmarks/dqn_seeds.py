"""How reliably does the course's DQN solve CartPole-v1? Five seeds, the notebook's settings.

Solved = greedy mean return ≥ 475 over 20 fixed-seed episodes, checked every 2000 steps.
Reports, per seed, the steps and wall-clock seconds to solve (including the evaluations),
then the success rate. Run: ``make bench`` or ``python benchmarks/dqn_seeds.py [--seeds 0 1 2]``.
"""

from __future__ import annotations

import argparse
import os
import time

import gymnasium as gym
import numpy as np
import torch

from mini_lib.dqn import CARTPOLE_FAST, train_dqn
from mini_lib.evaluation import SolvedCheck


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    args = parser.parse_args()
    torch.set_num_threads(1)
    config = CARTPOLE_FAST
    print(f"DQN on CartPole-v1, {len(args.seeds)} seeds, budget {config.total_steps} steps, "
          f"torch threads 1, load average {os.getloadavg()[0]:.2f}")
    print(f"{'seed':>4} {'solved':>6} {'steps':>7} {'seconds':>8} {'last eval':>9}")
    solved_steps, solved_seconds = [], []
    for seed in args.seeds:
        check = SolvedCheck()
        start = time.perf_counter()
        result = train_dqn(gym.make("CartPole-v1"), config, seed=seed, stop_when=check)
        seconds = time.perf_counter() - start
        solved = result.solved_at_step is not None
        steps = result.solved_at_step or config.total_steps
        if solved:
            solved_steps.append(steps)
            solved_seconds.append(seconds)
        print(f"{seed:>4} {'yes' if solved else 'no':>6} {steps:>7} {seconds:>8.1f} "
              f"{check.history[-1][1] if check.history else float('nan'):>9.1f}", flush=True)
    print(f"solved {len(solved_steps)}/{len(args.seeds)}", end="")
    if solved_steps:
        print(f"; median {np.median(solved_steps):.0f} steps, {np.median(solved_seconds):.1f} s;"
              f" worst {max(solved_steps)} steps, {max(solved_seconds):.1f} s")
    print(f"load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
