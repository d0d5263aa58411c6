"""How reliably does the course's DQN solve CartPole-v1? Seeds 0-9, the notebook's protocol.

Per seed, exactly what chapter 02 does live: ``seed_everything(seed)``, one torch thread,
``train_dqn`` with ``CARTPOLE_ROBUST``, stopped by ``SolvedCheck(consecutive=2)`` (greedy mean
≥ 475 over 20 fixed-seed episodes on two checks in a row, checked every 2000 environment
steps, budget 50 000 steps), then 20 *fresh* greedy episodes
(``evaluate_greedy(q_net, seed=123)``, seeds 123-142), which the notebook asserts have mean
≥ 475. Prints seed, solved, steps, seconds (training including the solved checks), fresh
mean and min; then the solved count, how many seeds would pass the notebook's asserts, and
medians.

Runs differ between torch's CPU code paths after a few thousand steps, so check both
(``python benchmarks/cpu_paths.py benchmarks/dqn_seeds.py`` runs the two below):

* pinned path (importing ``mini_lib`` sets ``ATEN_CPU_CAPABILITY=avx2`` unless it is set)::

    python benchmarks/dqn_seeds.py --config robust

* the generic kernels (a stand-in for Apple silicon and CPUs without AVX2)::

    ATEN_CPU_CAPABILITY=default python benchmarks/dqn_seeds.py --config robust

``--config fast`` measures ``CARTPOLE_FAST``, ``--consecutive 1`` the single-check rule;
``--seeds 0 1 2`` overrides the seeds. Run one
benchmark at a time on an otherwise idle core: the seconds are wall-clock.
"""

from __future__ import annotations

import argparse
import os
import time

import gymnasium as gym
import numpy as np
import torch

from mini_lib import seed_everything  # importing mini_lib pins the CPU code path
from mini_lib.deep_q.dqn import CARTPOLE_FAST, CARTPOLE_ROBUST, evaluate_greedy, train_dqn
from mini_lib.evaluation import SOLVED_CARTPOLE, SolvedCheck

CONFIGS = {"fast": CARTPOLE_FAST, "robust": CARTPOLE_ROBUST}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=list(range(10)))
    parser.add_argument("--config", choices=sorted(CONFIGS), default="robust")
    parser.add_argument("--consecutive", type=int, default=2,
                        help="solved checks in a row that stop training (the notebook: 2)")
    args = parser.parse_args()
    config = CONFIGS[args.config]
    torch.set_num_threads(1)
    print(f"DQN on CartPole-v1, config {args.config}: {config}; stop after "
          f"{args.consecutive} solved check(s) in a row")
    print(f"torch CPU capability {torch.backends.cpu.get_cpu_capability()} "
          f"(ATEN_CPU_CAPABILITY={os.environ.get('ATEN_CPU_CAPABILITY', '<unset>')}), "
          f"torch threads 1, load average {os.getloadavg()[0]:.2f}")
    print(f"{'seed':>4} {'solved':>6} {'steps':>7} {'seconds':>8} {'fresh mean':>10} "
          f"{'fresh min':>9}")
    solved_steps, solved_seconds, passed = [], [], 0
    for seed in args.seeds:
        seed_everything(seed)
        check = SolvedCheck(consecutive=args.consecutive)
        start = time.perf_counter()
        result = train_dqn(gym.make("CartPole-v1"), config, seed=seed, stop_when=check)
        seconds = time.perf_counter() - start
        fresh = evaluate_greedy(result.q_net, n_episodes=20, seed=123)
        solved = result.solved_at_step is not None
        steps = result.solved_at_step or config.total_steps
        if solved:
            solved_steps.append(steps)
            solved_seconds.append(seconds)
            passed += bool(fresh.mean() >= SOLVED_CARTPOLE)
        print(f"{seed:>4} {'yes' if solved else 'no':>6} {steps:>7} {seconds:>8.1f} "
              f"{fresh.mean():>10.1f} {fresh.min():>9.0f}", flush=True)
    n = len(args.seeds)
    print(f"solved {len(solved_steps)}/{n}; solved and fresh mean ≥ {SOLVED_CARTPOLE:g} "
          f"(the notebook's asserts) {passed}/{n}")
    if solved_steps:
        print(f"solved runs: median {np.median(solved_steps):.0f} steps, "
              f"{np.median(solved_seconds):.1f} s; worst {max(solved_steps)} steps, "
              f"{max(solved_seconds):.1f} s")
    print(f"load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
