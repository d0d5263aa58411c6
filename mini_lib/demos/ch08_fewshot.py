"""Chapter 08 part 2's few-shot views: one episode's nearest-prototype decisions, and the
N-way / K-shot slider panel.

Both work on *features of the whole held-out set computed once*
(:func:`mini_lib.artefacts.fewshot_glyphs.test_features`) and on episodes drawn as indices
(:func:`mini_lib.fewshot.episodes.sample_episode_indices`), so a slider move only indexes and
compares: :func:`accuracy_view` scores every learner on the same episodes for a few K.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import torch
from matplotlib.figure import Figure

from mini_lib.checks import check_int
from mini_lib.evaluation import mean_interval
from mini_lib.fewshot.episodes import Episode, sample_episode_indices
from mini_lib.fewshot.metric import indexed_accuracies, prototype_logits
from mini_lib.ui.plotting import COLOURS, GREYS
from mini_lib.ui.widgets import SliderPanel, int_slider

__all__ = ["MAX_SHOT", "N_QUERY", "AccuracyView", "EpisodeDecisions", "accuracy_panel",
           "accuracy_view", "draw_accuracies", "draw_decisions", "episode_decisions"]

MAX_SHOT, N_QUERY = 10, 5
#: the K of the curve (with the chosen K added): each point is 100 episodes per learner
CURVE_SHOTS = (1, 2, 5, 10)
#: learner name -> (the metric of indexed_accuracies, colour)
LEARNERS = {"raw pixels": ("protonet", GREYS["mid"]), "ProtoNet": ("protonet", COLOURS["blue"]),
            "Matching": ("matching", COLOURS["vermillion"])}


@dataclass(frozen=True)
class EpisodeDecisions:
    """One episode: the support and query images, the query's true and predicted labels, and a
    2-D projection (the top two principal axes of the episode's features) of the support
    samples, the queries and the prototypes."""

    support: np.ndarray
    support_labels: np.ndarray
    query: np.ndarray
    query_labels: np.ndarray
    predicted: np.ndarray
    support_xy: np.ndarray
    query_xy: np.ndarray
    prototype_xy: np.ndarray


def episode_decisions(features: torch.Tensor, images: np.ndarray, episode: Episode
                      ) -> EpisodeDecisions:
    """Nearest-prototype decisions of one index episode (no leading axis) on ``features``
    ``(N, d)`` of ``images`` ``(N, H, W)``."""
    support, query = features[episode.support], features[episode.query]
    n_way = int(episode.support_labels.max()) + 1
    logits = prototype_logits(support, episode.support_labels, query, n_way)
    one_hot = torch.nn.functional.one_hot(episode.support_labels, n_way).to(support.dtype)
    prototypes = one_hot.T @ support / one_hot.sum(0)[:, None]
    stacked = torch.cat([support, query, prototypes]).double()
    centred = stacked - stacked.mean(0)
    axes = torch.linalg.svd(centred, full_matrices=False).Vh[:2]
    xy = (centred @ axes.T).numpy()
    n_support, n_query = len(support), len(query)
    return EpisodeDecisions(images[episode.support.numpy()], episode.support_labels.numpy(),
                            images[episode.query.numpy()], episode.query_labels.numpy(),
                            logits.argmax(-1).numpy(), xy[:n_support],
                            xy[n_support:n_support + n_query], xy[n_support + n_query:])


def draw_decisions(view: EpisodeDecisions, fig: Figure, shown: int = 10) -> None:
    """The embedding plane (support dots, query crosses, prototypes as stars) | ``shown``
    queries spread over the classes, with their decision (green: right, red: wrong)."""
    left, right = fig.subfigures(1, 2, width_ratios=[1, 1.2])
    ax = left.subplots()
    colours = [COLOURS[c] for c in ("blue", "orange", "green", "vermillion", "purple",
                                    "sky_blue", "black", "yellow")]
    for c, xy in enumerate(view.prototype_xy):
        colour = colours[c % len(colours)]
        ax.scatter(*view.support_xy[view.support_labels == c].T, color=colour, s=40)
        ax.scatter(*view.query_xy[view.query_labels == c].T, color=colour, marker="x", s=40)
        ax.scatter(*xy, color=colour, marker="*", s=400, edgecolor="black", zorder=3)
    ax.set(xlabel="principal axis 1", ylabel="principal axis 2",
           title="Features: support •, query ×, prototype ★")
    tiles = right.subplots(2, shown // 2)
    picked = np.linspace(0, len(view.query) - 1, shown).round().astype(int)  # every class
    for i, tile in zip(picked, tiles.flat, strict=True):
        right_answer = view.predicted[i] == view.query_labels[i]
        tile.imshow(view.query[i], cmap="gray_r", vmin=0, vmax=1)
        tile.set_title(f"→ {view.predicted[i]} ({view.query_labels[i]})", fontsize=12,
                       color=COLOURS["green"] if right_answer else COLOURS["vermillion"])
        tile.set_axis_off()
    right.suptitle("Queries: decision (true class)", fontsize=14)


@dataclass(frozen=True)
class AccuracyView:
    """Mean query accuracy and its 95 % half-width per learner at each K of ``shots``
    (``means[name]``, ``halves[name]``, each ``(len(shots),)``) in ``n_way``-way episodes."""

    n_way: int
    k_shot: int
    episodes: int
    shots: np.ndarray
    means: dict[str, np.ndarray]
    halves: dict[str, np.ndarray]


def accuracy_view(features: dict[str, torch.Tensor], samples_per_class: int, n_way: int,
                  k_shot: int, episodes: int = 100, seed: int = 0) -> AccuracyView:
    """Every learner of :data:`LEARNERS` (``features[name]``: ``(N, d)``, class-major with
    ``samples_per_class`` per class) on the same ``episodes`` ``n_way``-way episodes of
    :data:`N_QUERY` queries per class, for each K of :data:`CURVE_SHOTS` and ``k_shot``;
    ``n_way`` ∈ 2…20, ``k_shot`` ∈ 1…10."""
    n_way = check_int("n_way", n_way, 2, 20)
    k_shot = check_int("k_shot", k_shot, 1, MAX_SHOT)
    episodes = check_int("episodes", episodes, 2)
    n_classes = len(next(iter(features.values()))) // samples_per_class
    shots = np.array(sorted({*CURVE_SHOTS, k_shot}))
    means = {name: np.zeros(len(shots)) for name in LEARNERS}
    halves = {name: np.zeros(len(shots)) for name in LEARNERS}
    for i, shot in enumerate(shots.tolist()):
        index = sample_episode_indices(n_classes, samples_per_class, episodes, n_way, shot,
                                       N_QUERY, seed)
        for name, (metric, _) in LEARNERS.items():
            accuracy = indexed_accuracies(metric, features[name], index).numpy()
            means[name][i], halves[name][i] = mean_interval(accuracy)
    return AccuracyView(n_way, k_shot, episodes, shots, means, halves)


def draw_accuracies(view: AccuracyView, fig: Figure) -> None:
    """Accuracy against K (95 % bands) with the chosen K marked, and chance."""
    ax = fig.subplots()
    shots = view.shots
    for name, (_, colour) in LEARNERS.items():
        mean, half = 100 * view.means[name], 100 * view.halves[name]
        ax.plot(shots, mean, marker="o", color=colour, label=name)
        ax.fill_between(shots, mean - half, mean + half, color=colour, alpha=0.2)
    ax.axhline(100 / view.n_way, color=GREYS["light"], linestyle=":", label="chance")
    ax.axvline(view.k_shot, color=GREYS["light"], linestyle="--")
    ax.set(xlabel="K: support samples per class", ylabel="query accuracy (%)", ylim=(0, 101),
           xticks=np.arange(1, MAX_SHOT + 1),
           title=f"{view.n_way}-way, {view.episodes} held-out episodes per K")
    ax.legend(loc="lower right", fontsize=12)


def accuracy_summary(view: AccuracyView) -> str:
    k = int(np.flatnonzero(view.shots == view.k_shot)[0])
    scores = " · ".join(f"{name} {100 * view.means[name][k]:.1f} ± {100 * view.halves[name][k]:.1f}"
                        for name in LEARNERS)
    return f"{view.n_way}-way {view.k_shot}-shot: {scores} %"


def accuracy_panel(features: dict[str, torch.Tensor], samples_per_class: int,
                   **defaults) -> SliderPanel:
    """Sliders: N-way 2–20 and K-shot 1–10 → :func:`accuracy_view`."""
    start = {"n_way": 5, "k_shot": 1} | defaults
    sliders = [int_slider("n_way", 2, 20, start["n_way"], "N-way"),
               int_slider("k_shot", 1, MAX_SHOT, start["k_shot"], "K-shot")]
    return SliderPanel(functools.partial(accuracy_view, features, samples_per_class), sliders,
                       draw_accuracies, name="few-shot-accuracy", summary=accuracy_summary,
                       figsize=(10.0, 5.0))
