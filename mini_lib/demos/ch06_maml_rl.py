"""The pure functions behind chapter 06's adaptation panel, path plots and Fig. 5 table.

:func:`adapt_to_goal` is what a slider move computes: for one goal, each stored starting
point (MAML, pretrained) samples ``trajectories`` episodes and takes up to :data:`MAX_STEPS`
policy-gradient steps of size α, each on fresh episodes of the current policy
(:func:`~mini_lib.tasks.navigation_training.adaptation_batches`, the loop of the Fig. 5
evaluation). It returns the paths of a few episodes before adapting and after the chosen
number of steps, and the mean return after every step. :class:`GoalAdaptationPlot` draws
that; :func:`adaptation_panel` wires the sliders. :func:`draw_paths` draws the episodes of one
goal into an axis (the static path grid uses it too); :data:`PAPER_FIG5` holds the published
table and :func:`fig5_rows` reads ours from ``data/maml_nav.pt``.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from mini_lib.envs.point_navigation import GOAL_HIGH, GOAL_LOW
from mini_lib.meta.functional import Params
from mini_lib.tasks.navigation import NavigationBatch, NavigationPolicy
from mini_lib.tasks.navigation_training import NavigationConfig, adaptation_batches
from mini_lib.ui.plotting import COLOURS, GREYS
from mini_lib.ui.widgets import Slider, SliderPanel, int_slider, log_slider

__all__ = ["LEARNER_COLOURS", "LIVE_CHECK_GOALS", "LIVE_CHECK_SEED", "LIVE_CHECK_TRAJECTORIES",
           "LIVE_RUN",
           "MAX_STEPS", "MAX_TRAJECTORIES", "PAPER_FIG5", "GoalAdaptation",
           "GoalAdaptationPlot", "adapt_to_goal", "adaptation_panel", "draw_paths",
           "fig5_rows", "summary"]

#: The notebook's live run: first-order MAML with a small policy and 10 goals an iteration,
#: about 15 s on one core.
LIVE_RUN = NavigationConfig(method="fomaml", iterations=200, meta_batch=10, hidden=(32, 32),
                            outer_lr=3e-3)
#: Goals and episodes of the live run's held-out check (not the Fig. 5 test goals).
LIVE_CHECK_GOALS, LIVE_CHECK_TRAJECTORIES, LIVE_CHECK_SEED = 20, 20, 7
MAX_STEPS = 5
MAX_TRAJECTORIES = 40
SHOWN_PATHS = 6  # episodes drawn per learner: enough to see the spread, few enough to read
LIMITS = (-0.75, 0.75)
#: Finn et al. (2017), Fig. 5: mean return over 40 test goals after 0…3 steps (the authors'
#: stored results; the oracle knows the goal and does not adapt).
PAPER_FIG5 = {"MAML": (-40.4, -11.7, -3.33, -3.23), "pretrained": (-40.8, -19.7, -11.7, -8.47),
              "random init": (-82.7, -58.0, -53.8, -46.8), "oracle": (-2.29,)}
LEARNER_COLOURS = {"MAML": COLOURS["blue"], "FOMAML": COLOURS["sky_blue"],
                   "pretrained": COLOURS["vermillion"], "random init": COLOURS["green"],
                   "oracle": COLOURS["black"], "MAML, α constant": COLOURS["purple"],
                   "pretrained, α = 0.1": COLOURS["orange"]}

Learner = tuple[NavigationPolicy, Params]


def fig5_rows(stored: dict[str, torch.Tensor]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{row: (mean returns after 0…3 steps, step sizes)}`` as stored by
    :mod:`mini_lib.artefacts.maml_nav`."""
    rows = {key[len("fig5."):]: value for key, value in stored.items()
            if key.startswith("fig5.") and not key.endswith(".alphas")}
    return {row: (returns.numpy(), stored[f"fig5.{row}.alphas"].numpy())
            for row, returns in rows.items()}


@dataclass(frozen=True)
class GoalAdaptation:
    """One goal and what each learner makes of it: ``paths[name]`` / ``start[name]`` the
    positions ``(episodes, steps, 2)`` and masks of a few episodes after the chosen number
    of steps and before adapting; ``returns[name][n]`` the mean return after ``n`` steps."""

    goal: np.ndarray
    paths: dict[str, tuple[np.ndarray, np.ndarray]]
    start: dict[str, tuple[np.ndarray, np.ndarray]]
    returns: dict[str, np.ndarray]
    alpha: float
    steps: int
    trajectories: int

    def mean_return(self, name: str) -> float:
        """Mean return of ``name`` after the chosen number of steps."""
        return float(self.returns[name][self.steps])


def _shown(batch: NavigationBatch) -> tuple[np.ndarray, np.ndarray]:
    observations, _, _, mask = batch.batch
    return (observations[0, :SHOWN_PATHS, :, :2].double().numpy(),
            mask[0, :SHOWN_PATHS].bool().numpy())


def adapt_to_goal(learners: dict[str, Learner], alpha: float, steps: int, goal_x: float,
                  goal_y: float, trajectories: int, seed: int = 0) -> GoalAdaptation:
    """Adapt every learner to the goal ``(goal_x, goal_y)`` by ``steps`` ∈ 0…5 steps of
    ``alpha`` on ``trajectories`` episodes each. ValueError naming the parameter when a value
    is out of range, and naming α when the steps diverge until the return is not a number."""
    if not (isinstance(alpha, int | float) and 0 < alpha <= 10 and math.isfinite(alpha)):
        raise ValueError(f"alpha must be a number in (0, 10], got {alpha!r}")
    if not 0 <= steps <= MAX_STEPS or int(steps) != steps:
        raise ValueError(f"steps must be an integer in [0, {MAX_STEPS}], got {steps!r}")
    if not 2 <= trajectories <= MAX_TRAJECTORIES or int(trajectories) != trajectories:
        raise ValueError(f"trajectories must be an integer in [2, {MAX_TRAJECTORIES}], "
                         f"got {trajectories!r}")
    for name, value in (("goal_x", goal_x), ("goal_y", goal_y)):
        if not GOAL_LOW <= value <= GOAL_HIGH:
            raise ValueError(f"{name} must be in [{GOAL_LOW}, {GOAL_HIGH}], got {value!r}")
    goal = np.array([[goal_x, goal_y]], dtype=np.float32)
    paths, start, returns = {}, {}, {}
    for name, (model, params) in learners.items():
        batches = adaptation_batches(model, params, goal, int(trajectories), alpha, MAX_STEPS,
                                     seed)
        returns[name] = np.array([b.mean_return for b in batches])
        paths[name], start[name] = _shown(batches[int(steps)]), _shown(batches[0])
        if not np.isfinite(returns[name][: int(steps) + 1]).all():
            raise ValueError(f"alpha={alpha:.3g} is far too large: {name}'s policy diverges "
                             f"until its return is not a number; try a smaller α")
    return GoalAdaptation(goal[0], paths, start, returns, float(alpha), int(steps),
                          int(trajectories))


def summary(result: GoalAdaptation) -> str:
    step_word = "step" if result.steps == 1 else "steps"
    scores = " · ".join(f"{name} {result.mean_return(name):.1f}" for name in result.returns)
    return (f"mean return after {result.steps} {step_word} of α = {result.alpha:.3g} on "
            f"{result.trajectories} episodes: {scores}")


def draw_paths(ax: Axes, paths: tuple[np.ndarray, np.ndarray], goal: np.ndarray, colour: str,
               *, faint: tuple[np.ndarray, np.ndarray] | None = None, title: str = "") -> None:
    """Episodes as lines from (0, 0) (only their real steps), the goal as a star; ``faint``
    episodes (e.g. before adapting) dotted in grey underneath."""
    for group, style in ((faint, dict(color=GREYS["light"], linestyle=":", linewidth=1.6)),
                         (paths, dict(color=colour, linewidth=2.0, alpha=0.85))):
        if group is None:
            continue
        positions, mask = group
        for xy, alive in zip(positions, mask, strict=True):
            ax.plot(xy[alive, 0], xy[alive, 1], **style)
    ax.plot(0, 0, "o", color=GREYS["darkest"], markersize=7)
    ax.plot(*goal, marker="*", color=COLOURS["yellow"], markeredgecolor="black",
            markersize=20, linestyle="none")
    ax.set(xlim=LIMITS, ylim=LIMITS, aspect="equal", title=title)
    ax.add_patch(_square())


def _square() -> Rectangle:
    """The square the goals are drawn from."""
    return Rectangle((GOAL_LOW, GOAL_LOW), GOAL_HIGH - GOAL_LOW, GOAL_HIGH - GOAL_LOW,
                     fill=False, linestyle="--", edgecolor=GREYS["light"], linewidth=1.2)


class GoalAdaptationPlot:
    """One panel of paths per learner (after the chosen steps; before, dotted), and the mean
    return of every learner against the number of steps."""

    def __call__(self, result: GoalAdaptation, fig: Figure) -> None:
        names = list(result.returns)
        axes = fig.subplots(1, len(names) + 1, width_ratios=[1] * len(names) + [1.25])
        for ax, name in zip(axes, names, strict=False):
            draw_paths(ax, result.paths[name], result.goal, LEARNER_COLOURS.get(name, "C0"),
                       faint=result.start[name],
                       title=f"{name} after {result.steps} step(s)")
            ax.set(xlabel="x position")
        axes[0].set(ylabel="y position")
        curve_ax = axes[-1]
        steps = np.arange(MAX_STEPS + 1)
        for name in names:
            curve_ax.plot(steps, np.maximum(result.returns[name], -150), marker="o",
                          color=LEARNER_COLOURS.get(name, "C0"), label=name)
        curve_ax.axvline(result.steps, color=GREYS["light"], linestyle="--")
        curve_ax.set(xlabel="policy-gradient steps", ylabel="mean return (100 steps)",
                     ylim=(-150, 0), xlim=(-0.3, MAX_STEPS + 0.3), title="Return on this goal")
        curve_ax.legend(loc="lower right", fontsize=12)


def adaptation_panel(learners: dict[str, Learner], **defaults) -> SliderPanel:
    """Sliders α (log), steps 0–5, goal (x, y), episodes per step → :func:`adapt_to_goal`."""
    start = {"alpha": 0.1, "steps": 1, "goal_x": 0.3, "goal_y": -0.2, "trajectories": 20}
    start |= defaults
    sliders = [
        log_slider("alpha", 0.01, 2.0, start["alpha"], "inner learning rate α (log)"),
        int_slider("steps", 0, MAX_STEPS, start["steps"], "policy-gradient steps"),
        Slider("goal_x", GOAL_LOW, GOAL_HIGH, start["goal_x"], step=0.01, label="goal x"),
        Slider("goal_y", GOAL_LOW, GOAL_HIGH, start["goal_y"], step=0.01, label="goal y"),
        int_slider("trajectories", 2, MAX_TRAJECTORIES, start["trajectories"],
                   "episodes per step"),
    ]
    return SliderPanel(functools.partial(adapt_to_goal, learners), sliders,
                       GoalAdaptationPlot(), name="maml-rl-adaptation", summary=summary,
                       figsize=(14.0, 4.8))
