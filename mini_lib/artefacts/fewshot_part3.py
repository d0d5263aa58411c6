"""Chapter 08b's runs: few-shot glyphs learned without labels, and a graph-network learner.

All on :func:`~mini_lib.fewshot.glyphs.glyph_split` (seed 0) and scored on chapter 08's held-out
evaluation episodes (:func:`~mini_lib.artefacts.fewshot_glyphs.evaluation_indices`, 1000 per
setting, the same for every learner). Stored in ``data/fewshot_part3.pt``::

    python -m mini_lib.artefacts fewshot_part3      # about 10 min with 2 workers on 2 cores

Runs (``train_run(name)``), in two stages:

1. ``contrastive``: :data:`PRETRAIN` on the 8000 training glyphs, labels thrown away;
   ``random.L.s``: ProtoNet (:func:`labelled_config`) on only the first ``L`` labelled
   training classes (:data:`LABELLED_CLASSES`), random start, training seed ``s``
   (:data:`TRAIN_SEEDS`); ``graph.R``: :class:`~mini_lib.fewshot.graph.GraphFewShot` with ``R``
   rounds (:data:`GRAPH_ROUNDS`, :data:`GRAPH_RUN`: 1000 episodes of 5-way 1-shot);
   ``proto5``: ProtoNet trained like the graph learner (:data:`PROTO_5WAY`), like for like.
2. From the contrastive encoder: ``pretrained.L.s`` (the same ProtoNet runs, contrastive
   start) and ``cactus.s`` (CACTUs: k-means, :data:`CACTUS_K` clusters, of the contrastive
   embeddings of the unlabelled pool; clusters of ≥ :data:`CACTUS_MIN` glyphs as
   pseudo-classes; ProtoNet on them from a random start — no label anywhere).

Keys: ``eval.<run>.<setting>`` (per-episode accuracy; ``5w1s`` and ``20w1s``, graph runs
``5w1s`` only, as they are 5-way), ``<run>.losses``, ``<run>.seconds``; the weights of
``contrastive`` and of the graph runs as ``<run>.<param or buffer>``; ``cactus.s.clusters``
and ``cactus.s.purity`` (how well clusters match the hidden labels; reported, never used).
"""

from __future__ import annotations

import torch

from mini_lib.artefacts.fewshot_glyphs import (
    SEED,
    evaluation_episodes,
    evaluation_indices,
    setting_name,
    test_features,
)
from mini_lib.artefacts.store import load_tensors
from mini_lib.fewshot.cactus import cluster_purity, kmeans, pseudo_classes
from mini_lib.fewshot.contrastive import ContrastiveConfig, train_contrastive
from mini_lib.fewshot.embedding import GlyphEmbedding
from mini_lib.fewshot.glyphs import glyph_split
from mini_lib.fewshot.graph import GraphFewShot
from mini_lib.fewshot.graph_training import GraphConfig, graph_accuracies, train_graph
from mini_lib.fewshot.metric import indexed_accuracies
from mini_lib.fewshot.training import MetricConfig, train_metric
from mini_lib.parallel import run_jobs

__all__ = ["CACTUS_K", "CACTUS_MIN", "GRAPH_ROUNDS", "GRAPH_RUN", "LABELLED_CLASSES", "NAME",
           "PRETRAIN", "PROTO_5WAY", "SETTINGS", "TRAIN_SEEDS", "contrastive_embedding",
           "evaluate_embedding", "features_of", "generate", "graph_model", "labelled_config",
           "load", "train_run", "unlabelled_images"]

NAME = "fewshot_part3"
PRETRAIN = ContrastiveConfig()
LABELLED_CLASSES = (5, 10, 20, 50, 400)
TRAIN_SEEDS = (0, 1, 2)
GRAPH_ROUNDS = (1, 2, 3)
GRAPH_RUN = GraphConfig()
PROTO_5WAY = MetricConfig(episodes=GRAPH_RUN.episodes, n_way=GRAPH_RUN.n_way)
CACTUS_K, CACTUS_MIN = 400, 10
#: (n_way, k_shot, n_query) of the scored settings
SETTINGS = ((5, 1, 15), (20, 1, 5))


def labelled_config(classes: int) -> MetricConfig:
    """ProtoNet on ``classes`` labelled classes: 500 episodes, ``min(20, classes)``-way."""
    return MetricConfig(episodes=500, n_way=min(20, classes))


def unlabelled_images() -> torch.Tensor:
    """The 8000 training glyphs ``(8000, 1, 16, 16)``, class-major, labels dropped."""
    return torch.from_numpy(glyph_split(SEED).train).reshape(-1, 1, 16, 16)


def evaluate_embedding(run: str, model: GlyphEmbedding) -> dict[str, torch.Tensor]:
    """``eval.<run>.<setting>``: nearest-prototype accuracy of ``model``'s features."""
    features = test_features(model)
    return {f"eval.{run}.{setting_name(n, k)}":
            indexed_accuracies("protonet", features, evaluation_indices(n, k, q))
            for n, k, q in SETTINGS}


def _record(run: str, model: torch.nn.Module, losses: list[float], seconds: float,
            keep_weights: bool) -> dict[str, torch.Tensor]:
    out = {f"{run}.losses": torch.tensor(losses), f"{run}.seconds": torch.tensor(seconds)}
    if keep_weights:
        out.update({f"{run}.{key}": value.detach().clone()
                    for key, value in model.state_dict().items()})
    return out


def _parse(run: str) -> tuple[str, int, int]:
    kind, *numbers = run.split(".")
    expected = {"contrastive": 0, "proto5": 0, "graph": 1, "cactus": 1, "random": 2,
                "pretrained": 2}
    if kind not in expected or len(numbers) != expected[kind] or not all(
            n.isdigit() for n in numbers):
        raise ValueError(f"run must be contrastive, proto5, graph.R, cactus.S, random.L.S or "
                         f"pretrained.L.S, got {run!r}")
    values = [int(n) for n in numbers] + [0, 0]
    return kind, values[0], values[1]


def train_run(run: str, start: dict[str, torch.Tensor] | None = None,
              episodes: int | None = None) -> dict[str, torch.Tensor]:
    """Train and score one run (see the module docstring); ``start``: the contrastive state
    that stage-2 runs need; ``episodes``: only the first steps (for tests, unscored)."""
    torch.set_num_threads(1)
    kind, first, second = _parse(run)
    if kind in ("pretrained", "cactus") and start is None:
        raise ValueError(f"run {run!r} needs start, the contrastive encoder's state")
    train = glyph_split(SEED).train

    def shortened(config):
        return config if episodes is None else type(config)(
            **{**config.__dict__, ("steps" if kind == "contrastive" else "episodes"): episodes})

    extra: dict[str, torch.Tensor] = {}
    if kind == "contrastive":
        model, losses, seconds = train_contrastive(shortened(PRETRAIN), unlabelled_images(),
                                                   seed=SEED)
    elif kind == "graph":
        model, losses, seconds = train_graph(shortened(GraphConfig(rounds=first)), train,
                                             seed=SEED)
    elif kind == "proto5":
        model, losses, seconds = train_metric(shortened(PROTO_5WAY), train, seed=SEED)
    elif kind == "cactus":
        features = features_of(start, unlabelled_images())
        clusters = kmeans(features, CACTUS_K, seed=first, iterations=50)
        pseudo = pseudo_classes(train.reshape(-1, *train.shape[2:]), clusters.assignments,
                                CACTUS_MIN, seed=first)
        hidden = torch.arange(train.shape[0]).repeat_interleave(train.shape[1])
        extra = {f"{run}.clusters": torch.tensor(len(pseudo)),
                 f"{run}.purity": torch.tensor(cluster_purity(clusters.assignments, hidden))}
        model, losses, seconds = train_metric(shortened(labelled_config(CACTUS_K)), pseudo,
                                              seed=first)
    else:
        classes, seed = first, second
        model, losses, seconds = train_metric(shortened(labelled_config(classes)),
                                              train[:classes], seed=seed,
                                              initial_state=start if kind == "pretrained"
                                              else None)
    out = _record(run, model, losses, seconds, kind in ("contrastive", "graph"))
    out.update(extra)
    if episodes is not None:
        return out
    if kind == "graph":
        out[f"eval.{run}.5w1s"] = graph_accuracies(model, evaluation_episodes(*SETTINGS[0]))
    else:
        out.update(evaluate_embedding(run, model))
    return out


def features_of(state: dict[str, torch.Tensor], images: torch.Tensor) -> torch.Tensor:
    """Features of ``images`` under a :class:`GlyphEmbedding` with weights ``state``."""
    model = GlyphEmbedding(PRETRAIN.channels, PRETRAIN.blocks)
    model.load_state_dict(state)
    with torch.no_grad():
        return model.eval()(images)


def _state(stored: dict[str, torch.Tensor], run: str) -> dict[str, torch.Tensor]:
    prefix, skip = f"{run}.", (f"{run}.losses", f"{run}.seconds")
    state = {key[len(prefix):]: value for key, value in stored.items()
             if key.startswith(prefix) and key not in skip}
    if not state:
        raise KeyError(f"no weights of run {run!r} stored")
    return state


def contrastive_embedding(stored: dict[str, torch.Tensor]) -> GlyphEmbedding:
    """The stored self-supervised encoder, in eval mode."""
    model = GlyphEmbedding(PRETRAIN.channels, PRETRAIN.blocks)
    model.load_state_dict(_state(stored, "contrastive"))
    return model.eval()


def graph_model(stored: dict[str, torch.Tensor], rounds: int) -> GraphFewShot:
    """The stored graph learner with ``rounds`` rounds, in eval mode."""
    model = GraphFewShot(GRAPH_RUN.n_way, rounds, GRAPH_RUN.hidden)
    model.load_state_dict(_state(stored, f"graph.{rounds}"))
    return model.eval()


def _job(job: tuple[str, dict[str, torch.Tensor] | None]) -> dict[str, torch.Tensor]:
    return train_run(*job)


def generate(workers: int = 2) -> tuple[dict[str, torch.Tensor], str]:
    """Stage 1 (the contrastive run first, it is the longest), then stage 2 from its encoder."""
    stored: dict[str, torch.Tensor] = {}
    seeds = [(classes, seed) for classes in LABELLED_CLASSES for seed in TRAIN_SEEDS]
    stage1 = ["contrastive", *(f"graph.{r}" for r in GRAPH_ROUNDS), "proto5",
              *(f"random.{c}.{s}" for c, s in seeds)]
    for part in run_jobs(_job, [(run, None) for run in stage1], workers, "stage 1"):
        stored.update(part)
    start = _state(stored, "contrastive")
    stage2 = [*(f"cactus.{s}" for s in TRAIN_SEEDS), *(f"pretrained.{c}.{s}" for c, s in seeds)]
    for part in run_jobs(_job, [(run, start) for run in stage2], workers, "stage 2"):
        stored.update(part)
    return stored, (f"Contrastive pretraining ({PRETRAIN.steps} steps, no labels); ProtoNet on "
                    f"L in {LABELLED_CLASSES} labelled classes from a random and from the "
                    f"contrastive start, seeds {TRAIN_SEEDS}; CACTUs (k = {CACTUS_K}); graph "
                    f"learner with rounds {GRAPH_ROUNDS} and ProtoNet, both "
                    f"{GRAPH_RUN.episodes} episodes of 5-way 1-shot; on glyph_split({SEED}), "
                    f"scored on 1000 held-out episodes per setting")


def load() -> dict[str, torch.Tensor]:
    """The stored runs and scores (checksum verified); regenerate as above."""
    return load_tensors(NAME)
