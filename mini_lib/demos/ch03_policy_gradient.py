"""The pure functions behind chapter 03's two slider panels, and the panels themselves.

:func:`sweep_panel` browses the stored sweep (nothing trains when a slider moves) and
:func:`separated` says which of its differences 3 seeds support; :func:`variance_panel` recomputes
live how far REINFORCE's batch-mean estimate scatters around the exact gradient of the 4x3 grid
world (:func:`variance_demo`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from matplotlib.figure import Figure

from mini_lib.artefacts.pg_sweep import GRID, PGSweep
from mini_lib.envs import GridWorldEnv
from mini_lib.envs.tabular_mdp import TabularMDP
from mini_lib.evaluation import SOLVED_CARTPOLE
from mini_lib.policy_gradient.exact import exact_gradient, reinforce_estimates
from mini_lib.ui.plotting import COLOURS, GREYS
from mini_lib.ui.widgets import Choice, SliderPanel, gamma_slider

__all__ = [
    "BASELINES", "BATCH_SIZES", "PGCell", "SweepPlot", "VariancePlot", "VarianceResult",
    "gridworld_mdp", "seed_means", "separated", "sweep_cell", "sweep_panel", "variance_demo",
    "variance_panel",
]

SEED_COLOURS = (COLOURS["blue"], COLOURS["orange"], COLOURS["green"])
BATCH_SIZES = (1, 2, 4, 8, 16, 32, 64, 128, 256)
BASELINES = ("none", "mean return", "V(s)")
BASELINE_COLOURS = (COLOURS["vermillion"], COLOURS["orange"], COLOURS["blue"])
N_EPISODES = 4096


# -- the stored sweep ---------------------------------------------------------------------
@dataclass(frozen=True)
class PGCell:
    """One (learning rate, γ) cell: REINFORCE with the chosen baseline setting and
    actor-critic with the chosen λ, each ``(seed, quantity, evaluation)``."""

    steps: np.ndarray
    reinforce: np.ndarray
    actor_critic: np.ndarray
    baseline: bool
    gae_lambda: float

    @staticmethod
    def n_solved(curves: np.ndarray) -> int:
        """Seeds whose greedy score reached 475 at some evaluation."""
        return int((np.nan_to_num(curves[:, 0], nan=0.0) >= SOLVED_CARTPOLE).any(axis=1).sum())


def sweep_cell(sweep: PGSweep, learning_rate: float, gamma: float, baseline: bool,
               gae_lambda: float) -> PGCell:
    """Look up one cell (ValueError naming the parameter if it is not on the grid)."""
    return PGCell(sweep.steps, sweep.reinforce_cell(learning_rate, gamma, baseline),
                  sweep.actor_critic_cell(learning_rate, gamma, gae_lambda), bool(baseline),
                  float(gae_lambda))


def seed_means(curves: np.ndarray) -> np.ndarray:
    """Each seed's greedy score averaged over every evaluation of the run (NaN counts as 0)."""
    return np.nan_to_num(curves[:, 0], nan=0.0).mean(axis=1)


def separated(better: np.ndarray, worse: np.ndarray) -> bool:
    """True if every seed of ``better`` beats every seed of ``worse`` (``seed_means``): with 3
    seeds per cell, the difference that the sweep can support without a statistical model."""
    return bool(seed_means(better).min() > seed_means(worse).max())


def _finals(curves: np.ndarray) -> str:
    return "/".join("diverged" if np.isnan(s) else f"{s:.0f}" for s in curves[:, 0, -1])


def sweep_summary(cell: PGCell) -> str:
    n = len(cell.reinforce)
    return (f"REINFORCE (baseline {'on' if cell.baseline else 'off'}): final greedy score "
            f"{_finals(cell.reinforce)}, solved by {PGCell.n_solved(cell.reinforce)}/{n}  ·  "
            f"actor-critic (λ = {cell.gae_lambda:g}): {_finals(cell.actor_critic)}, solved by "
            f"{PGCell.n_solved(cell.actor_critic)}/{n}")


class SweepPlot:
    """Left REINFORCE, right actor-critic: greedy score per seed, mean training return."""

    def __init__(self) -> None:
        self.lines: list[list] = [[], []]  # per panel: seed lines, then the training line
        self.axes: list = []

    def __call__(self, cell: PGCell, fig: Figure) -> None:
        if not self.axes:
            self._build(cell, fig)
        x = cell.steps / 1000
        for lines, curves in zip(self.lines, (cell.reinforce, cell.actor_critic), strict=True):
            for line, scores in zip(lines[:-1], curves[:, 0], strict=True):
                line.set_data(x, np.nan_to_num(scores, nan=-100.0))
            with np.errstate(invalid="ignore"):
                train = (np.nanmean(curves[:, 1], axis=0) if np.isfinite(curves[:, 1]).any()
                         else np.full(len(x), np.nan))
            lines[-1].set_data(x, train)
        self.axes[0].title.set_text(f"REINFORCE, baseline {'on' if cell.baseline else 'off'}")
        self.axes[1].title.set_text(f"actor-critic, GAE λ = {cell.gae_lambda:g}")

    def _build(self, cell: PGCell, fig: Figure) -> None:
        self.axes = list(fig.subplots(1, 2, sharey=True))
        for ax, lines in zip(self.axes, self.lines, strict=True):
            for seed, colour in enumerate(SEED_COLOURS[: len(cell.reinforce)]):
                (line,) = ax.plot([], [], marker="o", color=colour,
                                  label=f"greedy, seed {seed}")
                lines.append(line)
            (train,) = ax.plot([], [], color=GREYS["mid"], linestyle="--", linewidth=2,
                               label="training episodes (mean)")
            lines.append(train)
            ax.axhline(SOLVED_CARTPOLE, color="black", linestyle=":", linewidth=1.5)
            ax.set(xlim=(0, cell.steps[-1] / 1000 + 0.5), ylim=(0, 520),
                   xlabel="environment steps (thousands)", title=" " * 40)
        self.axes[0].set_ylabel("return (steps balanced)")
        self.axes[0].text(0.3, SOLVED_CARTPOLE - 32, "solved (475)", fontsize=12)
        self.axes[1].legend(loc="upper left", fontsize=12)

    def dynamic_artists(self) -> list:
        return [*self.lines[0], *self.lines[1], *(ax.title for ax in self.axes)]


def sweep_panel(sweep: PGSweep, **defaults) -> SliderPanel:
    """Sliders over the sweep's axes: learning rate (log), γ, baseline on/off, GAE λ."""
    start = ({"learning_rate": 3e-3, "gamma": 0.99, "baseline": True, "gae_lambda": 0.95}
             | defaults)
    choices = [
        Choice("learning_rate", GRID["learning_rate"], start["learning_rate"],
               "learning rate (log)", lambda value: f"{value:.0e}"),
        Choice("gamma", GRID["gamma"], start["gamma"], "γ (discount)"),
        Choice("baseline", GRID["baseline"], start["baseline"], "REINFORCE baseline",
               lambda on: "on" if on else "off"),
        Choice("gae_lambda", GRID["gae_lambda"], start["gae_lambda"], "actor-critic GAE λ"),
    ]
    return SliderPanel(lambda **values: sweep_cell(sweep, **values), choices, SweepPlot(),
                       name="pg-sweep", summary=sweep_summary, figsize=(12.5, 4.8),
                       clear=False)


# -- the live variance panel ----------------------------------------------------------------
def gridworld_mdp() -> TabularMDP:
    """Russell & Norvig's 4x3 grid world (slip 0.2, −0.04 per step), starting in its S cell."""
    return GridWorldEnv("4x3").mdp


@lru_cache(maxsize=8)
def _per_episode_estimates(gamma: float, n_episodes: int, seed: int):
    """Exact gradient and per-episode REINFORCE estimates (one per baseline, common
    episodes) for the uniform policy θ = 0."""
    mdp = gridworld_mdp()
    theta = np.zeros((mdp.n_states, mdp.n_actions))
    exact = exact_gradient(mdp, gamma, theta)
    baselines = (None, exact.J, exact.V)
    estimates = [reinforce_estimates(mdp, gamma, theta, n_episodes, np.random.default_rng(seed),
                                     b).reshape(n_episodes, -1) for b in baselines]
    return exact, np.stack(estimates)


@dataclass(frozen=True)
class VarianceResult:
    """How REINFORCE's batch mean scatters around the exact gradient.

    ``variance[baseline, k]``: trace of the covariance of the mean over ``BATCH_SIZES[k]``
    episodes (``n_episodes // B`` disjoint batches), ``relative`` the same ÷ ``|∇J|²``;
    ``cosines``: each batch mean's cosine with ∇J. At the chosen setting: ``chosen_variance``,
    ``relative_variance``, ``ratio`` (no baseline's variance ÷ it), ``uphill`` (cosines > 0).
    """

    gamma: float
    batch_size: int
    baseline: str
    batch_sizes: np.ndarray
    variance: np.ndarray
    cosines: np.ndarray
    grad_norm: float

    def at(self, table: np.ndarray, baseline: str | None = None) -> float:
        """``table[baseline, chosen batch size]`` (default: the chosen baseline)."""
        return float(table[BASELINES.index(baseline or self.baseline),
                           list(self.batch_sizes).index(self.batch_size)])

    @property
    def relative(self) -> np.ndarray:
        """``variance / |∇J|²`` (NaN if ∇J = 0): the noise measured against the signal."""
        return self.variance / self.grad_norm**2 if self.grad_norm > 0 else self.variance * np.nan

    chosen_variance = property(lambda self: self.at(self.variance))
    relative_variance = property(lambda self: self.at(self.relative))
    ratio = property(lambda self: float(np.divide(self.at(self.variance, "none"),
                                                  np.float64(self.at(self.variance)))))
    uphill = property(lambda self: float((self.cosines > 0).mean()))
    mean_cosine = property(lambda self: float(self.cosines.mean()))


def _cosines(rows: np.ndarray, direction: np.ndarray) -> np.ndarray:
    """Cosine of every row with ``direction`` (0 where a row or the direction is zero)."""
    norms = np.linalg.norm(rows, axis=1) * np.linalg.norm(direction)
    return np.where(norms > 0, rows @ direction / np.where(norms > 0, norms, 1.0), 0.0)


def _batch_means(estimates: np.ndarray, batch_size: int) -> np.ndarray:
    n = (estimates.shape[0] // batch_size) * batch_size
    return estimates[:n].reshape(-1, batch_size, estimates.shape[1]).mean(axis=1)


def variance_demo(batch_size: int = 16, baseline: str = "V(s)", gamma: float = 0.9,
                  n_episodes: int = N_EPISODES, seed: int = 0) -> VarianceResult:
    """Batch-mean REINFORCE estimates on the 4x3 grid world vs the exact gradient.

    ``baseline`` is ``"none"``, ``"mean return"`` (the constant ``J(θ)``) or ``"V(s)"``
    (the exact state value); ``gamma`` must be in [0, 1) for the exact gradient to exist.
    """
    if baseline not in BASELINES:
        raise ValueError(f"baseline must be one of {BASELINES}, got {baseline!r}")
    if batch_size not in BATCH_SIZES:
        raise ValueError(f"batch_size must be one of {BATCH_SIZES}, got {batch_size}")
    exact, estimates = _per_episode_estimates(float(gamma), n_episodes, seed)
    grad = exact.grad.ravel()
    variance = np.array([[_batch_means(e, b).var(axis=0, ddof=1).sum() for b in BATCH_SIZES]
                         for e in estimates])
    cosines = _cosines(_batch_means(estimates[BASELINES.index(baseline)], batch_size), grad)
    return VarianceResult(float(gamma), int(batch_size), baseline, np.array(BATCH_SIZES),
                          variance, cosines, float(np.linalg.norm(grad)))


def variance_summary(result: VarianceResult) -> str:
    if result.grad_norm == 0:
        return f"γ = {result.gamma:.2f}: ∇J = 0 at θ = 0, there is no gradient to estimate"
    return (f"γ = {result.gamma:.2f}, batch of {result.batch_size}, baseline {result.baseline}: "
            f"variance ÷ |∇J|² = {result.relative_variance:.3g} (÷ {result.ratio:.2g} vs no "
            f"baseline), |∇J| = {result.grad_norm:.3g}; mean cosine with ∇J "
            f"{result.mean_cosine:.2f}, {100 * result.uphill:.0f}% of batches point uphill")


class VariancePlot:
    """Left: variance of the batch mean ÷ |∇J|² vs batch size per baseline (log-log).
    Right: histogram of cos(batch mean, exact gradient) for the chosen setting."""

    BINS = np.linspace(-1.0, 1.0, 21)

    def __init__(self) -> None:
        self.lines: list = []
        self.marker = None
        self.bars = None

    def __call__(self, result: VarianceResult, fig: Figure) -> None:
        if self.marker is None:
            self._build(result, fig)
        for line, relative in zip(self.lines, result.relative, strict=True):
            line.set_data(result.batch_sizes, relative)
        self.marker.set_data([result.batch_size], [result.relative_variance])
        self.marker.set_color(BASELINE_COLOURS[BASELINES.index(result.baseline)])
        counts, _ = np.histogram(result.cosines, self.BINS)
        for bar, count in zip(self.bars, counts / max(len(result.cosines), 1), strict=True):
            bar.set_height(count)

    def _build(self, result: VarianceResult, fig: Figure) -> None:
        ax, hist = fig.subplots(1, 2, width_ratios=(1.2, 1))
        for name, colour in zip(BASELINES, BASELINE_COLOURS, strict=True):
            (line,) = ax.plot([], [], marker="o", color=colour, label=f"baseline: {name}")
            self.lines.append(line)
        (self.marker,) = ax.plot([], [], marker="o", markersize=16, markerfacecolor="none",
                                 markeredgewidth=3, linestyle="none")
        b = np.array(BATCH_SIZES, dtype=float)
        ax.plot(b, 100.0 / b, color="black", linestyle=":", linewidth=1.5,
                label="slope −1 (∝ 1 / batch)")
        ax.axhline(1.0, color=GREYS["light"], linestyle="--", linewidth=1.5)
        ax.set(xscale="log", yscale="log", xlim=(0.7, 370), ylim=(1e-2, 1e5), xticks=b,
               xticklabels=[str(n) for n in BATCH_SIZES], xlabel="batch size (episodes)",
               ylabel="variance ÷ |∇J|²", title="Noise relative to the gradient")
        ax.legend(loc="upper right", fontsize=12)
        self.bars = hist.bar(self.BINS[:-1], np.zeros(len(self.BINS) - 1),
                             width=np.diff(self.BINS), align="edge", color=COLOURS["green"],
                             edgecolor="white")
        hist.axvline(0.0, color="black", linestyle=":", linewidth=1.5)
        hist.set(xlim=(-1, 1), ylim=(0, 1), xticks=np.linspace(-1, 1, 5),
                 xlabel="cos(batch estimate, exact ∇J)",
                 ylabel="fraction of batches", title="Does the step point uphill?")

    def dynamic_artists(self) -> list:
        return [*self.lines, self.marker, *self.bars]


def variance_panel(**defaults) -> SliderPanel:
    """Live sliders: batch size (log), baseline, γ; recomputes in well under a second."""
    start = {"batch_size": 16, "baseline": "none", "gamma": 0.9} | defaults
    controls = [
        Choice("batch_size", BATCH_SIZES, start["batch_size"], "batch size (episodes, log)"),
        Choice("baseline", BASELINES, start["baseline"], "baseline"),
        gamma_slider(start["gamma"], high=0.99),
    ]
    return SliderPanel(variance_demo, controls, VariancePlot(), name="pg-variance",
                       summary=variance_summary, figsize=(12.5, 4.8), clear=False)

