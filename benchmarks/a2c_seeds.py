"""How reliably does A2C (``CARTPOLE_A2C``, 4 envs) solve CartPole-v1, per CPU code path?

Chapter 04 trains A2C live and asserts (1) the run was solved within
``CARTPOLE_A2C.total_steps`` = 200 000 env steps and (2) 20 *fresh* greedy episodes
(``evaluate_policy(policy_actor(policy), n_episodes=20, seed=123)``) average at least the
bar the notebook states. Both must hold on every learner's CPU, whose code path rounds
differently in the last bits (a different curve from the first differing bit on), so this
script measures them over seeds, one torch thread, ``seed_everything(seed)`` before each run,
on the path it is started on (``benchmarks/cpu_paths.py`` runs it on both).

Stop rule (the notebook's): greedy mean return ≥ 475 over the 20 fixed-seed episodes of
``SolvedCheck(every=2000, n_episodes=20, consecutive=2)``, evaluated at the first update at
or past each multiple of 2000 env steps, twice in a row. Seconds are the training call's wall
time, the solved-check evaluations included.

    python benchmarks/a2c_seeds.py --seeds 0 1 2 3 4 5 6 7 8 9
    python benchmarks/cpu_paths.py benchmarks/a2c_seeds.py     # both CPU code paths
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch

from mini_lib import seed_everything
from mini_lib.evaluation import SOLVED_CARTPOLE, SolvedCheck, evaluate_policy
from mini_lib.policy_gradient.a2c import train_a2c
from mini_lib.policy_gradient.config import CARTPOLE_A2C, CARTPOLE_A2C_ENVS
from mini_lib.policy_gradient.networks import policy_actor
from mini_lib.policy_gradient.training import solved_check


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=list(range(10)))
    parser.add_argument("--n-envs", type=int, default=CARTPOLE_A2C_ENVS)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"A2C CARTPOLE_A2C ({args.n_envs} envs, t_max {CARTPOLE_A2C.n_steps}) on CartPole-v1, "
          f"seeds {args.seeds}; stop after 2 consecutive passes of greedy mean ≥ "
          f"{SOLVED_CARTPOLE:g} (20 episodes, every 2000 steps); fresh = 20 greedy episodes, "
          f"seeds 123-142")
    print(f"torch {torch.__version__}, CPU capability {torch.backends.cpu.get_cpu_capability()}, "
          f"ATEN_CPU_CAPABILITY={os.environ.get('ATEN_CPU_CAPABILITY')}, load average "
          f"{os.getloadavg()[0]:.2f}")
    print("| seed | solved | steps | updates | seconds | fresh mean | fresh min |")
    print("|------|--------|-------|---------|---------|------------|-----------|")
    steps_list, seconds_list, fresh_means, n_solved = [], [], [], 0
    for seed in args.seeds:
        seed_everything(seed)
        check = SolvedCheck(threshold=SOLVED_CARTPOLE, every=2_000, n_episodes=20,
                            consecutive=2)
        start = time.perf_counter()
        result = train_a2c(CARTPOLE_A2C, args.n_envs, seed, stop_when=solved_check(check))
        seconds = time.perf_counter() - start
        fresh = evaluate_policy(policy_actor(result.policy), n_episodes=20, seed=123)
        solved = result.solved_at_step is not None
        steps = result.solved_at_step or CARTPOLE_A2C.total_steps
        n_solved += solved
        steps_list.append(steps)
        seconds_list.append(seconds)
        fresh_means.append(fresh.mean())
        print(f"| {seed:4d} | {'yes' if solved else 'no':>6} | {steps:6d} | "
              f"{len(result.losses):7d} | {seconds:7.1f} | {fresh.mean():10.1f} | "
              f"{fresh.min():9.0f} |", flush=True)
    print(f"| all  | {n_solved}/{len(args.seeds)} solved; median {np.median(steps_list):.0f} "
          f"steps (max {max(steps_list)}), {np.median(seconds_list):.1f} s; fresh mean median "
          f"{np.median(fresh_means):.1f}, lowest {min(fresh_means):.1f} |", flush=True)


if __name__ == "__main__":
    main()
