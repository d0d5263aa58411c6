"""mini_lib DQN against Stable-Baselines3 DQN on CartPole-v1, same run, same machine, same stop.

Three contestants per seed: (a) SB3 DQN with the rl-baselines3-zoo CartPole-v1 settings, (b)
mini_lib ``DQNConfig()`` (the same zoo settings) and (c) mini_lib ``CARTPOLE_FAST`` (the
course's settings). All three stop on one criterion, a fresh :class:`SolvedCheck` per run
called after every environment step: greedy mean return ≥ 475 over 20 fixed-seed episodes,
evaluated every 2000 steps, budget 50 000 steps. Wall time runs from building the agent to
the stop and includes the evaluations, for all three. torch uses one thread for all three.
Seeds are the outer loop, so a change in background load hits every contestant alike.

Stable-Baselines3 is an optional extra, not a course dependency:
``make bench-peer`` or ``pip install -c constraints.txt -e ".[peer]"`` then
``python benchmarks/dqn_vs_sb3.py [--seeds 0 1 2]``.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import sys
import time
from dataclasses import dataclass

import gymnasium as gym
import numpy as np
import torch

from mini_lib.deep_q.dqn import CARTPOLE_FAST, DQNConfig, train_dqn
from mini_lib.evaluation import SolvedCheck, greedy_actor

INSTALL_HINT = ('Stable-Baselines3 is an optional extra of the course. Install it with\n'
                '    make bench-peer\n'
                'or  .venv/bin/pip install -c constraints.txt -e ".[peer]"')

# rl-baselines3-zoo, hyperparams/dqn.yml, entry "CartPole-v1" (github.com/DLR-RM/rl-baselines3-zoo).
# target_update_interval counts *environment* steps in SB3; mini_lib counts gradient steps
# (128 = one copy per burst), which is the same schedule with train_freq 256.
ZOO_CARTPOLE_V1 = {
    "n_timesteps": 50_000,
    "policy": "MlpPolicy",
    "learning_rate": 2.3e-3,
    "batch_size": 64,
    "buffer_size": 100_000,
    "learning_starts": 1_000,
    "gamma": 0.99,
    "target_update_interval": 10,
    "train_freq": 256,
    "gradient_steps": 128,
    "exploration_fraction": 0.16,
    "exploration_final_eps": 0.04,
    "policy_kwargs": {"net_arch": [256, 256]},
}


@dataclass
class Run:
    implementation: str
    settings: str
    seed: int
    solved_at: int | None
    budget: int
    seconds: float
    last_eval: float


def check_sb3_q_net(model) -> None:
    """``model.q_net`` maps a float32 observation batch to one Q-value per action.

    Its greedy actions must equal SB3's own deterministic ``predict``, otherwise the shared
    SolvedCheck would be judging something other than the policy SB3 learned.
    """
    # CartPole's observation box is unbounded in the velocities: draw plausible states
    # from a private generator instead (the training RNGs stay untouched).
    shape = (64, *model.observation_space.shape)
    observations = np.random.default_rng(0).normal(0.0, 0.5, shape).astype(np.float32)
    with torch.no_grad():
        q = model.q_net(torch.as_tensor(observations, dtype=torch.float32))
    assert q.dtype == torch.float32 and q.shape == (64, model.action_space.n), q.shape
    predicted, _ = model.predict(observations, deterministic=True)
    assert np.array_equal(greedy_actor(model.q_net)(observations), predicted), \
        "SB3 q_net greedy actions differ from model.predict(deterministic=True)"


def run_sb3(seed: int) -> Run:
    from stable_baselines3 import DQN
    from stable_baselines3.common.callbacks import BaseCallback

    class StopWhenSolved(BaseCallback):
        """Calls the shared SolvedCheck after every environment step; False stops learn()."""

        def __init__(self, check: SolvedCheck) -> None:
            super().__init__()
            self.check = check
            self.solved_at: int | None = None

        def _on_training_start(self) -> None:
            check_sb3_q_net(self.model)

        def _on_step(self) -> bool:
            if self.check(self.model.q_net, self.num_timesteps):
                self.solved_at = self.num_timesteps
                return False
            return True

    hyper = dict(ZOO_CARTPOLE_V1)
    budget = int(hyper.pop("n_timesteps"))
    policy = hyper.pop("policy")
    callback = StopWhenSolved(SolvedCheck())
    start = time.perf_counter()
    model = DQN(policy, gym.make("CartPole-v1"), seed=seed, device="cpu", verbose=0, **hyper)
    model.learn(total_timesteps=budget, callback=callback)
    seconds = time.perf_counter() - start
    history = callback.check.history
    return Run("SB3", "zoo", seed, callback.solved_at, budget, seconds,
               history[-1][1] if history else float("nan"))


def run_mini_lib(seed: int, settings: str, config: DQNConfig) -> Run:
    check = SolvedCheck()
    start = time.perf_counter()
    result = train_dqn(gym.make("CartPole-v1"), config, seed=seed, stop_when=check)
    seconds = time.perf_counter() - start
    return Run("mini_lib", settings, seed, result.solved_at_step, config.total_steps, seconds,
               check.history[-1][1] if check.history else float("nan"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    if importlib.util.find_spec("stable_baselines3") is None:
        sys.exit(f"error: stable_baselines3 is not installed.\n{INSTALL_HINT}")
    import stable_baselines3

    torch.set_num_threads(1)  # both implementations, the whole run
    print("# DQN on CartPole-v1: mini_lib vs Stable-Baselines3\n")
    print(f"command: `python {' '.join(sys.argv)}`  ")
    print(f"date: {time.strftime('%Y-%m-%d %H:%M:%S %Z')}  ")
    print(f"versions: stable-baselines3 {stable_baselines3.__version__}, torch "
          f"{torch.__version__}, gymnasium {gym.__version__}, numpy {np.__version__}, "
          f"Python {platform.python_version()}  ")
    print(f"machine: {os.cpu_count()} CPUs, torch threads {torch.get_num_threads()} "
          f"(set for both), load average at start {os.getloadavg()[0]:.2f}  ")
    print("solved: greedy mean return ≥ 475 over 20 fixed-seed episodes (SolvedCheck), "
          "checked every 2000 env steps; budget 50 000 steps; wall seconds include the "
          "evaluations\n")
    print("| implementation | settings | seed | solved | env steps | wall s | last eval |")
    print("|---|---|---:|---|---:|---:|---:|")
    contestants = [
        ("SB3", "zoo", run_sb3),
        ("mini_lib", "zoo", lambda seed: run_mini_lib(seed, "zoo", DQNConfig())),
        ("mini_lib", "CARTPOLE_FAST",
         lambda seed: run_mini_lib(seed, "CARTPOLE_FAST", CARTPOLE_FAST)),
    ]
    runs: list[Run] = []
    for seed in args.seeds:
        for _, _, run in contestants:
            r = run(seed)
            runs.append(r)
            steps = r.solved_at if r.solved_at is not None else f"({r.budget})"
            print(f"| {r.implementation} | {r.settings} | {r.seed} | "
                  f"{'yes' if r.solved_at is not None else 'no'} | {steps} | "
                  f"{r.seconds:.1f} | {r.last_eval:.1f} |", flush=True)

    print("\n| implementation | settings | solved | median env steps | median wall s | "
          "worst env steps | worst wall s |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for name, settings, _ in contestants:
        mine = [r for r in runs if (r.implementation, r.settings) == (name, settings)]
        solved = [r for r in mine if r.solved_at is not None]
        if solved:
            steps = [r.solved_at for r in solved]
            secs = [r.seconds for r in solved]
            stats = (f"{np.median(steps):.0f} | {np.median(secs):.1f} | {max(steps)} | "
                     f"{max(secs):.1f}")
        else:
            stats = "– | – | – | –"
        print(f"| {name} | {settings} | {len(solved)}/{len(mine)} | {stats} |")
    print("\nMedians and worst cases are over the solved runs; an unsolved run shows its "
          "budget in parentheses.  ")
    print(f"load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
