"""The pure functions behind chapter 02's sweep browser and figures, and the panel itself.

The panel browses :func:`mini_lib.artefacts.dqn_sweep.load_sweep` (nothing is trained when a slider
moves): ``sweep_cell`` picks one grid cell, ``SweepPlot`` draws it with blitting.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from matplotlib.figure import Figure

from mini_lib.artefacts.dqn_sweep import GRID, DQNSweep
from mini_lib.evaluation import SOLVED_CARTPOLE
from mini_lib.ui.plotting import COLOURS
from mini_lib.ui.widgets import Choice, SliderPanel

__all__ = ["SweepCell", "SweepPlot", "overestimation_pairs", "sweep_cell", "sweep_panel"]

SEED_COLOURS = (COLOURS["blue"], COLOURS["orange"], COLOURS["green"])
RATIO_LIMITS = (0.25, 8.0)


@dataclass(frozen=True)
class SweepCell:
    """One grid cell of the sweep: per-seed curves and the numbers the readout reports."""

    steps: np.ndarray
    scores: np.ndarray        # (seed, evaluation) greedy CartPole-v1 score
    estimated: np.ndarray     # (seed, evaluation) mean max_a Q over visited states
    true: np.ndarray          # (seed, evaluation) discounted return actually collected

    @property
    def final_scores(self) -> np.ndarray:
        return self.scores[:, -1]

    @property
    def n_solved(self) -> int:
        """Seeds whose greedy score reached 475 at some evaluation."""
        return int((np.nan_to_num(self.scores, nan=0.0) >= SOLVED_CARTPOLE).any(axis=1).sum())

    @property
    def ratio(self) -> np.ndarray:
        """Estimate ÷ truth over time, mean over seeds (> 1: the network over-estimates)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.nanmean(self.estimated / self.true, axis=0)


def sweep_cell(sweep: DQNSweep, learning_rate: float, gamma: float, target_update_every: int,
               double_dqn: bool) -> SweepCell:
    """Look up one cell (ValueError naming the parameter if it is not on the grid)."""
    curves = sweep.cell(learning_rate=learning_rate, gamma=gamma,
                        target_update_every=target_update_every, double_dqn=double_dqn)
    return SweepCell(sweep.steps, curves[:, 0], curves[:, 1], curves[:, 2])


def summary(cell: SweepCell) -> str:
    finals = " / ".join("diverged" if np.isnan(s) else f"{s:.0f}" for s in cell.final_scores)
    ratio = cell.ratio[-1]
    return (f"final greedy score per seed: {finals}  ·  solved (≥ 475) by {cell.n_solved} of "
            f"{len(cell.final_scores)} seeds  ·  estimate ÷ true value at the end: "
            f"{ratio:.2f}")


class SweepPlot:
    """Left: greedy score per seed; right: value estimate ÷ true discounted return."""

    def __init__(self) -> None:
        self.score_lines: list = []
        self.ratio_line = None

    def __call__(self, cell: SweepCell, fig: Figure) -> None:
        if self.ratio_line is None:
            self._build(cell, fig)
        for line, scores in zip(self.score_lines, cell.scores, strict=True):
            line.set_data(cell.steps / 1000, np.nan_to_num(scores, nan=-100.0))
        ratio = np.clip(cell.ratio, *RATIO_LIMITS)
        self.ratio_line.set_data(cell.steps / 1000, ratio)

    def _build(self, cell: SweepCell, fig: Figure) -> None:
        score_ax, ratio_ax = fig.subplots(1, 2, width_ratios=(1.25, 1))
        for seed, colour in enumerate(SEED_COLOURS[: len(cell.scores)]):
            (line,) = score_ax.plot([], [], marker="o", color=colour, label=f"seed {seed}")
            self.score_lines.append(line)
        score_ax.axhline(SOLVED_CARTPOLE, color="black", linestyle=":", linewidth=1.5)
        score_ax.text(0.3, SOLVED_CARTPOLE - 30, "solved (475)", fontsize=12)
        score_ax.set(xlim=(0, cell.steps[-1] / 1000 + 0.5), ylim=(0, 520),
                     xlabel="environment steps (thousands)",
                     ylabel="greedy return (mean of 5 episodes)", title="Learning curves")
        score_ax.legend(loc="lower right", fontsize=12)
        (self.ratio_line,) = ratio_ax.plot([], [], marker="o", color=COLOURS["vermillion"])
        ratio_ax.axhline(1.0, color="black", linestyle=":", linewidth=1.5)
        ratio_ax.text(0.3, 1.08, "estimate = truth", fontsize=12)
        ratio_ax.set_yscale("log")
        ratio_ax.set(xlim=(0, cell.steps[-1] / 1000 + 0.5), ylim=RATIO_LIMITS,
                     xlabel="environment steps (thousands)",
                     ylabel="max Q ÷ true discounted return", title="Value estimate (log)")

    def dynamic_artists(self) -> list:
        return [*self.score_lines, self.ratio_line]


def _format_lr(value: float) -> str:
    return f"{value:.1e}"


def sweep_panel(sweep: DQNSweep, **defaults) -> SliderPanel:
    """Sliders over the sweep's axes: learning rate, γ, target period, Double DQN."""
    start = {"learning_rate": 2.3e-3, "gamma": 0.99, "target_update_every": 32,
             "double_dqn": False} | defaults
    choices = [
        Choice("learning_rate", GRID["learning_rate"], start["learning_rate"],
               "learning rate (log)", _format_lr),
        Choice("gamma", GRID["gamma"], start["gamma"], "γ (discount)"),
        Choice("target_update_every", GRID["target_update_every"],
               start["target_update_every"], "target copied every C gradient steps"),
        Choice("double_dqn", GRID["double_dqn"], start["double_dqn"], "Double DQN",
               lambda on: "on" if on else "off"),
    ]
    return SliderPanel(lambda **values: sweep_cell(sweep, **values), choices, SweepPlot(),
                       name="dqn-sweep", summary=summary, figsize=(12.5, 4.8), clear=False)


def overestimation_pairs(sweep: DQNSweep, evaluation: int = -1,
                         diverged_above: float = 100.0) -> np.ndarray:
    """For every (lr, γ, C) cell: ``(DQN, Double DQN)`` mean estimate ÷ truth; shape (n, 2).

    Cells where either variant diverged (a ratio above ``diverged_above``, or not finite)
    are left out: there the estimates have run away and "over-estimation" means nothing.
    """
    estimated = sweep.curves[..., 1, evaluation]   # (lr, γ, C, double, seed)
    true = sweep.curves[..., 2, evaluation]
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.nanmean(estimated / true, axis=-1)  # (lr, γ, C, double)
    pairs = ratio.reshape(-1, 2)
    keep = np.isfinite(pairs).all(axis=1) & (pairs < diverged_above).all(axis=1)
    return pairs[keep]
