"""Chapter 05's live meta-training run (500 MAML iterations) over seeds, on one CPU code path.

The notebook trains MAML for 500 iterations (seed 0), asserts that one adaptation step then
lowers the validation error, and compares the run with the first 500 iterations of the
stored 10 000-iteration run. Both claims must hold on every learner's CPU, whose kernels
round differently in the last bits. Per seed this prints the mean meta-loss of iterations
1-50 and 451-500, the mean query MSE on 200 validation tasks after 0, 1 and 10 steps, and,
for seed 0 (the stored run's seed), the largest relative difference from the stored curve.
Run it on both paths::

    python benchmarks/cpu_paths.py benchmarks/maml_live_seeds.py [--seeds 0 1 2 3 4]
"""

from __future__ import annotations

import argparse
import os

import numpy as np
import torch

from mini_lib import seed_everything
from mini_lib.artefacts.maml_weights import FAMILY, load_weights
from mini_lib.meta.training import MAMLConfig, evaluate_adaptation, train_meta
from mini_lib.tasks.sinusoid import held_out_tasks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    args = parser.parse_args()
    print(f"torch CPU capability {torch.backends.cpu.get_cpu_capability()} "
          f"(ATEN_CPU_CAPABILITY={os.environ.get('ATEN_CPU_CAPABILITY', '<unset>')})")
    stored = load_weights()["maml.losses"].numpy()[:500]
    validation = held_out_tasks(200, seed=20_000)
    print(f"{'seed':>4} {'loss 1-50':>9} {'loss 451-500':>12} {'MSE 0 steps':>11} "
          f"{'1 step':>7} {'10 steps':>8} {'max rel. diff vs stored':>23}")
    for seed in args.seeds:
        seed_everything(seed)
        live = train_meta(MAMLConfig(iterations=500), FAMILY, seed=seed)
        losses = np.array(live.losses)
        errors = evaluate_adaptation(live.params, FAMILY.loss, validation.support,
                                     validation.query, 0.01, 10).mean(axis=0)
        gap = (f"{np.max(np.abs(losses - stored) / stored):.2e}" if seed == 0 else "")
        print(f"{seed:>4} {losses[:50].mean():>9.4f} {losses[-50:].mean():>12.4f} "
              f"{errors[0]:>11.4f} {errors[1]:>7.4f} {errors[10]:>8.4f} {gap:>23}", flush=True)


if __name__ == "__main__":
    main()
