"""Batched torch point navigation against a loop over the Gymnasium env, at meta-training size.

Chapter 06 meta-trains on 20 tasks × 20 trajectories × 100 steps per rollout. This script
steps that batch with random normalised actions both ways — one ``BatchedPointNavigation``
call per time step, or 400 ``gym.make("mini_lib/PointNavigation-v0")`` envs stepped one by
one — and prints env steps per second and the ratio (the issue's bar: ≥ 20×)::

    python benchmarks/navigation_speed.py [--tasks 20 --trajectories 20 --repeats 3]
"""

from __future__ import annotations

import argparse
import time

import gymnasium as gym
import numpy as np
import torch

import mini_lib  # noqa: F401  (registers the environments)
from mini_lib.envs.point_navigation import HORIZON, BatchedPointNavigation, sample_tasks


def batched_rollout(goals: np.ndarray, n_traj: int, actions: torch.Tensor) -> float:
    env = BatchedPointNavigation(goals, n_traj)
    start = time.perf_counter()
    env.reset()
    for t in range(HORIZON):
        env.step(actions[t])
    return time.perf_counter() - start


def looped_rollout(goals: np.ndarray, n_traj: int, actions: np.ndarray) -> float:
    envs = [[gym.make("mini_lib/PointNavigation-v0") for _ in range(n_traj)] for _ in goals]
    start = time.perf_counter()
    for task, row in enumerate(envs):
        for traj, env in enumerate(row):
            env.reset(options={"task": goals[task]})
            for t in range(HORIZON):
                _, _, terminated, truncated, _ = env.step(actions[t, task, traj])
                if terminated or truncated:
                    break
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=20)
    parser.add_argument("--trajectories", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    goals = sample_tasks(args.tasks, seed=0)
    actions = np.random.default_rng(0).normal(size=(HORIZON, args.tasks, args.trajectories, 2))
    actions = actions.astype(np.float32)
    steps = HORIZON * args.tasks * args.trajectories
    batched = min(batched_rollout(goals, args.trajectories, torch.from_numpy(actions))
                  for _ in range(args.repeats))
    looped = min(looped_rollout(goals, args.trajectories, actions) for _ in range(args.repeats))
    print(f"{args.tasks} tasks x {args.trajectories} trajectories x {HORIZON} steps "
          f"({steps} env steps), best of {args.repeats}, one torch thread")
    print(f"batched torch env : {batched * 1000:7.1f} ms  {steps / batched:12,.0f} steps/s")
    print(f"Gymnasium loop    : {looped * 1000:7.1f} ms  {steps / looped:12,.0f} steps/s")
    print(f"speed-up          : {looped / batched:.0f}x")


if __name__ == "__main__":
    main()
