"""How reliably do REINFORCE (with baseline) and actor-critic solve CartPole-v1, per CPU code path?

Chapter 03 trains live and then asserts (1) the run was solved and (2) 20 *fresh* greedy
episodes (``evaluate_policy(policy_actor(policy), n_episodes=20, seed=123)``) average ≥ 475.
Both must hold on every learner's CPU, whose code path rounds differently in the last bits
(a different curve from the first differing bit on). This script measures them, one torch
thread, ``seed_everything(seed)`` before each run, on the path it is started on:

* ``reinforce``: ``CARTPOLE_REINFORCE`` (policy learning rate 5e-3, value 1e-2);
* ``reinforce_lr1e-2`` (not run by default): the preset before issue 12, policy lr 1e-2;
* ``actor_critic``: ``CARTPOLE_ACTOR_CRITIC``;
* ``actor_critic_untuned`` (not run by default): actor-critic at the library default 1e-3.

Stop rule: greedy mean return ≥ 475 over the 20 fixed-seed episodes of
``SolvedCheck(threshold=475, every=2000, n_episodes=20)``, evaluated at the first update at or
past each multiple of 2000 steps (``mini_lib.policy_gradient.training.solved_check``), on
``--consecutive`` evaluations in a row (``SolvedCheck(consecutive=...)``; default 2, the
notebook's rule). ``solved_at_step`` is the step of the last of those evaluations. Seconds are the
training call's wall time, the solved-check evaluations included (as the notebook prints it).

Per method and seed it prints: solved, steps, episodes, seconds, fresh mean and fresh min;
then per method the solved count, how many runs also pass the fresh bar, and medians (an
unsolved run counts as ``total_steps`` = 100 000 steps).

Run on both code paths (the first is what ``import mini_lib`` pins on AVX2 x86-64, the second
stands in for CPUs without AVX2 kernels such as Apple silicon)::

    python benchmarks/pg_seeds.py                              # ATEN_CPU_CAPABILITY=avx2
    ATEN_CPU_CAPABILITY=default python benchmarks/pg_seeds.py  # the portable kernels
    python benchmarks/pg_seeds.py --consecutive 1 --seeds 0 1 2 --methods reinforce

Run one at a time on an idle core: seconds depend on the load.
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import replace

import gymnasium as gym
import numpy as np
import torch

from mini_lib import seed_everything
from mini_lib.evaluation import SOLVED_CARTPOLE, SolvedCheck, evaluate_policy
from mini_lib.policy_gradient.config import (
    CARTPOLE_ACTOR_CRITIC,
    CARTPOLE_REINFORCE,
    PolicyGradientConfig,
)
from mini_lib.policy_gradient.networks import policy_actor
from mini_lib.policy_gradient.training import solved_check, train_actor_critic, train_reinforce

METHODS = {
    "reinforce": ("REINFORCE + baseline", train_reinforce, CARTPOLE_REINFORCE),
    # Before issue 12: the policy's learning rate 1e-2 (as the value network's).
    "reinforce_lr1e-2": ("REINFORCE, policy lr 1e-2", train_reinforce,
                         replace(CARTPOLE_REINFORCE, learning_rate=1e-2)),
    "actor_critic": ("actor-critic GAE(0.95)", train_actor_critic, CARTPOLE_ACTOR_CRITIC),
    # Before tuning: the library's default learning rate 1e-3, same networks and rollouts.
    "actor_critic_untuned": ("actor-critic, lr 1e-3", train_actor_critic,
                             PolicyGradientConfig(hidden=(32, 32))),
}
DEFAULT_METHODS = ["reinforce", "actor_critic"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--methods", nargs="+", choices=sorted(METHODS), default=DEFAULT_METHODS)
    parser.add_argument("--consecutive", type=int, default=2,
                        help="solved-check passes in a row that stop training (the notebook: 2)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"CartPole-v1, seeds {args.seeds}, torch threads 1, stop after {args.consecutive} "
          f"consecutive pass(es) of greedy mean ≥ {SOLVED_CARTPOLE:g} (20 episodes, every 2000 "
          f"steps); fresh = 20 greedy episodes, seeds 123-142")
    print(f"torch {torch.__version__}, CPU capability "
          f"{torch.backends.cpu.get_cpu_capability()}, ATEN_CPU_CAPABILITY="
          f"{os.environ.get('ATEN_CPU_CAPABILITY')}, load average {os.getloadavg()[0]:.2f}")
    print(f"| {'method':26} | seed | solved | steps | episodes | seconds | fresh mean | "
          f"fresh min |")
    print(f"|{'-' * 28}|------|--------|-------|----------|---------|------------|-----------|")
    for key in args.methods:
        label, train, config = METHODS[key]
        steps_list, seconds_list, fresh_means, n_solved, n_pass = [], [], [], 0, 0
        for seed in args.seeds:
            seed_everything(seed)
            torch.set_num_threads(1)
            check = SolvedCheck(threshold=SOLVED_CARTPOLE, every=2_000, n_episodes=20,
                                consecutive=args.consecutive)
            start = time.perf_counter()
            result = train(gym.make("CartPole-v1"), config, seed=seed,
                           stop_when=solved_check(check))
            seconds = time.perf_counter() - start
            fresh = evaluate_policy(policy_actor(result.policy), n_episodes=20, seed=123)
            solved = result.solved_at_step is not None
            steps = result.solved_at_step or config.total_steps
            n_solved += solved
            n_pass += solved and fresh.mean() >= SOLVED_CARTPOLE
            steps_list.append(steps)
            seconds_list.append(seconds)
            fresh_means.append(fresh.mean())
            print(f"| {label:26} | {seed:4d} | {'yes' if solved else 'no':>6} | {steps:5d} | "
                  f"{len(result.episode_returns):8d} | {seconds:7.1f} | {fresh.mean():10.1f} | "
                  f"{fresh.min():9.0f} |", flush=True)
        print(f"| {label:26} | all  | {n_solved}/{len(args.seeds)} solved, "
              f"{n_pass}/{len(args.seeds)} also fresh mean ≥ {SOLVED_CARTPOLE:g}; median "
              f"{np.median(steps_list):.0f} steps, {np.median(seconds_list):.1f} s, fresh mean "
              f"median {np.median(fresh_means):.1f}, lowest {min(fresh_means):.1f} |", flush=True)


if __name__ == "__main__":
    main()
