"""Chapter 08 part 2's few-shot learners on the glyphs, trained and scored once.

Three learners meet on the same N-way K-shot episodes of the 100 held-out classes of
:func:`~mini_lib.fewshot.glyphs.glyph_split` (seed 0):

* ``protonet`` and ``matching``: a :class:`~mini_lib.fewshot.embedding.GlyphEmbedding` trained
  by :func:`~mini_lib.fewshot.training.train_metric` (:data:`METRIC_RUNS`: 1000 episodes of
  20-way 1-shot, Adam 1e-3);
* ``maml``: chapter 05's MAML on a :class:`~mini_lib.fewshot.glyph_tasks.GlyphClassifier`
  (:data:`MAML_RUN`: 5-way 1-shot, one inner step of size 0.4, 1500 iterations);

and raw-pixel nearest prototype as the floor. Stored in ``data/fewshot_glyphs.pt``::

    python -m mini_lib.artefacts fewshot_glyphs      # about 5 min with 2 workers on 2 cores

Keys: ``"<run>.<param or buffer>"``, ``"<run>.losses"`` and ``"<run>.seconds"`` per run;
``"eval.<method>.<setting>"`` the query accuracy of each of :data:`EVAL_EPISODES` episodes
(:func:`evaluation_episodes`, the same for every method) for ``pixels``, ``protonet`` and
``matching`` in every :data:`SETTINGS` entry, and ``eval.maml.0`` / ``eval.maml.1`` (before
and after one step) in 5-way 1-shot, the only setting its 5-way head fits.
"""

from __future__ import annotations

import torch

from mini_lib.artefacts.store import load_tensors
from mini_lib.fewshot.embedding import GlyphEmbedding
from mini_lib.fewshot.episodes import Episode, sample_episode_indices, sample_episodes
from mini_lib.fewshot.glyph_tasks import GlyphClassifier, GlyphFamily, adapted_accuracies
from mini_lib.fewshot.glyphs import glyph_split
from mini_lib.fewshot.metric import indexed_accuracies
from mini_lib.fewshot.training import MetricConfig, train_metric
from mini_lib.meta.functional import Params
from mini_lib.meta.training import MAMLConfig, train_meta
from mini_lib.parallel import run_jobs

__all__ = ["EVAL_EPISODES", "EVAL_SEED", "MAML_RUN", "MAML_WAY", "METRIC_RUNS", "NAME", "SEED",
           "SETTINGS", "embedding", "evaluate", "evaluation_episodes", "evaluation_indices",
           "generate", "load", "maml_classifier", "setting_name", "test_features", "train_run"]

NAME = "fewshot_glyphs"
SEED = 0
METRIC_RUNS: dict[str, MetricConfig] = {"protonet": MetricConfig(method="protonet"),
                                        "matching": MetricConfig(method="matching")}
MAML_RUN = MAMLConfig(method="maml", iterations=1500, meta_batch_size=16, alpha=0.4,
                      inner_steps=1, outer_lr=1e-3)
#: MAML's episodes: 5-way 1-shot, 5 queries per class (its classifier has a 5-way head)
MAML_WAY = 5
#: (n_way, k_shot, n_query) of the scored settings
SETTINGS = ((5, 1, 15), (5, 5, 15), (20, 1, 5))
EVAL_EPISODES, EVAL_SEED = 1000, 0


def setting_name(n_way: int, k_shot: int) -> str:
    """``"5w1s"`` for 5-way 1-shot: the key part of a setting."""
    return f"{n_way}w{k_shot}s"


def evaluation_episodes(n_way: int, k_shot: int, n_query: int) -> Episode:
    """The :data:`EVAL_EPISODES` scored episodes of a setting, from the held-out classes."""
    return sample_episodes(glyph_split(SEED).test, EVAL_EPISODES, n_way, k_shot, n_query,
                           EVAL_SEED)


def train_run(run: str, iterations: int | None = None) -> dict[str, torch.Tensor]:
    """Train ``run`` (``protonet``, ``matching`` or ``maml``; optionally only its first
    ``iterations`` episodes or meta-iterations): the stored tensors."""
    torch.set_num_threads(1)
    train = glyph_split(SEED).train
    if run == "maml":
        config = MAML_RUN if iterations is None else MAMLConfig(
            **{**MAML_RUN.__dict__, "iterations": iterations})
        result = train_meta(config, GlyphFamily(train, n_way=MAML_WAY), seed=SEED)
        model, losses, seconds = result.model, result.losses, result.seconds
    elif run in METRIC_RUNS:
        config = METRIC_RUNS[run]
        if iterations is not None:
            config = MetricConfig(**{**config.__dict__, "episodes": iterations})
        model, losses, seconds = train_metric(config, train, SEED)
    else:
        raise ValueError(f"run must be one of {[*METRIC_RUNS, 'maml']}, got {run!r}")
    out = {f"{run}.{key}": value.detach().clone() for key, value in model.state_dict().items()}
    out[f"{run}.losses"] = torch.tensor(losses)
    out[f"{run}.seconds"] = torch.tensor(seconds)
    return out


def _state(stored: dict[str, torch.Tensor], run: str) -> dict[str, torch.Tensor]:
    prefix = f"{run}."
    state = {key[len(prefix):]: value for key, value in stored.items()
             if key.startswith(prefix) and key not in (f"{run}.losses", f"{run}.seconds")}
    if not state:
        raise KeyError(f"no run {run!r} stored; stored: {[*METRIC_RUNS, 'maml']}")
    return state


def embedding(stored: dict[str, torch.Tensor], method: str) -> GlyphEmbedding:
    """The trained embedding of ``protonet`` or ``matching``, in eval mode."""
    config = METRIC_RUNS[method] if method in METRIC_RUNS else None
    if config is None:
        raise KeyError(f"no embedding {method!r}; stored: {sorted(METRIC_RUNS)}")
    model = GlyphEmbedding(config.channels, config.blocks)
    model.load_state_dict(_state(stored, method))
    return model.eval()


def maml_classifier(stored: dict[str, torch.Tensor]) -> tuple[GlyphClassifier, Params]:
    """``(model, θ)``: MAML's classifier and its learned initialisation."""
    model = GlyphClassifier(MAML_WAY, GlyphFamily.channels)
    model.load_state_dict(_state(stored, "maml"))
    return model, dict(model.named_parameters())


def test_features(model: GlyphEmbedding | None = None) -> torch.Tensor:
    """Features ``(2000, d)`` of every held-out glyph (class-major, as the flattened data set):
    ``model``'s embedding in eval mode, or the raw pixels when ``model`` is None."""
    images = torch.from_numpy(glyph_split(SEED).test).reshape(-1, 1, 16, 16)
    if model is None:
        return images.flatten(1)
    with torch.no_grad():
        return model.eval()(images)


def evaluation_indices(n_way: int, k_shot: int, n_query: int) -> Episode:
    """:func:`evaluation_episodes` as indices into :func:`test_features` (the same episodes)."""
    classes, samples = glyph_split(SEED).test.shape[:2]
    return sample_episode_indices(classes, samples, EVAL_EPISODES, n_way, k_shot, n_query,
                                  EVAL_SEED)


def evaluate(stored: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Every ``eval.*`` tensor (see the module docstring) of the stored runs."""
    torch.set_num_threads(1)
    features = {"pixels": test_features()}
    features.update({method: test_features(embedding(stored, method)) for method in METRIC_RUNS})
    out: dict[str, torch.Tensor] = {}
    for n_way, k_shot, n_query in SETTINGS:
        indices = evaluation_indices(n_way, k_shot, n_query)
        name = setting_name(n_way, k_shot)
        for method, values in features.items():
            metric = "protonet" if method == "pixels" else method
            out[f"eval.{method}.{name}"] = indexed_accuracies(metric, values, indices)
    model, params = maml_classifier(stored)
    episodes = evaluation_episodes(MAML_WAY, 1, 15)
    for steps in (0, MAML_RUN.inner_steps):
        out[f"eval.maml.{steps}"] = adapted_accuracies(
            model, {k: v.detach() for k, v in params.items()}, episodes, MAML_RUN.alpha, steps)
    return out


def generate(workers: int = 2) -> tuple[dict[str, torch.Tensor], str]:
    """Train the three learners (``workers`` processes; MAML first, it is the longest), then
    score them."""
    stored: dict[str, torch.Tensor] = {}
    for part in run_jobs(train_run, ["maml", *METRIC_RUNS], workers, "few-shot learners"):
        stored.update(part)
    stored.update(evaluate(stored))
    return stored, (f"ProtoNet and Matching embeddings ({METRIC_RUNS['protonet'].episodes} "
                    f"episodes of 20-way 1-shot) and MAML's glyph classifier "
                    f"({MAML_RUN.iterations} iterations of 5-way 1-shot, alpha "
                    f"{MAML_RUN.alpha}) on glyph_split({SEED}), seed {SEED}; accuracies on "
                    f"{EVAL_EPISODES} held-out episodes per setting")


def load() -> dict[str, torch.Tensor]:
    """The stored runs and scores (checksum verified); regenerate as above."""
    return load_tensors(NAME)
