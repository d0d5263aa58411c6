"""Chapter 08's asserted claims over seeds, on one CPU code path.

1. The live run (:data:`mini_lib.demos.ch08_families.LIVE_RUN`, the hypernetwork told the
   goal): per training seed, the wall time and the median and worst return on the 40
   held-out goals. The notebook trains seed 0 and asserts a median above −10.
2. The comparison table from the stored runs: per evaluation seed (the action noise of the
   context and scored episodes), every row's median over the 40 goals, so that the asserted
   orderings can be checked against their spread.

Run it on both paths::

    python benchmarks/cpu_paths.py benchmarks/families_seeds.py [--seeds 0 1 2 3 4]
"""

from __future__ import annotations

import argparse
import os

import numpy as np
import torch

from mini_lib.artefacts.families_nav import learner, load_families
from mini_lib.artefacts.maml_nav import load_policies, policy
from mini_lib.demos.ch08_families import (
    LIVE_RUN,
    cavia_returns,
    context_returns,
    given_returns,
    held_out_goals,
    maml_returns,
)
from mini_lib.tasks.navigation_families import train_family


def table(seed: int) -> dict[str, float]:
    """Every comparison row's median return over the 40 goals, with evaluation seed ``seed``."""
    families, goals = load_families(), held_out_goals()
    rows = {run: np.median(given_returns(learner(families, run), goals, seed=seed))
            for run in ("goal_concat", "goal_hyper")}
    for run in ("context_concat", "context_hyper", "context_diagonal"):
        rows[run] = np.median(context_returns(learner(families, run), goals, seed=seed).returns)
    cavia = cavia_returns(learner(families, "cavia"), goals, 1.0, 1, seed=seed)
    maml = maml_returns(*policy(load_policies(), "maml"), goals, 0.1, 1, seed=seed)
    rows |= {"cavia_0": np.median(cavia[0]), "cavia_1": np.median(cavia[1]),
             "maml_0": np.median(maml[0]), "maml_1": np.median(maml[1])}
    return {name: float(value) for name, value in rows.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"torch CPU capability {torch.backends.cpu.get_cpu_capability()} "
          f"(ATEN_CPU_CAPABILITY={os.environ.get('ATEN_CPU_CAPABILITY', '<unset>')}); {LIVE_RUN}")
    goals = held_out_goals()
    print(f"{'seed':>4} {'seconds':>7} {'median':>7} {'worst goal':>10}")
    for seed in args.seeds:
        run = train_family(LIVE_RUN, seed=seed)
        returns = given_returns(run.learner, goals)
        print(f"{seed:>4} {run.seconds:>7.1f} {np.median(returns):>7.2f} {returns.min():>10.2f}",
              flush=True)
    rows = [table(seed) for seed in args.seeds]
    print("comparison table, median over the 40 goals per evaluation seed:")
    for name in rows[0]:
        print(f"  {name:17s} " + " ".join(f"{row[name]:7.2f}" for row in rows))


if __name__ == "__main__":
    main()
