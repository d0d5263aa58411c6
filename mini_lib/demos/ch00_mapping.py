"""The pure functions behind chapter 00's sliders, and the panels built on them.

Tests call ``discounting``, ``plan_gridworld`` and ``contraction`` directly; the notebook shows
the panels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from matplotlib.figure import Figure

from mini_lib.checks import check_int, check_probability
from mini_lib.envs.gridworld import MAPS, GridWorldEnv
from mini_lib.returns import effective_horizon
from mini_lib.tabular.dynamic_programming import (
    ValueIterationResult,
    bellman_backup,
    greedy_policy,
    value_iteration,
)
from mini_lib.ui.plotting import COLOURS, GridWorldView
from mini_lib.ui.widgets import Slider, SliderPanel, gamma_slider

__all__ = [
    "Contraction",
    "DiscountingResult",
    "GridPlan",
    "contraction",
    "discounting",
    "discounting_panel",
    "plan_gridworld",
    "value_iteration_panel",
]


# -- the discount factor ------------------------------------------------------------------------

@dataclass(frozen=True)
class DiscountingResult:
    """Reward +1 at every step for ``n_steps`` steps, discounted with ``gamma``."""

    gamma: float
    weights: np.ndarray          # γ^k
    partial_returns: np.ndarray  # Σ_{j ≤ k} γ^j r_{j+1}
    G: float                     # the full discounted return
    horizon: float               # 1 / (1 − γ)


def discounting(gamma: float, n_steps: int = 100) -> DiscountingResult:
    """Discount weights and the running discounted return of a +1-per-step reward stream."""
    gamma = check_probability("gamma", gamma)
    n_steps = check_int("n_steps", n_steps, 1, 100_000)
    weights = gamma ** np.arange(n_steps)
    partial = np.cumsum(weights)  # rewards are all 1
    return DiscountingResult(gamma, weights, partial, float(partial[-1]),
                             effective_horizon(gamma))


class _DiscountingFigure:
    """Draws a :class:`DiscountingResult`; artists are created once, then updated in place."""

    def __init__(self) -> None:
        self.artists: dict | None = None

    def _create(self, n_steps: int, fig: Figure) -> dict:
        fig.subplots_adjust(left=0.08, right=0.98, bottom=0.16, top=0.88, wspace=0.28)
        left, right = fig.subplots(1, 2)
        k = np.arange(n_steps + 1)
        left.set(xlabel="steps ahead k", ylabel="weight γᵏ", ylim=(0, 1.05), xlim=(0, n_steps),
                 title="How much a reward k steps ahead counts")
        right.set(xlabel="steps of reward +1 received", ylabel="discounted return",
                  xlim=(0, n_steps), ylim=(0, n_steps * 1.05), title="Discounted return so far")
        return {
            "weights": left.stairs(np.zeros(n_steps), k, fill=True, color=COLOURS["blue"]),
            "partial": right.plot(k[1:], np.zeros(n_steps), color=COLOURS["vermillion"])[0],
            "full": right.axhline(0, color=COLOURS["vermillion"], linestyle=":", linewidth=2),
            "horizons": [ax.axvline(0, color="black", linestyle="--", linewidth=2)
                         for ax in (left, right)],
            "label": left.text(0, 0.95, " 1/(1−γ)", fontsize=15, va="top"),
        }

    def dynamic_artists(self) -> list:
        if self.artists is None:
            return []
        a = self.artists
        return [a["weights"], a["partial"], a["full"], *a["horizons"], a["label"]]

    def __call__(self, result: DiscountingResult, fig: Figure) -> None:
        if self.artists is None:
            self.artists = self._create(result.weights.size, fig)
        a = self.artists
        a["weights"].set_data(result.weights)
        a["partial"].set_ydata(result.partial_returns)
        a["full"].set_ydata([result.G, result.G])
        visible = bool(np.isfinite(result.horizon) and result.horizon <= result.weights.size)
        for line in a["horizons"]:
            line.set_xdata([result.horizon, result.horizon] if visible else [0, 0])
            line.set_visible(visible)
        a["label"].set_position((result.horizon if visible else 0, 0.95))
        a["label"].set_visible(visible)


def discounting_panel(gamma: float = 0.9, n_steps: int = 100) -> SliderPanel:
    """A γ slider: discount weights and the discounted return of +1 per step."""
    return SliderPanel(
        lambda gamma: discounting(gamma, n_steps),
        [gamma_slider(gamma)],
        _DiscountingFigure(),
        name="discounting",
        summary=lambda r: (f"γ = {r.gamma:.2f}: return of {n_steps} rewards of +1 is "
                           f"G = {r.G:.3g}; effective horizon 1/(1−γ) = {r.horizon:.3g} steps"),
        figsize=(11, 4.2),
        layout="none",
        clear=False,
        continuous_update=True,
    )


# -- value iteration on a grid world ------------------------------------------------------------

@dataclass(frozen=True)
class GridPlan:
    """Value iteration's answer for one grid world and the greedy path from the start."""

    env: GridWorldEnv
    gamma: float
    slip: float
    solution: ValueIterationResult
    path: list[tuple[int, int]]

    @property
    def start_value(self) -> float:
        return float(self.solution.V[self.env.start_state])


def plan_gridworld(gamma: float, slip: float, map_name: str = "cliff") -> GridPlan:
    """Solve the grid world ``map_name`` with value iteration for this γ and slip."""
    if map_name not in MAPS:
        raise ValueError(f"map_name must be one of {sorted(MAPS)}, got {map_name!r}")
    env = GridWorldEnv(map_name, slip=slip)
    solution = value_iteration(env.mdp.P, env.mdp.R, gamma, env.mdp.terminal)
    return GridPlan(env, float(gamma), float(slip), solution, env.intended_path(solution.policy))


class _PlanFigure:
    """Draws a :class:`GridPlan`, creating the artists once and updating them afterwards."""

    def __init__(self) -> None:
        self.view: GridWorldView | None = None

    def dynamic_artists(self) -> list:
        return self.view.dynamic_artists() if self.view else []

    def __call__(self, plan: GridPlan, fig: Figure) -> None:
        if self.view is None or self.view.env.layout != plan.env.layout:
            fig.clear()
            fig.subplots_adjust(left=0.01, right=0.99, bottom=0.01, top=0.92)
            self.view = GridWorldView(fig.add_subplot(), plan.env)
        self.view.update(plan.solution.V, plan.solution.policy, plan.path,
                         title=f"V* and greedy policy (γ = {plan.gamma:.2f}, "
                               f"slip = {plan.slip:.2f})")


def value_iteration_panel(map_name: str = "cliff", gamma: float = 0.9,
                          slip: float = 0.0) -> SliderPanel:
    """Sliders for γ and slip probability, redrawing V* and the greedy policy."""
    return SliderPanel(
        lambda gamma, slip: plan_gridworld(gamma, slip, map_name),
        [gamma_slider(gamma), Slider("slip", 0.0, 0.5, slip, step=0.05,
                                     label="slip probability")],
        _PlanFigure(),
        name="value-iteration",
        summary=lambda p: (f"γ = {p.gamma:.2f}, slip = {p.slip:.2f}: V(start) = "
                           f"{p.start_value:.3f}, {p.solution.iterations} sweeps, greedy path "
                           f"{len(p.path) - 1} steps"),
        figsize=(9, 5.2),
        layout="none",
        clear=False,
    )



# -- why value iteration converges --------------------------------------------------------------

@dataclass(frozen=True)
class Contraction:
    """Value iteration's max-norm error per sweep on one grid world, and the rates behind it.

    ``errors[k]`` is ``‖V_k − V*‖∞`` (``V_0 = 0``); ``survival`` is ρ, the largest eigenvalue
    (in modulus) of ``P_π*`` restricted to the non-terminal states: in the long run, the
    probability that an episode following π* lasts one more step. From sweep
    ``policy_settled`` on, the greedy policy of ``V_k`` is π*.
    """

    gamma: float
    errors: np.ndarray
    survival: float
    policy_settled: int

    @property
    def bound(self) -> np.ndarray:
        """The contraction bound ``γ^k ‖V_0 − V*‖∞``."""
        return self.errors[0] * self.gamma ** np.arange(self.errors.size)

    def factor(self, first: int, last: int) -> float:
        """The mean factor per sweep (geometric) by which the error shrank from ``first`` to
        ``last``."""
        return float((self.errors[last] / self.errors[first]) ** (1.0 / (last - first)))

    def late_factor(self, low: float = 1e-12, high: float = 1e-4) -> float:
        """:meth:`factor` over the sweeps whose error lies in ``(low, high)``: the asymptotic rate,
        before round-off sets in."""
        inside = np.flatnonzero((self.errors > low) & (self.errors < high))
        return self.factor(int(inside[0]), int(inside[-1]))


def contraction(gamma: float, slip: float = 0.2, map_name: str = "cliff") -> Contraction:
    """Run value iteration (``V_0 = 0``) to round-off and measure its error at every sweep."""
    gamma = check_probability("gamma", gamma)
    if not gamma < 1:
        raise ValueError(f"gamma must be in [0, 1) for a contraction, got {gamma}")
    env = GridWorldEnv(map_name, slip=slip)
    P, R, terminal = env.mdp.P, env.mdp.R, env.mdp.terminal
    exact = value_iteration(P, R, gamma, terminal, tol=1e-15, max_iterations=100_000)
    errors = np.array([np.max(np.abs(v - exact.V)) for v in exact.history])
    live = ~terminal
    P_pi = P[np.arange(P.shape[0]), exact.policy][np.ix_(live, live)]
    differs = [k for k, v in enumerate(exact.history)
               if np.any(greedy_policy(bellman_backup(P, R, v, gamma))[live] != exact.policy[live])]
    return Contraction(float(gamma), errors, float(np.max(np.abs(np.linalg.eigvals(P_pi)))),
                       differs[-1] + 1 if differs else 0)
