"""The pure functions behind chapter 02's figures and sweep browser, and the panel itself.

The panel browses :func:`mini_lib.artefacts.dqn_sweep.load_sweep` (nothing trains when a slider
moves). ``end_ratios``, ``runaway`` and ``plot_ablations`` read the stored runs; ``max_bias`` is
a controlled over-estimation experiment (van Hasselt 2010); ``replay_contents`` shows what the
source article's "reset every step" loop stores.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import gymnasium as gym
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from mini_lib.artefacts.dqn_sweep import GRID, DQNSweep
from mini_lib.checks import check_int, check_positive
from mini_lib.evaluation import SOLVED_CARTPOLE
from mini_lib.ui.plotting import COLOURS, plot_mean_and_band
from mini_lib.ui.widgets import Choice, SliderPanel

__all__ = [
    "PUBLISHED_CARTPOLE", "EndRatios", "MaxBias", "Published", "ReplayContents", "SweepCell",
    "SweepPlot", "end_ratios", "expected_max_of_normals", "max_bias", "max_estimates",
    "plot_ablations", "replay_contents", "runaway", "sweep_cell", "sweep_panel",
]

SEED_COLOURS = (COLOURS["blue"], COLOURS["orange"], COLOURS["green"])
RATIO_LIMITS = (0.25, 8.0)


@dataclass(frozen=True)
class SweepCell:
    """One grid cell of the sweep: per-seed curves and the numbers the readout reports."""

    steps: np.ndarray
    scores: np.ndarray        # (seed, evaluation) greedy CartPole-v1 score
    estimated: np.ndarray     # (seed, evaluation) mean max_a Q over visited states
    true: np.ndarray          # (seed, evaluation) discounted return actually collected

    final_scores = property(lambda self: self.scores[:, -1])

    @property
    def n_solved(self) -> int:
        """Seeds whose greedy score reached 475 at some evaluation."""
        return int((np.nan_to_num(self.scores, nan=0.0) >= SOLVED_CARTPOLE).any(axis=1).sum())

    @property
    def ratio(self) -> np.ndarray:
        """Estimate ÷ truth over time, median over seeds (> 1: the network over-estimates);
        the median, because one seed whose policy collapsed while its values did not can
        multiply a mean several times over."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.nanmedian(self.estimated / self.true, axis=0)


def sweep_cell(sweep: DQNSweep, learning_rate: float, gamma: float, target_update_every: int,
               double_dqn: bool) -> SweepCell:
    """Look up one cell (ValueError naming the parameter if it is not on the grid)."""
    curves = sweep.cell(learning_rate=learning_rate, gamma=gamma,
                        target_update_every=target_update_every, double_dqn=double_dqn)
    return SweepCell(sweep.steps, curves[:, 0], curves[:, 1], curves[:, 2])


def summary(cell: SweepCell) -> str:
    """The panel's readout line."""
    finals = " / ".join("diverged" if np.isnan(s) else f"{s:.0f}" for s in cell.final_scores)
    return (f"final greedy score per seed: {finals}  ·  solved (≥ 475) by {cell.n_solved} of "
            f"{len(cell.final_scores)} seeds  ·  estimate ÷ true value at the end (median of "
            f"seeds): {cell.ratio[-1]:.3g}")


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
        self.ratio_line.set_data(cell.steps / 1000, np.clip(cell.ratio, *RATIO_LIMITS))

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
                     ylabel="max Q ÷ true return (median)", title="Value estimate (log)")

    def dynamic_artists(self) -> list:
        return [*self.score_lines, self.ratio_line]


def sweep_panel(sweep: DQNSweep, **defaults) -> SliderPanel:
    """Sliders over the sweep's axes: learning rate, γ, target period, Double DQN."""
    start = {"learning_rate": 2.3e-3, "gamma": 0.99, "target_update_every": 32,
             "double_dqn": False} | defaults
    choices = [
        Choice("learning_rate", GRID["learning_rate"], start["learning_rate"],
               "learning rate (log)", lambda value: f"{value:.1e}"),
        Choice("gamma", GRID["gamma"], start["gamma"], "γ (discount)"),
        Choice("target_update_every", GRID["target_update_every"],
               start["target_update_every"], "target copied every C gradient steps"),
        Choice("double_dqn", GRID["double_dqn"], start["double_dqn"], "Double DQN",
               lambda on: "on" if on else "off"),
    ]
    return SliderPanel(lambda **values: sweep_cell(sweep, **values), choices, SweepPlot(),
                       name="dqn-sweep", summary=summary, figsize=(12.5, 4.8), clear=False)


# -- what the stored sweep and ablations show -----------------------------------------------
@dataclass(frozen=True)
class EndRatios:
    """``ratios[cell, variant, seed]``: estimate ÷ truth (variant 0 DQN, 1 Double DQN) of
    every (lr, γ, C) cell that did not diverge; ``cells[i]`` is row i's (lr, γ, C)."""

    cells: list[tuple[float, float, int]]
    ratios: np.ndarray


def end_ratios(sweep: DQNSweep, evaluation: int = -1,
               diverged_above: float = 100.0) -> EndRatios:
    """Per-seed estimate ÷ truth, DQN next to Double DQN, for every (lr, γ, C) cell.

    Cells where any run diverged (a ratio above ``diverged_above``, or not finite) are left
    out: there the estimates have run away and "over-estimation" means nothing.
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = sweep.curves[..., 1, evaluation] / sweep.curves[..., 2, evaluation]
    axes = [sweep.axes[name] for name in ("learning_rate", "gamma", "target_update_every")]
    cells, kept = [], []
    for index in np.ndindex(*ratio.shape[:3]):
        if np.all(np.isfinite(ratio[index])) and np.all(ratio[index] < diverged_above):
            cells.append((float(axes[0][index[0]]), float(axes[1][index[1]]),
                          int(axes[2][index[2]])))
            kept.append(ratio[index])
    return EndRatios(cells, np.array(kept).reshape(-1, *ratio.shape[3:]))


def runaway(sweep: DQNSweep, factor: float = 10.0, evaluation: int = -1) -> np.ndarray:
    """``(lr, γ, C, double, seed)``: True where the estimate exceeds ``factor / (1 − γ)``.

    CartPole pays 1 per step, so no discounted return exceeds ``1 / (1 − γ)``: an estimate
    ``factor`` times above it is not over-estimation but a value that has run away.
    """
    bound = 1.0 / (1.0 - sweep.axes["gamma"])[None, :, None, None, None]
    return np.nan_to_num(sweep.curves[..., 1, evaluation], nan=np.inf) > factor * bound


ABLATION_STYLES = (("-", "o"), ("--", "s"), (":", "^"), ("-.", "D"))


def plot_ablations(ax: Axes, ablations: dict, colours: Sequence[str], offset: float = 15.0,
                   overlap: float = 3.0) -> list[float]:
    """Mean ± s.e. greedy score per ablation, each with its own line style and marker.

    A mean curve within ``overlap`` of an earlier one everywhere would hide it: it is drawn
    ``offset`` higher per such twin, and its legend label says so. Returns each offset.
    """
    drawn: list[tuple[str, np.ndarray]] = []
    offsets = []
    for i, (label, curves, colour) in enumerate(
            zip(ablations["labels"], ablations["curves"], colours, strict=True)):
        style, marker = ABLATION_STYLES[i % len(ABLATION_STYLES)]
        scores = np.nan_to_num(curves[:, 0], nan=0.0)
        twins = [name for name, mean in drawn
                 if np.all(np.abs(mean - scores.mean(axis=0)) < overlap)]
        shift = offset * len(twins)
        text = f"{label} (on {twins[0]}: drawn {shift:g} higher)" if twins else str(label)
        line = plot_mean_and_band(ax, scores + shift, label=text, color=colour,
                                  x=ablations["steps"] / 1000)
        line.set(linestyle=style, marker=marker)
        drawn.append((str(label), scores.mean(axis=0)))
        offsets.append(shift)
    return offsets


# -- a controlled experiment: the max of noisy unbiased estimates ---------------------------
def max_estimates(true_values: Sequence[float] | np.ndarray, noise_std: float, n_trials: int,
                  rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Single and double estimates of ``max_a q(a)``, one of each per trial.

    Each trial draws two independent sets of unbiased estimates,
    ``Q_A(a), Q_B(a) = q(a) + noise_std · N(0, 1)``. The *single* estimator is
    ``max_a Q_A(a)``, what the max in Q-learning's target computes; the *double* estimator
    picks ``a* = argmax_a Q_A(a)`` and evaluates it with ``Q_B(a*)`` (van Hasselt 2010).
    """
    q = np.asarray(true_values, dtype=float)
    shape = (check_int("n_trials", n_trials, 1), q.size)
    noise_std = check_positive("noise_std", noise_std)
    estimates_a, estimates_b = (q + noise_std * rng.standard_normal(shape) for _ in range(2))
    chosen = estimates_a.argmax(axis=1)
    return estimates_a.max(axis=1), estimates_b[np.arange(shape[0]), chosen]


def expected_max_of_normals(k: int) -> float:
    """``E[max of k independent N(0, 1)]``, the integral of ``x · k φ(x) Φ(x)^(k−1)``."""
    k = check_int("k", k, 1)
    x = np.linspace(-12.0, 12.0, 24_001)
    cdf = 0.5 * (1.0 + np.array([math.erf(v / math.sqrt(2.0)) for v in x]))
    pdf = np.exp(-0.5 * x**2) / math.sqrt(2.0 * math.pi)
    return float(np.trapezoid(x * k * pdf * cdf ** (k - 1), x))


@dataclass(frozen=True)
class MaxBias:
    """Bias (mean estimate − true max) of each estimator per number of actions, its standard
    error, and the single estimator's expected bias ``noise_std · E[max of k N(0, 1)]``."""

    n_actions: np.ndarray
    single: np.ndarray
    double: np.ndarray
    single_se: np.ndarray
    double_se: np.ndarray
    expected_single: np.ndarray


def max_bias(n_actions: Sequence[int] = (1, 2, 4, 8, 16, 32, 64), noise_std: float = 1.0,
             n_trials: int = 20_000, seed: int = 0) -> MaxBias:
    """Every true action value 0 (the true max is 0): how biased is each estimator?"""
    rng = np.random.default_rng(seed)
    rows = []
    for k in n_actions:
        single, double = max_estimates(np.zeros(k), noise_std, n_trials, rng)
        rows.append((single.mean(), double.mean(), single.std(ddof=1) / math.sqrt(n_trials),
                     double.std(ddof=1) / math.sqrt(n_trials),
                     noise_std * expected_max_of_normals(k)))
    return MaxBias(np.array(n_actions), *np.array(rows).T)


# -- the source article's loop: env.reset() at the top of every step -------------------------
@dataclass(frozen=True)
class ReplayContents:
    """A memory's share of terminal transitions, and how far from the start its states
    reach: the largest |pole angle| (rad) and |cart position| (m)."""

    n_transitions: int
    terminal_fraction: float
    max_abs_angle: float
    max_abs_position: float


def replay_contents(n_steps: int, reset_every_step: bool, seed: int = 0) -> ReplayContents:
    """Fill a memory with ``n_steps`` CartPole-v1 transitions of uniformly random actions.

    ``reset_every_step=True`` is the source article's loop (``state = env.reset()`` at the
    top of every step), ``False`` the correct one (reset only when an episode ends). Random
    actions suffice: the point is which states the memory can contain at all.
    """
    env, rng = gym.make("CartPole-v1"), np.random.default_rng(seed)
    observation, _ = env.reset(seed=seed)
    states, terminal = [], 0
    for _ in range(check_int("n_steps", n_steps, 1)):
        if reset_every_step:
            observation, _ = env.reset()
        next_observation, _, terminated, truncated, _ = env.step(int(rng.integers(2)))
        states.append(observation)
        terminal += bool(terminated)
        observation = env.reset()[0] if terminated or truncated else next_observation
    largest = np.abs(np.array(states)).max(axis=0)
    return ReplayContents(n_steps, terminal / n_steps, float(largest[2]), float(largest[0]))


@dataclass(frozen=True)
class Published:
    """A published DQN result on CartPole-v1: training budget (env steps), score, source."""

    name: str
    steps: int
    result: str
    source: str


PUBLISHED_CARTPOLE = (
    Published("rl-baselines3-zoo DQN", 50_000, "500 ± 0",
              "A. Raffin, rl-baselines3-zoo, benchmark table"),
    Published("CleanRL dqn.py", 500_000, "488.7 ± 16.1",
              "S. Huang et al., CleanRL, JMLR 23 (2022), dqn.py benchmark"),
)

