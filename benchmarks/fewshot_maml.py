"""Chapter 05's MAML and FOMAML on the glyph episodes: the optimisation-based row.

Meta-trains a :class:`~mini_lib.fewshot.glyph_tasks.GlyphClassifier` (3 stride-2
convolutions of 32 channels, no batch normalisation) with
:func:`mini_lib.meta.training.train_meta` on 5-way 1-shot episodes of the 400 training
classes (meta-batch 16, one inner step of size 0.4 as Finn et al.'s Omniglot setting, Adam
1e-3), then scores it on 1000 episodes of the 100 test classes (rng seed 123, 15 queries per
class) after 0, 1 and 2 steps, beside raw-pixel nearest prototype on the same episodes::

    OMP_NUM_THREADS=1 python benchmarks/fewshot_maml.py maml 1500 0.4 1

Appends its lines to ``benchmarks/results/fewshot_maml.txt``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import torch

from mini_lib.fewshot.episodes import sample_episodes
from mini_lib.fewshot.glyph_tasks import GlyphFamily, adapted_accuracies
from mini_lib.fewshot.glyphs import glyph_split
from mini_lib.fewshot.metric import nearest_prototype_accuracy
from mini_lib.meta.training import MAMLConfig, train_meta

RESULTS = Path(__file__).resolve().parent / "results" / "fewshot_maml.txt"


def main(method: str, iterations: int, alpha: float, steps: int) -> None:
    torch.set_num_threads(1)
    split = glyph_split()
    start = time.perf_counter()
    config = MAMLConfig(method=method, iterations=iterations, meta_batch_size=16, alpha=alpha,
                        inner_steps=steps, outer_lr=1e-3)
    result = train_meta(config, GlyphFamily(split.train), seed=0)
    lines = [f"{method} {iterations} it, alpha {alpha}, {steps} step(s): train "
             f"{time.perf_counter() - start:.0f} s, meta-loss first/last 50 "
             f"{np.mean(result.losses[:50]):.3f}/{np.mean(result.losses[-50:]):.3f}"]
    episodes = sample_episodes(split.test, 1000, 5, 1, 15, 123)
    for k in (0, steps, 2 * steps):
        accuracy = adapted_accuracies(result.model, result.params, episodes, alpha, k)
        half = 1.96 * float(accuracy.std()) / len(accuracy) ** 0.5
        lines.append(f"  5-way 1-shot after {k} step(s): {100 * float(accuracy.mean()):.1f} "
                     f"± {100 * half:.1f} %")
    pixels = nearest_prototype_accuracy(episodes)
    lines.append(f"  raw pixels, same episodes: {100 * float(pixels.mean()):.1f} %")
    print(*lines, sep="\n")
    with RESULTS.open("a") as out:
        out.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]))
