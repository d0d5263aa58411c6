"""Chapter 08 part 3 (issue 20) measured: a self-supervised start against labelled classes, and
the graph learner against message-passing rounds, on the held-out glyph episodes.

1. Contrastive pretraining (``ContrastiveConfig()``, 600 steps) on the 8000 training glyphs with
   their labels thrown away; its embedding scored frozen with nearest prototypes.
2. ProtoNet (``MetricConfig(episodes=500, n_way=min(20, L))``) trained on only the first ``L``
   labelled training classes, from a random start and from the self-supervised start.
3. ``GraphFewShot`` (``GraphConfig()``: 1000 episodes of 5-way 1-shot) for 1, 2 and 3 rounds.

Every learner is scored on chapter 08's held-out evaluation episodes (1000 per setting, the same
for all; mean ± 95 % normal interval over episodes). One training seed: the intervals are over
episodes, not over training runs.

    OMP_NUM_THREADS=1 python benchmarks/fewshot_part3.py      # about 7 min on one core
"""

from __future__ import annotations

from pathlib import Path

import torch

from mini_lib.artefacts.fewshot_glyphs import evaluation_episodes, evaluation_indices, test_features
from mini_lib.evaluation import mean_interval
from mini_lib.fewshot.contrastive import ContrastiveConfig, train_contrastive
from mini_lib.fewshot.glyphs import glyph_split
from mini_lib.fewshot.graph_training import GraphConfig, graph_accuracies, train_graph
from mini_lib.fewshot.metric import indexed_accuracies
from mini_lib.fewshot.training import MetricConfig, train_metric

RESULTS = Path(__file__).parent / "results" / "fewshot_part3.txt"
LABELLED_CLASSES = (5, 20, 50, 400)
SETTINGS = ((5, 1, 15), (20, 1, 5))


def cell(values: torch.Tensor) -> str:
    """``mean ± half-width`` in percent."""
    mean, half = mean_interval(values)
    return f"{100 * mean:5.1f} ± {100 * half:.1f}"


def metric_row(label: str, model: torch.nn.Module | None, seconds: float) -> str:
    """One table row: nearest-prototype accuracy of ``model``'s features in every setting."""
    features = test_features(model)
    cells = [cell(indexed_accuracies("protonet", features, evaluation_indices(*setting)))
             for setting in SETTINGS]
    return f"{label:<44} | " + " | ".join(cells) + f" | {seconds:5.0f}"


def main() -> None:
    """Run the three measurements, print the tables and write them to ``RESULTS``."""
    torch.set_num_threads(1)
    train = glyph_split(0).train
    lines = ["Held-out glyph episodes, accuracy % (mean ± 95 % over 1000 episodes), one seed",
             f"{'learner':<44} | {'5-way 1-shot':>12} | {'20-way 1-shot':>12} | train s",
             metric_row("raw pixels", None, 0.0)]
    print(lines[-1], flush=True)
    unlabelled = torch.from_numpy(train).reshape(-1, 1, 16, 16)
    pretrained = train_contrastive(ContrastiveConfig(), unlabelled, seed=0, progress=True)
    lines.append(metric_row("contrastive, frozen, no labels", pretrained.embedding,
                            pretrained.seconds))
    print(lines[-1], flush=True)
    start = {k: v.clone() for k, v in pretrained.embedding.state_dict().items()}
    for classes in LABELLED_CLASSES:
        config = MetricConfig(episodes=500, n_way=min(20, classes))
        for name, state in (("random start", None), ("contrastive start", start)):
            result = train_metric(config, train[:classes], seed=0, initial_state=state)
            lines.append(metric_row(f"ProtoNet, {classes} labelled classes, {name}",
                                    result.model, result.seconds))
            print(lines[-1], flush=True)
    episodes = evaluation_episodes(*SETTINGS[0])
    lines += ["", f"{'graph learner (5-way 1-shot training)':<44} | {'5-way 1-shot':>12} | train s"]
    for rounds in (1, 2, 3):
        result = train_graph(GraphConfig(rounds=rounds), train, seed=0)
        lines.append(f"{f'GraphFewShot, {rounds} round(s)':<44} | "
                     f"{cell(graph_accuracies(result.model, episodes))} | {result.seconds:5.0f}")
        print(lines[-1], flush=True)
    RESULTS.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
