"""How reliably do REINFORCE (with baseline) and actor-critic solve CartPole-v1? Five seeds.

The chapter's settings, ``CARTPOLE_REINFORCE`` and ``CARTPOLE_ACTOR_CRITIC`` (one env, one
torch thread), and for comparison actor-critic before tuning (learning rate 1e-3). Solved =
greedy mean return ≥ 475 over 20 fixed-seed episodes, checked at the first update at or past
every 2000 steps (``mini_lib.pg_sweep.solved_check``). Reports, per method and seed, the
environment steps, episodes and wall-clock seconds to solve (including the evaluations),
then the success rate and medians.
Run: ``python benchmarks/pg_seeds.py [--seeds 0 1 2] [--methods reinforce actor_critic]``.
"""

from __future__ import annotations

import argparse
import os
import time

import gymnasium as gym
import numpy as np
import torch

from mini_lib.evaluation import SolvedCheck
from mini_lib.pg_sweep import CARTPOLE_ACTOR_CRITIC, solved_check
from mini_lib.policy_gradient import (
    CARTPOLE_REINFORCE,
    PolicyGradientConfig,
    train_actor_critic,
    train_reinforce,
)

METHODS = {
    "reinforce": ("REINFORCE + baseline", train_reinforce, CARTPOLE_REINFORCE),
    "actor_critic": ("actor-critic GAE(0.95)", train_actor_critic, CARTPOLE_ACTOR_CRITIC),
    # Before tuning: the library's default learning rate 1e-3, same networks and rollouts.
    "actor_critic_untuned": ("actor-critic, lr 1e-3", train_actor_critic,
                             PolicyGradientConfig(hidden=(32, 32))),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--methods", nargs="+", choices=sorted(METHODS), default=list(METHODS))
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"CartPole-v1, seeds {args.seeds}, torch threads 1, "
          f"load average {os.getloadavg()[0]:.2f}")
    print(f"| {'method':24} | seed | solved | steps | episodes | seconds |")
    print(f"|{'-' * 26}|------|--------|-------|----------|---------|")
    for key in args.methods:
        label, train, config = METHODS[key]
        solved_steps, solved_seconds = [], []
        for seed in args.seeds:
            check = SolvedCheck()
            start = time.perf_counter()
            result = train(gym.make("CartPole-v1"), config, seed=seed,
                           stop_when=solved_check(check))
            seconds = time.perf_counter() - start
            solved = result.solved_at_step is not None
            steps = result.solved_at_step or config.total_steps
            if solved:
                solved_steps.append(steps)
                solved_seconds.append(seconds)
            print(f"| {label:24} | {seed:4d} | {'yes' if solved else 'no':>6} | {steps:5d} | "
                  f"{len(result.episode_returns):8d} | {seconds:7.1f} |", flush=True)
        rate = f"{len(solved_steps)}/{len(args.seeds)}"
        medians = (f"median {np.median(solved_steps):.0f} steps, "
                   f"{np.median(solved_seconds):.1f} s" if solved_steps else "never solved")
        print(f"| {label:24} | all  | {rate:>6} | {medians} |")


if __name__ == "__main__":
    main()
