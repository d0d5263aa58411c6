"""mini_lib A2C against Stable-Baselines3 A2C on CartPole-v1, same run, same machine, same stop.

Three contestants per seed: (a) SB3 A2C with the rl-baselines3-zoo CartPole-v1 settings (8 envs,
5-step rollouts, RMSprop at 7e-4, no entropy bonus), (b) mini_lib ``train_a2c`` with the
course's ``CARTPOLE_A2C`` on ``CARTPOLE_A2C_ENVS`` envs and (c) mini_lib ``train_a2c`` as close
to the zoo settings as the library allows (``MINI_ZOO``; what still differs is printed with the
results). All three stop on one criterion, a fresh :class:`SolvedCheck` per run: greedy mean
return ≥ 475 over 20 fixed-seed episodes on 2 evaluations in a row, evaluated at the first
update at or past every multiple of 2000 env steps (the rule of
:func:`~mini_lib.policy_gradient.training.solved_check`). Budget: 500 000 env steps for the two
zoo runs (the zoo's own), 200 000 for ``CARTPOLE_A2C``. Wall time runs from building the agent
and its envs to the stop and includes the evaluations, for all three. torch uses one thread
for all three. Seeds are the outer loop, so a change in background load hits every contestant
alike.

Stable-Baselines3 is an optional extra, not a course dependency:
``make bench-peer`` or ``pip install -c constraints.txt -e ".[peer]"`` then
``python benchmarks/a2c_vs_sb3.py [--seeds 0 1 2] [--budget N]``.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import os
import platform
import sys
import time
from dataclasses import dataclass

import gymnasium as gym
import numpy as np
import torch

from mini_lib.evaluation import SOLVED_CARTPOLE, SolvedCheck
from mini_lib.policy_gradient.a2c import train_a2c
from mini_lib.policy_gradient.config import (
    CARTPOLE_A2C,
    CARTPOLE_A2C_ENVS,
    PolicyGradientConfig,
)
from mini_lib.policy_gradient.training import solved_check

INSTALL_HINT = ('Stable-Baselines3 is an optional extra of the course. Install it with\n'
                '    make bench-peer\n'
                'or  .venv/bin/pip install -c constraints.txt -e ".[peer]"')

EVERY, N_EPISODES, CONSECUTIVE = 2_000, 20, 2

# rl-baselines3-zoo, hyperparams/a2c.yml, entry "CartPole-v1" (github.com/DLR-RM/rl-baselines3-zoo,
# read at commit 22e3ff2, 2026-04-23); its benchmark.md reports a2c CartPole-v1 500 ± 0 after
# 500k steps. Everything else is an SB3 A2C default, checked in stable-baselines3 2.9.2
# (stable_baselines3/a2c/a2c.py and ActorCriticPolicy): learning_rate 7e-4 (constant),
# n_steps 5, gamma 0.99, gae_lambda 1.0, vf_coef 0.5, max_grad_norm 0.5 (one norm over all
# parameters), RMSprop(alpha 0.99, eps 1e-5), normalize_advantage False, and *separate* 64-64
# tanh MLPs for the policy and the value (net_arch dict(pi=[64, 64], vf=[64, 64]) since SB3 1.8;
# only the trivial Flatten feature extractor is shared) with orthogonal initialisation.
ZOO_CARTPOLE_V1 = {
    "n_envs": 8,
    "n_timesteps": 500_000,
    "policy": "MlpPolicy",
    "ent_coef": 0.0,
}

# The zoo settings in mini_lib terms. With n_steps 5 = the rollout length, "n_step" gives each
# step the return to the end of the rollout, bootstrapped there: the same target as SB3's
# GAE with λ = 1 (both bootstrap a truncated episode from its final observation).
MINI_ZOO = PolicyGradientConfig(
    total_steps=ZOO_CARTPOLE_V1["n_timesteps"], learning_rate=7e-4, value_learning_rate=7e-4,
    gamma=0.99, normalize_advantages=False, entropy_coef=0.0, value_coef=0.5,
    max_grad_norm=0.5, hidden=(64, 64), n_steps=5, advantage="n_step")
MINI_ZOO_ENVS = ZOO_CARTPOLE_V1["n_envs"]

STILL_DIFFERS = (
    "mini-zoo vs SB3 zoo, what still differs: mini_lib trains the two networks with one Adam "
    "(two parameter groups, both at 7e-4), SB3 with one RMSprop (alpha 0.99, eps 1e-5); "
    "mini_lib clips each network's gradient norm to 0.5 on its own, SB3 clips the norm of "
    "all parameters together; SB3 initialises orthogonally (gain √2, 0.01 on the action "
    "head, 1 on the value head), mini_lib uses PyTorch's default initialisation with the "
    "action head scaled by 0.01. Both use separate 64-64 tanh networks for policy and value "
    "(SB3 ≥ 1.8 shares no layers by default), the same n-step/λ = 1 targets and the same "
    "loss weights.")


def new_check() -> SolvedCheck:
    return SolvedCheck(threshold=SOLVED_CARTPOLE, every=EVERY, n_episodes=N_EPISODES,
                       consecutive=CONSECUTIVE)


@dataclass
class Run:
    implementation: str
    settings: str
    seed: int
    solved_at: int | None
    budget: int
    seconds: float
    last_eval: float


def run_sb3(seed: int, budget: int | None) -> Run:
    from stable_baselines3 import A2C
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.env_util import make_vec_env

    class StopWhenSolved(BaseCallback):
        """The shared SolvedCheck on SB3's greedy policy, by solved_check's rule.

        SB3 calls ``_on_step`` after every vector step (8 env steps), *before* the rollout's
        update, so a policy is judged at ``_on_rollout_start`` (and once more at the end of
        training): there the last update has seen exactly ``num_timesteps`` env steps, as in
        mini_lib's ``stop_when``. A solve stops ``learn()`` at the next ``_on_step`` (one more
        vector step, 8 env steps that are never trained on); ``solved_at`` is the evaluated
        step.
        """

        def __init__(self, check: SolvedCheck) -> None:
            super().__init__()
            self.check = check
            self.next_eval = check.every
            self.solved_at: int | None = None

        def _act(self, observations: np.ndarray) -> np.ndarray:
            actions, _ = self.model.predict(observations, deterministic=True)
            return actions

        def _evaluate_if_due(self) -> None:
            step = self.num_timesteps
            if self.solved_at is not None or step < self.next_eval:
                return
            self.next_eval = (step // self.check.every + 1) * self.check.every
            if self.check.evaluate(self._act, step):
                self.solved_at = step

        def _on_rollout_start(self) -> None:
            self._evaluate_if_due()

        def _on_step(self) -> bool:
            return self.solved_at is None

        def _on_training_end(self) -> None:
            self._evaluate_if_due()

    hyper = dict(ZOO_CARTPOLE_V1)
    n_envs = int(hyper.pop("n_envs"))
    zoo_budget = int(hyper.pop("n_timesteps"))
    budget = zoo_budget if budget is None else budget
    policy = hyper.pop("policy")
    callback = StopWhenSolved(new_check())
    start = time.perf_counter()
    env = make_vec_env("CartPole-v1", n_envs=n_envs, seed=seed)
    model = A2C(policy, env, seed=seed, device="cpu", verbose=0, **hyper)
    model.learn(total_timesteps=budget, callback=callback)
    seconds = time.perf_counter() - start
    env.close()
    history = callback.check.history
    return Run("SB3", "zoo", seed, callback.solved_at, budget, seconds,
               history[-1][1] if history else float("nan"))


def run_mini_lib(seed: int, settings: str, config: PolicyGradientConfig, n_envs: int,
                 budget: int | None) -> Run:
    if budget is not None:
        config = dataclasses.replace(config, total_steps=budget)
    check = new_check()
    start = time.perf_counter()
    result = train_a2c(config, n_envs, seed=seed, stop_when=solved_check(check))
    seconds = time.perf_counter() - start
    return Run("mini_lib", settings, seed, result.solved_at_step, config.total_steps, seconds,
               check.history[-1][1] if check.history else float("nan"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--budget", type=int, default=None,
                        help="env-step budget for all three (default: 500 000 for the zoo "
                             "settings, 200 000 for CARTPOLE_A2C)")
    args = parser.parse_args()
    if args.budget is not None and args.budget < 1:
        parser.error("--budget must be ≥ 1")
    if importlib.util.find_spec("stable_baselines3") is None:
        sys.exit(f"error: stable_baselines3 is not installed.\n{INSTALL_HINT}")
    import stable_baselines3

    budget_text = ("500 000 env steps for both zoo settings, 200 000 for CARTPOLE_A2C"
                   if args.budget is None else f"{args.budget} env steps for all three")
    torch.set_num_threads(1)  # all three implementations, the whole run
    run_start = time.perf_counter()
    print("# A2C on CartPole-v1: mini_lib vs Stable-Baselines3\n")
    print(f"command: `python {' '.join(sys.argv)}`  ")
    print(f"date: {time.strftime('%Y-%m-%d %H:%M:%S %Z')}  ")
    print(f"versions: stable-baselines3 {stable_baselines3.__version__}, torch "
          f"{torch.__version__}, gymnasium {gym.__version__}, numpy {np.__version__}, "
          f"Python {platform.python_version()}  ")
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"machine: {os.cpu_count()} CPUs (shared: other jobs may run alongside, so wall "
          f"times are under load), torch threads {torch.get_num_threads()} (set for all "
          f"three), load average (1, 5, 15 min) at start {load}  ")
    print(f"solved: greedy mean return ≥ {SOLVED_CARTPOLE:g} over {N_EPISODES} fixed-seed "
          f"episodes on {CONSECUTIVE} evaluations in a row (SolvedCheck), evaluated at the "
          f"first update at or past every multiple of {EVERY} env steps; budget "
          f"{budget_text}; wall seconds include the evaluations  ")
    print(f"settings: zoo = rl-baselines3-zoo hyperparams/a2c.yml CartPole-v1 "
          f"({ZOO_CARTPOLE_V1['n_envs']} envs, n_steps 5, lr 7e-4, ent_coef 0, RMSprop; SB3 "
          f"defaults otherwise); CARTPOLE_A2C = the course's ({CARTPOLE_A2C_ENVS} envs, "
          f"n_steps {CARTPOLE_A2C.n_steps}, lr {CARTPOLE_A2C.learning_rate:g}, entropy "
          f"{CARTPOLE_A2C.entropy_coef:g}, hidden {CARTPOLE_A2C.hidden}); mini-zoo = "
          f"mini_lib with the zoo's numbers ({MINI_ZOO_ENVS} envs, n_steps "
          f"{MINI_ZOO.n_steps}, lr {MINI_ZOO.learning_rate:g} for both networks, gamma "
          f"{MINI_ZOO.gamma:g}, entropy 0, n-step advantages, no advantage normalisation, "
          f"max_grad_norm {MINI_ZOO.max_grad_norm:g}, hidden {MINI_ZOO.hidden})  ")
    print(f"{STILL_DIFFERS}\n")
    print("| implementation | settings | seed | solved | env steps | wall s | last eval |")
    print("|---|---|---:|---|---:|---:|---:|")
    contestants = [
        ("SB3", "zoo", lambda seed: run_sb3(seed, args.budget)),
        ("mini_lib", "CARTPOLE_A2C",
         lambda seed: run_mini_lib(seed, "CARTPOLE_A2C", CARTPOLE_A2C, CARTPOLE_A2C_ENVS,
                                   args.budget)),
        ("mini_lib", "mini-zoo",
         lambda seed: run_mini_lib(seed, "mini-zoo", MINI_ZOO, MINI_ZOO_ENVS, args.budget)),
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
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"total run time {time.perf_counter() - run_start:.0f} s; load average (1, 5, 15 "
          f"min) at the end {load}")


if __name__ == "__main__":
    main()
