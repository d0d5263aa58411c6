"""Few-shot accuracy of ProtoNet and Matching (cosine) embeddings vs raw-pixel prototypes.

Trains ``MetricConfig(method)`` (default: 1000 episodes of 20-way 1-shot, 5 queries) on the 400
training classes of ``glyph_split(0)`` for each seed, then scores the 100 unseen test classes
on 1000 episodes per setting (episode rng seed 0, the SAME episodes for every method and the
raw-pixel nearest-prototype baseline). Accuracy is the mean over episodes ± the half-width of
its 95 % normal interval; seconds are the training wall time (one torch thread).

    OMP_NUM_THREADS=1 python benchmarks/fewshot_accuracy.py --seeds 0
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import torch

from mini_lib.evaluation import mean_interval
from mini_lib.fewshot.episodes import sample_episodes
from mini_lib.fewshot.glyphs import glyph_split
from mini_lib.fewshot.metric import METHODS, nearest_prototype_accuracy
from mini_lib.fewshot.training import MetricConfig, episode_accuracies, train_metric

#: (label, n_way, k_shot, n_query) of the evaluation settings.
SETTINGS = (("5-way 1-shot", 5, 1, 15), ("5-way 5-shot", 5, 5, 15), ("20-way 1-shot", 20, 1, 5))
EVAL_EPISODES, EVAL_SEED = 1000, 0
RESULTS = Path(__file__).parent / "results" / "fewshot_accuracy.txt"


def cell(values: torch.Tensor) -> str:
    """``mean ± half-width`` in percent."""
    mean, half = mean_interval(values)
    return f"{100 * mean:.1f} ± {100 * half:.1f}"


def main() -> None:
    """Run the benchmark, print the table and write it to ``RESULTS``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--episodes", type=int, default=MetricConfig().episodes)
    args = parser.parse_args()
    torch.set_num_threads(1)
    split = glyph_split(0)
    episodes = {label: sample_episodes(split.test, EVAL_EPISODES, n_way, k_shot, n_query,
                                       EVAL_SEED)
                for label, n_way, k_shot, n_query in SETTINGS}
    lines = [f"Few-shot accuracy (%) on the 100 test classes of glyph_split(0), "
             f"{EVAL_EPISODES} episodes per setting (rng seed {EVAL_SEED}), mean ± 95 % CI; "
             f"training {args.episodes} episodes of 20-way 1-shot (5 queries), seeds "
             f"{args.seeds}",
             f"torch {torch.__version__}, 1 thread, load average {os.getloadavg()[0]:.2f}",
             "| method | seed | " + " | ".join(label for label, *_ in SETTINGS)
             + " | train s |",
             "|---|---|" + "---|" * len(SETTINGS) + "---|"]
    print(*lines, sep="\n", flush=True)

    def add(line: str) -> None:
        lines.append(line)
        print(line, flush=True)

    add("| raw pixels | - | " + " | ".join(cell(nearest_prototype_accuracy(episodes[label]))
                                          for label, *_ in SETTINGS) + " | - |")
    for method in METHODS:
        for seed in args.seeds:
            config = MetricConfig(method=method, episodes=args.episodes)
            result = train_metric(config, split.train, seed)
            cells = [cell(episode_accuracies(result.model, method, episodes[label]))
                     for label, *_ in SETTINGS]
            add(f"| {method} | {seed} | " + " | ".join(cells) + f" | {result.seconds:.0f} |")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
