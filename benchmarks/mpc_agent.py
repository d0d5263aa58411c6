"""Model-based meta-RL on actuator tasks: GrBAL's MPC agent against its baselines.

Meta-trains a :class:`~mini_lib.tasks.navigation_dynamics.DynamicsModel` with MAML and
pretrains one on all tasks (``train_meta``, 150 iterations each as in the tests), then plays
:func:`~mini_lib.tasks.navigation_dynamics.held_out_dynamics` (40 actuators) towards
:data:`~mini_lib.tasks.navigation_dynamics.GOAL` with :func:`mini_lib.model_based.mpc.run_mpc`
under five conditions: the oracle (true dynamics), GrBAL (MAML's θ adapted every step on the
last 16 transitions), the pretrained model fine-tuned the same way, the pretrained model
and MAML's θ without adaptation. Prints per
condition and seed the median and mean ± 95 % CI (t-interval over the 40 tasks) of the
return, the share reaching the goal, the one-step prediction error from step 5 on, and the
seconds per episode batch; writes the table to ``benchmarks/results/mpc_agent.txt``::

    OMP_NUM_THREADS=1 python benchmarks/mpc_agent.py [--seeds 0 1 2]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from mini_lib.meta.training import MAMLConfig, train_meta
from mini_lib.model_based.mpc import MPCConfig, run_mpc
from mini_lib.tasks.navigation_dynamics import GOAL, DynamicsFamily, held_out_dynamics

RESULTS = Path(__file__).resolve().parent / "results" / "mpc_agent.txt"
T_QUANTILE = 2.0227  # scipy.stats.t.ppf(0.975, 39); scipy is not a dependency
CONFIG = MPCConfig()  # CEM, 200 sequences of 3 steps; adapt on the last 16 once 5 are in


def summary(returns: np.ndarray) -> str:
    """Median and mean ± 95 % t-interval half-width (t quantile for 40 tasks, 39 d.o.f.)."""
    assert len(returns) == 40, "T_QUANTILE is the one for 40 tasks"
    half = T_QUANTILE * returns.std(ddof=1) / np.sqrt(len(returns))
    return f"{np.median(returns):8.3f} {returns.mean():8.3f} ± {half:5.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    torch.set_num_threads(1)
    family, dynamics = DynamicsFamily(), held_out_dynamics(40)
    lines = [f"MPC {CONFIG} on held_out_dynamics(40), goal {GOAL}, "
             f"torch {torch.__version__}",
             f"{'seed':>4} {'condition':<14} {'median':>8} {'mean ± 95% CI':>16} "
             f"{'reached':>7} {'err t>=5':>8} {'s/batch':>7}"]
    print(*lines, sep="\n", flush=True)
    for seed in args.seeds:
        params = {m: train_meta(MAMLConfig(method=m, iterations=150, meta_batch_size=25,
                                           alpha=0.5), family, seed=seed).params
                  for m in ("maml", "pretrain")}
        conditions = {"oracle": (None, False), "grbal": (params["maml"], True),
                      "fine-tuned": (params["pretrain"], True),
                      "pretrained": (params["pretrain"], False),
                      "maml unadapted": (params["maml"], False)}
        for name, (theta, adapt) in conditions.items():
            start = time.perf_counter()
            rollout = run_mpc(theta, CONFIG, dynamics, GOAL, adapt=adapt, seed=seed,
                              oracle=theta is None)
            seconds = time.perf_counter() - start
            error = rollout.prediction_error[:, 5:].nanmean().item()
            line = (f"{seed:>4} {name:<14} {summary(rollout.returns.numpy())} "
                    f"{rollout.reached.float().mean().item():7.2f} {error:8.3f} {seconds:7.1f}")
            lines.append(line)
            print(line, flush=True)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
