"""The pure functions behind chapter 01's sliders and figures, and the panel built on them.

Tests call ``cliff_experiment``, ``maximization_bias``, ``greedy_start`` and
``terminal_targets`` directly; the notebook shows the panel.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import gymnasium as gym
import matplotlib as mpl
import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure

from mini_lib.checks import check_int
from mini_lib.envs.maximization_bias import LEFT
from mini_lib.tabular.dynamic_programming import ValueIterationResult, value_iteration
from mini_lib.tabular.sampling_table import SamplingTable, greedy_path, sampling_table
from mini_lib.tabular.td_control import TabularConfig, TabularResult, train
from mini_lib.ui.plotting import COLOURS, GREYS, mean_and_band
from mini_lib.ui.widgets import Slider, SliderPanel, gamma_slider, log_slider

__all__ = [
    "CLIFF_SHAPE", "FIG_6_5_PEAK", "FIG_6_5_REFERENCE", "CliffExperiment", "GreedyStart",
    "TerminalTargets", "article_q_learning", "cliff_experiment", "cliff_panel",
    "cliff_value_iteration", "draw_cliff", "greedy_start", "maximization_bias",
    "terminal_targets",
]

CLIFF_SHAPE, CLIFF_START = (4, 12), 36
COLOURS = {"Sarsa": COLOURS["blue"], "Q-learning": COLOURS["vermillion"],
           "Expected Sarsa": COLOURS["green"]}
#: % "left" from A in the course's own 10,000-run simulation of Figure 6.5's setting,
#: ``maximization_bias(n_runs=10_000, seed=0)`` — not numbers from the book; the peak is over
#: episodes 1–50. tests/test_ch01_demo.py regenerates them.
FIG_6_5_REFERENCE = {"Q-learning": {10: 87.22, 100: 46.37, 300: 11.60},
                     "Double Q-learning": {10: 45.25, 100: 8.50, 300: 7.00}}
FIG_6_5_PEAK = {"Q-learning": 94.40, "Double Q-learning": 50.60}


@lru_cache(maxsize=1)
def cliff_model() -> SamplingTable:
    """``CliffWalking-v1`` read once into a batched model."""
    return sampling_table(gym.make("CliffWalking-v1"))


@dataclass(frozen=True)
class CliffExperiment:
    """Sarsa and Q-learning on the cliff for one (α, γ, ε).

    ``results`` per algorithm; ``paths`` the greedy path (states) of the run-averaged table;
    ``values`` ``max_a`` of the run-averaged table per state (shape 48).
    """

    alpha: float
    gamma: float
    epsilon: float
    results: dict[str, TabularResult]
    paths: dict[str, list[int]]
    values: dict[str, np.ndarray]

    def tail_mean(self, name: str, last: int = 50) -> float:
        """Mean online return over the last ``last`` episodes and all runs."""
        return float(self.results[name].returns[:, -last:].mean())


def cliff_experiment(alpha: float, gamma: float, epsilon: float, n_runs: int = 8,
                     n_episodes: int = 150, seed: int = 0, max_steps: int = 100,
                     q_init: float = 0.0) -> CliffExperiment:
    """Train Sarsa and Q-learning on ``CliffWalking-v1`` (each ``n_runs`` × ``n_episodes``,
    episodes cut after ``max_steps`` so that a slider redraw stays under a second; every
    table starts at ``q_init``)."""
    model = cliff_model()
    results, paths, values = {}, {}, {}
    for name, algorithm in (("Sarsa", "sarsa"), ("Q-learning", "q_learning")):
        config = TabularConfig(alpha=alpha, epsilon=epsilon, gamma=gamma, n_runs=n_runs,
                               n_episodes=n_episodes, max_steps=max_steps, q_init=q_init, seed=seed)
        result = train(model, algorithm, config)
        Q = result.Q.mean(axis=0)
        results[name], paths[name], values[name] = result, greedy_path(model, Q), Q.max(axis=1)
    return CliffExperiment(float(alpha), float(gamma), float(epsilon), results, paths, values)


def draw_cliff(ax: Axes, values: np.ndarray | None = None,
               paths: dict[str, list[int]] | None = None, title: str | None = None,
               value_range: tuple[float, float] = (-30.0, 0.0)) -> mpl.image.AxesImage:
    """The 4×12 cliff: a heatmap of ``values`` (per state), the cliff, S, G and ``paths``
    (up to three, side by side). Returns the heatmap image, e.g. for a colour bar."""
    cols = CLIFF_SHAPE[1]
    grid = np.zeros(CLIFF_SHAPE) if values is None else np.reshape(values, CLIFF_SHAPE)
    cliff = np.zeros(CLIFF_SHAPE, dtype=bool)
    cliff[3, 1:-1] = True
    cmap = mpl.colormaps["viridis"] if values is not None else ListedColormap([GREYS["lightest"]])
    cmap = cmap.with_extremes(bad=GREYS["mid"])
    image = ax.imshow(np.ma.masked_where(cliff, grid), cmap=cmap, vmin=value_range[0],
                      vmax=value_range[1], interpolation="nearest")
    ax.text(5.5, 3, "the cliff (−100, back to S)", ha="center", va="center", color="white",
            fontsize=12)
    for col, letter in ((0, "S"), (11, "G")):
        ax.text(col, 3, letter, ha="center", va="center", fontsize=15, fontweight="bold",
                color="white", bbox={"boxstyle": "round", "color": GREYS["darkest"]})
    paths = paths or {}
    for offset, (name, path) in zip(np.linspace(-0.15, 0.15, len(paths)) if len(paths) > 1
                                    else [-0.12], paths.items(), strict=True):
        r, c = np.divmod(np.asarray(path), cols)
        ax.plot(c, r + offset, color=COLOURS.get(name), linewidth=4, label=name,
                solid_capstyle="round")
    ax.set(xticks=[], yticks=[])
    ax.grid(False)
    if title:
        ax.set_title(title)
    return image


class _CliffFigure:
    """Draws a :class:`CliffExperiment`: artists are created once, then updated in place,
    so a slider redraw renders only what changed (see ``SliderPanel``'s blitting)."""

    smooth = 5

    def __init__(self) -> None:
        self.curves: dict[str, tuple] = {}  # name -> (mean line, band)
        self.grids: dict[str, tuple] = {}  # name -> (heatmap, path, overlays, path offset)

    def _create(self, result: CliffExperiment, fig: Figure) -> None:
        curves, sarsa_ax, q_ax = fig.subplot_mosaic([["curve", "sarsa"], ["curve", "q"]],
                                                    width_ratios=[1.0, 1.25]).values()
        for name, res in result.results.items():
            x, mean, spread = mean_and_band(res.returns, smooth=self.smooth)
            (line,) = curves.plot(x, mean, label=name, color=COLOURS[name])
            band = curves.fill_between(x, mean - spread, mean + spread, color=COLOURS[name],
                                       alpha=0.25, linewidth=0)
            self.curves[name] = (line, band)
        curves.axhline(-13, color="black", linestyle=":", linewidth=1.5, label="optimal (−13)")
        n_episodes = next(iter(result.results.values())).returns.shape[1]
        curves.set(xlabel="episode", ylabel="sum of rewards per episode", ylim=(-120, 0),
                   xlim=(0, n_episodes), title="Online return (mean ± s.e.)")
        self.legend = curves.legend(loc="lower right", fontsize=12)
        for ax, name in ((sarsa_ax, "Sarsa"), (q_ax, "Q-learning")):
            before = set(ax.get_children())
            image = draw_cliff(ax, result.values[name], {name: result.paths[name]},
                               title=f"{name}: max Q and greedy path")
            path_line = ax.get_lines()[-1]
            overlay = [a for a in ax.get_children() if a not in before
                       and a is not image and a is not path_line]
            offset = path_line.get_ydata()[0] - result.paths[name][0] // CLIFF_SHAPE[1]
            self.grids[name] = (image, path_line, overlay, offset)
        fig.colorbar(image, ax=[sarsa_ax, q_ax], label="maxₐ Q(s, a)", shrink=0.9)

    def __call__(self, result: CliffExperiment, fig: Figure) -> None:
        if not self.curves:
            self._create(result, fig)
            return
        for name, res in result.results.items():
            line, band = self.curves[name]
            x, mean, spread = mean_and_band(res.returns, smooth=self.smooth)
            line.set_data(x, mean)
            band.set_data(x, mean - spread, mean + spread)
            image, path_line, _, offset = self.grids[name]
            image.set_data(np.ma.masked_where(image.get_array().mask,
                                              result.values[name].reshape(CLIFF_SHAPE)))
            rows, cols = np.divmod(np.asarray(result.paths[name]), CLIFF_SHAPE[1])
            path_line.set_data(cols, rows + offset)

    def dynamic_artists(self) -> list:
        """What a redraw changes, in drawing order (overlays after their heatmap)."""
        bands = [band for _, band in self.curves.values()]
        lines = [line for line, _ in self.curves.values()]
        artists = [*bands, *lines, self.legend]  # matplotlib's order: zorder 1, then 2, 5
        for image, path_line, overlay, _ in self.grids.values():
            artists += [image, *overlay, path_line]
        return artists


def cliff_panel(alpha: float = 0.5, gamma: float = 1.0, epsilon: float = 0.1,
                n_runs: int = 8, n_episodes: int = 150) -> SliderPanel:
    """Sliders α (log), γ and ε: learning curves, greedy paths and value heatmaps on the cliff."""
    return SliderPanel(
        lambda alpha, gamma, epsilon: cliff_experiment(alpha, gamma, epsilon, n_runs,
                                                       n_episodes),
        [log_slider("alpha", 0.02, 1.0, alpha, label="α (step size)"), gamma_slider(gamma),
         Slider("epsilon", 0.0, 0.3, epsilon, step=0.01, label="ε (exploration)")],
        _CliffFigure(),
        name="cliff",
        summary=lambda r: (f"last 50 episodes: Sarsa {r.tail_mean('Sarsa'):.1f}, Q-learning "
                           f"{r.tail_mean('Q-learning'):.1f}; greedy paths "
                           f"{len(r.paths['Sarsa']) - 1} and {len(r.paths['Q-learning']) - 1} "
                           f"steps"),
        figsize=(12, 5),
        dpi=80,
        clear=False,
    )


def maximization_bias(n_runs: int = 2000, n_episodes: int = 300, alpha: float = 0.1,
                      epsilon: float = 0.1, seed: int = 0) -> dict[str, np.ndarray]:
    """% of episodes that go *left* from A, per episode, for Q-learning and Double Q-learning."""
    check_int("n_runs", n_runs, 1)
    env = gym.make("mini_lib/MaximizationBias-v0")
    config = TabularConfig(alpha=alpha, epsilon=epsilon, gamma=1.0, n_runs=n_runs,
                           n_episodes=n_episodes, seed=seed)
    return {name: 100 * (train(env, algorithm, config).first_actions == LEFT).mean(axis=0)
            for name, algorithm in (("Q-learning", "q_learning"),
                                    ("Double Q-learning", "double_q_learning"))}


def cliff_value_iteration(gamma: float) -> ValueIterationResult:
    """Value iteration on ``CliffWalking-v1``'s own transition table: the Q* learners aim at."""
    m, P = cliff_model(), np.zeros((48, 4, 48))
    s, a, _ = np.indices(m.prob.shape)
    np.add.at(P, (s, a, m.next_state), m.prob)
    terminal = np.isin(np.arange(48), m.next_state[m.terminated])
    return value_iteration(P, (m.prob * m.reward).sum(axis=2), gamma, terminal)


@dataclass(frozen=True)
class GreedyStart:
    """Greedy (ε = 0) Sarsa and Q-learning on the cliff from tables started at ``q_init``:
    ``path_steps[name]`` the greedy path's length per run after training; ``settled[name]``
    True for runs whose return did not change over the last episodes (nothing new is tried)."""

    q_init: float
    path_steps: dict[str, np.ndarray]
    settled: dict[str, np.ndarray]

    def optimal_share(self, name: str) -> float:
        """Fraction of runs whose greedy path is the optimal 13 steps."""
        return float(np.mean(self.path_steps[name] == 13))


def greedy_start(q_init: float, n_runs: int = 100, n_episodes: int = 300, last: int = 150,
                 alpha: float = 0.5, seed: int = 0) -> GreedyStart:
    """Does ε = 0 find the optimal path from the start values ``q_init``? (γ = 1, episodes cut
    after 100 steps.) With Q₀ = 0 above every true value, untried actions always look best."""
    results = cliff_experiment(alpha, 1.0, 0.0, n_runs, n_episodes, seed, q_init=q_init).results
    return GreedyStart(float(q_init),
                       {name: np.array([len(greedy_path(cliff_model(), q)) - 1 for q in r.Q])
                        for name, r in results.items()},
                       {name: np.ptp(r.returns[:, -last:], axis=1) == 0
                        for name, r in results.items()})


def article_q_learning(bootstrap_after_done: bool, q_init: float = 0.0, alpha: float = 0.5,
                       gamma: float = 0.99, epsilon: float = 0.1, n_episodes: int = 300,
                       seed: int = 0) -> np.ndarray:
    """The Q-learning loop of source article 000 (§2.2.2) on the cliff; returns the table.
    Made runnable (``epsilon`` defined, a random action from ``range``, Gymnasium's 5-tuple,
    ties broken at random); kept: its target ``reward + gamma * max Q[next_state]`` even after
    termination (``bootstrap_after_done=True``). ``False`` is the correct target."""
    env = gym.make("CliffWalking-v1", max_episode_steps=1000)
    rng, n_actions = np.random.default_rng(seed), int(env.action_space.n)
    Q = np.full((int(env.observation_space.n), n_actions), float(q_init))
    for _ in range(n_episodes):
        state, _ = env.reset()
        while True:
            if rng.random() < epsilon:
                action = int(rng.integers(n_actions))
            else:
                best = np.flatnonzero(Q[state] == Q[state].max())
                action = int(best[rng.integers(best.size)])
            next_state, reward, terminated, truncated, _ = env.step(action)
            bootstrap = bootstrap_after_done or not terminated
            target = reward + (gamma * np.max(Q[next_state]) if bootstrap else 0.0)
            Q[state, action] += alpha * (target - Q[state, action])
            state = next_state
            if terminated or truncated:
                break
    return Q


@dataclass(frozen=True)
class TerminalTargets:
    """Tables (runs × states × actions) learned with the ``"article"`` and the ``"correct"``
    target from the same seeds, and value iteration's answer for the same γ."""

    q_init: float
    tables: dict[str, np.ndarray]
    optimal: ValueIterationResult

    def start_value(self, name: str) -> float:
        """``max_a Q(start, a)``, mean over the runs."""
        return float(self.tables[name][:, CLIFF_START].max(axis=-1).mean())

    def path_error(self, name: str) -> float:
        """Worst ``|max_a Q(s, a) − V*(s)|`` over the runs and the optimal path's states."""
        path = greedy_path(cliff_model(), self.optimal.Q)[:-1]
        return float(np.abs(self.tables[name][:, path].max(axis=-1) - self.optimal.V[path]).max())


def terminal_targets(q_init: float, gamma: float = 0.99, n_runs: int = 3,
                     n_episodes: int = 300) -> TerminalTargets:
    """:func:`article_q_learning` with both targets, ``n_runs`` seeds each."""
    tables = {name: np.array([article_q_learning(name == "article", q_init, gamma=gamma,
                                                 n_episodes=n_episodes, seed=seed)
                              for seed in range(n_runs)]) for name in ("article", "correct")}
    return TerminalTargets(float(q_init), tables, cliff_value_iteration(gamma))
