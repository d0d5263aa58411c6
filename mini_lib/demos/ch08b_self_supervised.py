"""Chapter 08b's slider panel: accuracy against the number of labelled classes, with and
without the self-supervised start, and the graph learner against its rounds of messages.

Everything is read from the stored runs (``data/fewshot_part3.pt`` and, for ProtoNet and
Matching trained on every class, ``data/fewshot_glyphs.pt``): a slider move only looks up
numbers and redraws.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from mini_lib.artefacts.fewshot_part3 import GRAPH_ROUNDS, LABELLED_CLASSES, TRAIN_SEEDS
from mini_lib.evaluation import mean_interval
from mini_lib.fewshot.episodes import Episode
from mini_lib.fewshot.graph import GraphFewShot, aggregate, edge_weights, initial_nodes
from mini_lib.ui.plotting import COLOURS, GREYS
from mini_lib.ui.widgets import Choice, SliderPanel, int_slider

__all__ = ["SETTINGS", "LabelledView", "draw_attention", "draw_curve", "draw_labelled",
           "graph_attention", "labelled_panel", "labelled_view", "seed_accuracies"]

#: setting key -> its label
SETTINGS = {"5w1s": "5-way 1-shot", "20w1s": "20-way 1-shot"}
STARTS = {"random": ("random start", COLOURS["vermillion"]),
          "pretrained": ("contrastive start", COLOURS["blue"])}


def seed_accuracies(stored: dict[str, torch.Tensor], start: str, setting: str) -> np.ndarray:
    """Mean accuracy (%) ``(len(LABELLED_CLASSES), len(TRAIN_SEEDS))`` of ProtoNet trained on
    L labelled classes from ``start`` (``random`` or ``pretrained``), per training seed."""
    if start not in STARTS:
        raise ValueError(f"start must be one of {sorted(STARTS)}, got {start!r}")
    return np.array([[100 * float(stored[f"eval.{start}.{c}.{s}.{setting}"].mean())
                      for s in TRAIN_SEEDS] for c in LABELLED_CLASSES])


@dataclass(frozen=True)
class LabelledView:
    """The numbers one panel position shows (accuracies in %; halves are 95 % half-widths over
    the 1000 held-out episodes)."""

    classes: int
    rounds: int
    setting: str
    curves: dict[str, np.ndarray]      # start -> (L, seeds)
    frozen: float                      # the contrastive encoder, no labels
    cactus: np.ndarray                 # per seed, no labels
    pixels: float
    graph: dict[str, tuple[float, float]]   # learner -> (mean, half), 5-way 1-shot


def labelled_view(stored: dict[str, torch.Tensor], glyphs: dict[str, torch.Tensor],
                  classes: int, rounds: int, setting: str = "5w1s") -> LabelledView:
    """The panel's numbers for ``classes`` ∈ :data:`LABELLED_CLASSES`, ``rounds`` ∈
    :data:`GRAPH_ROUNDS` and ``setting`` ∈ :data:`SETTINGS`."""
    if classes not in LABELLED_CLASSES:
        raise ValueError(f"classes must be one of {LABELLED_CLASSES}, got {classes!r}")
    if rounds not in GRAPH_ROUNDS:
        raise ValueError(f"rounds must be one of {GRAPH_ROUNDS}, got {rounds!r}")
    if setting not in SETTINGS:
        raise ValueError(f"setting must be one of {sorted(SETTINGS)}, got {setting!r}")

    def percent(values: torch.Tensor) -> tuple[float, float]:
        mean, half = mean_interval(values)
        return 100 * mean, 100 * half

    graph = {f"graph, {r} round{'s' if r > 1 else ''}": percent(stored[f"eval.graph.{r}.5w1s"])
             for r in GRAPH_ROUNDS}
    graph["ProtoNet, 5-way training"] = percent(stored["eval.proto5.5w1s"])
    graph["ProtoNet, 20-way training"] = percent(glyphs["eval.protonet.5w1s"])
    graph["Matching, 20-way training"] = percent(glyphs["eval.matching.5w1s"])
    return LabelledView(
        classes, rounds, setting,
        {start: seed_accuracies(stored, start, setting) for start in STARTS},
        100 * float(stored[f"eval.contrastive.{setting}"].mean()),
        np.array([100 * float(stored[f"eval.cactus.{s}.{setting}"].mean())
                  for s in TRAIN_SEEDS]),
        100 * float(glyphs[f"eval.pixels.{setting}"].mean()), graph)


def draw_curve(view: LabelledView, ax: Axes, legend: bool = True, mark: bool = True) -> None:
    """Accuracy against L on ``ax``: per-seed dots, the median line of each start, and the
    label-free rows (frozen contrastive encoder, CACTUs' median) as levels; raw pixels, far
    below, in the title; ``mark``: a vertical line at the view's L."""
    xs = np.array(LABELLED_CLASSES)
    for start, (label, colour) in STARTS.items():
        values = view.curves[start]
        for j in range(values.shape[1]):
            ax.scatter(xs, values[:, j], color=colour, s=18, alpha=0.6)
        ax.plot(xs, np.median(values, 1), color=colour, marker="o", label=label)
    ax.axhline(view.frozen, color=COLOURS["green"], linestyle="--",
               label="contrastive, frozen (no labels)")
    ax.axhline(float(np.median(view.cactus)), color=COLOURS["purple"], linestyle="-.",
               label="CACTUs (no labels)")
    if mark:
        ax.axvline(view.classes, color=GREYS["light"], linestyle="--")
    ax.set(xscale="log", xticks=xs, xticklabels=[str(x) for x in xs],
           xlabel="labelled training classes L", ylabel="held-out accuracy (%)",
           title=f"ProtoNet, {SETTINGS[view.setting]} (raw pixels: {view.pixels:.1f} %)")
    if legend:
        ax.legend(loc="lower right", fontsize=10)


def draw_labelled(view: LabelledView, fig: Figure) -> None:
    """Left: accuracy against L (:func:`draw_curve`); right: the graph learner's rounds beside
    ProtoNet and Matching, 5-way 1-shot."""
    left, right = fig.subplots(1, 2, width_ratios=[1.3, 1])
    draw_curve(view, left)
    names = list(view.graph)
    means = [view.graph[n][0] for n in names]
    halves = [view.graph[n][1] for n in names]
    chosen = f"graph, {view.rounds} round{'s' if view.rounds > 1 else ''}"
    colours = [COLOURS["orange"] if n == chosen else
               (COLOURS["sky_blue"] if n.startswith("graph") else GREYS["light"]) for n in names]
    right.barh(range(len(names)), means, xerr=halves, color=colours, capsize=3)
    right.set_yticks(range(len(names)), names, fontsize=11)
    right.invert_yaxis()
    low = min(means) - 3
    right.set(xlim=(low, 100), xlabel="5-way 1-shot accuracy (%)",
              title="Graph learner vs metric learners")


def labelled_summary(view: LabelledView) -> str:
    k = LABELLED_CLASSES.index(view.classes)
    random, pretrained = (np.median(view.curves[s][k]) for s in STARTS)
    mean, half = view.graph[f"graph, {view.rounds} round{'s' if view.rounds > 1 else ''}"]
    return (f"L = {view.classes}, {SETTINGS[view.setting]}: random start {random:.1f} %, "
            f"contrastive start {pretrained:.1f} % (medians of {len(TRAIN_SEEDS)} seeds) · "
            f"graph, {view.rounds} round(s): {mean:.1f} ± {half:.1f} %")


def labelled_panel(stored: dict[str, torch.Tensor], glyphs: dict[str, torch.Tensor],
                   **defaults) -> SliderPanel:
    """Sliders: labelled classes L, the graph's rounds and the setting → :func:`labelled_view`."""
    start = {"classes": 5, "rounds": 2, "setting": "5w1s"} | defaults
    sliders = [Choice("classes", LABELLED_CLASSES, start["classes"], "labelled classes L"),
               int_slider("rounds", min(GRAPH_ROUNDS), max(GRAPH_ROUNDS), start["rounds"],
                          "graph rounds"),
               Choice("setting", tuple(SETTINGS), start["setting"], "episodes",
                      format=SETTINGS.get)]
    return SliderPanel(functools.partial(labelled_view, stored, glyphs), sliders, draw_labelled,
                       name="labelled-classes", summary=labelled_summary, figsize=(13.0, 5.5))


def graph_attention(model: GraphFewShot, episode: Episode) -> tuple[list[np.ndarray], np.ndarray]:
    """The edge weights ``A`` ``(n, n)`` of every round of ``model`` on one ``episode`` (support
    nodes first, then queries) and the queries' predicted labels."""
    model.eval()
    with torch.no_grad():
        features = model.embedding(torch.cat([episode.support, episode.query]))
        shots = len(episode.support)
        nodes = initial_nodes(features[:shots], episode.support_labels, features[shots:],
                              model.n_way)
        rounds = []
        for edges, update in zip(model.edges, model.updates, strict=True):
            weights = edge_weights(edges(nodes), shots, model.transductive)
            rounds.append(weights.numpy())
            messages = aggregate(nodes, weights)
            nodes = torch.cat([nodes, torch.relu(update(torch.cat([nodes, messages], -1)))], -1)
        weights = edge_weights(model.readout_edges(nodes), shots, model.transductive)
        rounds.append(weights.numpy())
        predicted = model.readout(aggregate(nodes, weights)[shots:]).argmax(-1).numpy()
    return rounds, predicted


def draw_attention(rounds: list[np.ndarray], n_support: int, fig: Figure) -> None:
    """One heat map of edge weights per round; the support block is outlined."""
    axes = np.atleast_1d(fig.subplots(1, len(rounds)))
    for r, (ax, weights) in enumerate(zip(axes, rounds, strict=True)):
        image = ax.imshow(weights, cmap="Blues", vmin=0)
        ax.grid(False)
        ax.axvline(n_support - 0.5, color=COLOURS["orange"], linewidth=2)
        ax.axhline(n_support - 0.5, color=COLOURS["orange"], linewidth=2)
        last = r == len(rounds) - 1
        ax.set(xlabel="sender j (support | query)", ylabel="receiver i" if r == 0 else None,
               title="read-out round" if last else f"round {r + 1}")
        fig.colorbar(image, ax=ax, shrink=0.8, label="weight $A_{ij}$" if last else None)
