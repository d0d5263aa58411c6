"""Chapter 08's two slider panels: how much context an encoder needs, and how many gradient
steps CAVIA and MAML need.

:func:`read_context` is what a move of the context slider computes: for one goal, one
context episode (played towards a guessed goal), the posterior after its first ``n`` transitions —
drawn as the 1σ and 2σ ellipses of its belief about the goal — and a few scored episodes
acting on the posterior mean; also the posterior after *every* prefix, for the curve of its
error and spread against ``n``. :func:`adapt_by_gradient` runs CAVIA (only a context vector
adapts) and chapter 06's MAML (every weight adapts) for 0…5 steps on the same goal.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.patches import Ellipse

from mini_lib.checks import check_int
from mini_lib.demos.ch06_maml_rl import draw_paths
from mini_lib.envs.point_navigation import GOAL_HIGH, GOAL_LOW, HORIZON
from mini_lib.meta.functional import Params
from mini_lib.tasks.navigation import NavigationBatch, NavigationPolicy
from mini_lib.tasks.navigation_context import (
    FamilyLearner,
    collect_context,
    context_adaptation_batches,
    infer,
)
from mini_lib.tasks.navigation_training import adaptation_batches
from mini_lib.ui.plotting import COLOURS, GREYS
from mini_lib.ui.widgets import Slider, SliderPanel, int_slider

__all__ = ["MAX_STEPS", "ContextView", "GradientView", "adapt_by_gradient", "context_panel",
           "gradient_panel", "read_context"]

MAX_STEPS = 5
SHOWN = 6  # episodes drawn per panel


def _goal(goal_x: float, goal_y: float) -> np.ndarray:
    for name, value in (("goal_x", goal_x), ("goal_y", goal_y)):
        if not GOAL_LOW <= value <= GOAL_HIGH:
            raise ValueError(f"{name} must be in [{GOAL_LOW}, {GOAL_HIGH}], got {value!r}")
    return np.array([[goal_x, goal_y]], dtype=np.float32)


def _paths(batch: NavigationBatch) -> tuple[np.ndarray, np.ndarray]:
    observations, _, _, mask = batch.batch
    return observations[0, :SHOWN].double().numpy(), mask[0, :SHOWN].bool().numpy()


@dataclass(frozen=True)
class ContextView:
    """One goal read through ``n`` context transitions: the context path and its mask, the
    goal marginal (mean ``(2,)``, covariance ``(2, 2)``) after ``n`` and after every prefix
    (``errors``, ``spreads``: distance of the mean to the goal and √det^{1/2} of the goal
    covariance, for 0…100), the scored paths and their mean return."""

    goal: np.ndarray
    n: int
    context: tuple[np.ndarray, np.ndarray]
    mean: np.ndarray
    covariance: np.ndarray
    errors: np.ndarray
    spreads: np.ndarray
    scored: tuple[np.ndarray, np.ndarray]
    mean_return: float


def read_context(learner: FamilyLearner, n_transitions: int, goal_x: float, goal_y: float,
                 trajectories: int = 20, seed: int = 0) -> ContextView:
    """The encoder of ``learner`` reads the first ``n_transitions`` ∈ 0…100 of one context
    episode on the goal ``(goal_x, goal_y)``; ``trajectories`` scored episodes follow."""
    n = check_int("n_transitions", n_transitions, 0, HORIZON)
    goal = _goal(goal_x, goal_y)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        context = collect_context(learner, goal, generator)
        prefixes = context._replace(
            transitions=context.transitions.expand(HORIZON + 1, -1, -1),
            mask=context.valid.expand(HORIZON + 1, -1), valid=context.valid.expand(
                HORIZON + 1, -1)).first(torch.arange(HORIZON + 1))
        every = infer(learner, prefixes)
    means, covariances = every.mean[:, :2].double(), every.covariance[:, :2, :2].double()
    scored = learner.sample(every.mean[n:n + 1], goal, trajectories, generator)
    positions = context.transitions[0, :, :2].double().numpy()
    valid = context.valid[0].bool().numpy()
    return ContextView(goal[0], n, (positions, valid), means[n].numpy(), covariances[n].numpy(),
                       (means - torch.as_tensor(goal, dtype=torch.float64)).norm(dim=1).numpy(),
                       torch.linalg.det(covariances).pow(0.25).numpy(), _paths(scored),
                       scored.mean_return)


def _ellipses(ax, mean: np.ndarray, covariance: np.ndarray) -> None:
    values, vectors = np.linalg.eigh(covariance)
    angle = float(np.degrees(np.arctan2(vectors[1, -1], vectors[0, -1])))
    for k, alpha in ((1, 0.35), (2, 0.15)):
        width, height = 2 * k * np.sqrt(np.maximum(values[::-1], 1e-12))
        ax.add_patch(Ellipse(mean, width, height, angle=angle, color=COLOURS["sky_blue"],
                             alpha=alpha, zorder=1))
    ax.plot(*mean, "x", color=COLOURS["blue"], markersize=12, markeredgewidth=3, zorder=3)


def draw_context(view: ContextView, fig: Figure) -> None:
    """Context and belief | scored episodes | error and spread against n."""
    ax_context, ax_scored, ax_curve = fig.subplots(1, 3, width_ratios=[1, 1, 1.25])
    positions, valid = view.context
    read = valid.copy()
    read[view.n:] = False
    ax_context.plot(positions[valid, 0], positions[valid, 1], color=GREYS["light"], lw=1.5)
    ax_context.plot(positions[read, 0], positions[read, 1], ".", color=COLOURS["orange"],
                    markersize=6, label=f"read: {view.n} transitions")
    _ellipses(ax_context, view.mean, view.covariance)
    draw_paths(ax_context, (positions[None, :0], valid[None, :0]), view.goal, "C0",
               title="Context episode and belief (1σ, 2σ)")
    ax_context.legend(loc="lower left", fontsize=11)
    draw_paths(ax_scored, view.scored, view.goal, COLOURS["blue"],
               title=f"Scored episodes: return {view.mean_return:.1f}")
    for ax in (ax_context, ax_scored):
        ax.set(xlabel="x position")
    ax_context.set(ylabel="y position")
    n = np.arange(HORIZON + 1)
    ax_curve.plot(n[1:], view.errors[1:], color=COLOURS["blue"], label="|mean − goal|")
    ax_curve.plot(n[1:], view.spreads[1:], color=COLOURS["sky_blue"], linestyle="--",
                  label="belief spread (det^¼)")
    ax_curve.axvline(max(view.n, 1), color=GREYS["light"], linestyle="--")
    ax_curve.set(xscale="log", xlim=(1, HORIZON), ylim=(0, 0.8),
                 xlabel="context transitions read (log)", ylabel="distance (position units)",
                 title="Belief about the goal")
    ax_curve.legend(loc="upper right", fontsize=11)


def context_summary(view: ContextView) -> str:
    return (f"after {view.n} transitions: belief {np.round(view.mean, 2).tolist()}, goal "
            f"{np.round(view.goal, 2).tolist()}, error {view.errors[view.n]:.3f}; scored "
            f"return {view.mean_return:.1f}")


def context_panel(learner: FamilyLearner, **defaults) -> SliderPanel:
    """Sliders: context transitions 0–100, goal (x, y) → :func:`read_context`."""
    start = {"n_transitions": 3, "goal_x": 0.3, "goal_y": -0.2} | defaults
    sliders = [int_slider("n_transitions", 0, HORIZON, start["n_transitions"],
                          "context transitions"),
               Slider("goal_x", GOAL_LOW, GOAL_HIGH, start["goal_x"], step=0.01, label="goal x"),
               Slider("goal_y", GOAL_LOW, GOAL_HIGH, start["goal_y"], step=0.01, label="goal y")]
    return SliderPanel(functools.partial(read_context, learner), sliders, draw_context,
                       name="context-inference", summary=context_summary, figsize=(15.0, 4.8))


@dataclass(frozen=True)
class GradientView:
    """CAVIA and MAML on one goal: paths after ``steps`` (and before, faint) and the mean
    return after 0…5 steps, per learner."""

    goal: np.ndarray
    steps: int
    trajectories: int
    paths: dict[str, tuple[np.ndarray, np.ndarray]]
    start: dict[str, tuple[np.ndarray, np.ndarray]]
    returns: dict[str, np.ndarray]


def adapt_by_gradient(cavia: FamilyLearner, maml: tuple[NavigationPolicy, Params], steps: int,
                      trajectories: int, goal_x: float, goal_y: float, cavia_alpha: float = 1.0,
                      maml_alpha: float = 0.1, seed: int = 0) -> GradientView:
    """``steps`` ∈ 0…5 gradient steps, each on ``trajectories`` ∈ 2…40 fresh episodes: CAVIA
    adapts its context vector (step ``cavia_alpha``), MAML every weight (``maml_alpha``)."""
    steps = check_int("steps", steps, 0, MAX_STEPS)
    trajectories = check_int("trajectories", trajectories, 2, 40)
    goal = _goal(goal_x, goal_y)
    cavia_batches = context_adaptation_batches(cavia, goal, trajectories, cavia_alpha,
                                               MAX_STEPS, seed)
    maml_batches = adaptation_batches(*maml, goal, trajectories, maml_alpha, MAX_STEPS, seed)
    runs = {"CAVIA": cavia_batches, "MAML": maml_batches}
    return GradientView(goal[0], steps, trajectories,
                        {name: _paths(b[steps]) for name, b in runs.items()},
                        {name: _paths(b[0]) for name, b in runs.items()},
                        {name: np.array([x.mean_return for x in b]) for name, b in runs.items()})


GRADIENT_COLOURS = {"CAVIA": COLOURS["green"], "MAML": COLOURS["blue"]}


def draw_gradient(view: GradientView, fig: Figure) -> None:
    """A panel of paths per learner, and the return against the number of steps."""
    axes = fig.subplots(1, 3, width_ratios=[1, 1, 1.25])
    for ax, name in zip(axes, view.paths, strict=False):
        draw_paths(ax, view.paths[name], view.goal, GRADIENT_COLOURS[name],
                   faint=view.start[name], title=f"{name} after {view.steps} step(s)")
        ax.set(xlabel="x position")
    axes[0].set(ylabel="y position")
    steps = np.arange(MAX_STEPS + 1)
    for name, returns in view.returns.items():
        axes[-1].plot(steps, np.maximum(returns, -150), marker="o", label=name,
                      color=GRADIENT_COLOURS[name])
    axes[-1].axvline(view.steps, color=GREYS["light"], linestyle="--")
    axes[-1].set(xlabel="gradient steps", ylabel="mean return (100 steps)", ylim=(-150, 0),
                 title=f"Return on this goal ({view.trajectories} episodes a step)")
    axes[-1].legend(loc="lower right", fontsize=12)


def gradient_summary(view: GradientView) -> str:
    scores = " · ".join(f"{name} {r[view.steps]:.1f}" for name, r in view.returns.items())
    return f"mean return after {view.steps} step(s) on {view.trajectories} episodes: {scores}"


def gradient_panel(cavia: FamilyLearner, maml: tuple[NavigationPolicy, Params],
                   **defaults) -> SliderPanel:
    """Sliders: steps 0–5, episodes per step 2–40, goal (x, y) → :func:`adapt_by_gradient`."""
    start = {"steps": 1, "trajectories": 20, "goal_x": 0.3, "goal_y": -0.2} | defaults
    sliders = [int_slider("steps", 0, MAX_STEPS, start["steps"], "inner gradient steps"),
               int_slider("trajectories", 2, 40, start["trajectories"], "episodes per step"),
               Slider("goal_x", GOAL_LOW, GOAL_HIGH, start["goal_x"], step=0.01, label="goal x"),
               Slider("goal_y", GOAL_LOW, GOAL_HIGH, start["goal_y"], step=0.01, label="goal y")]
    return SliderPanel(functools.partial(adapt_by_gradient, cavia, maml), sliders,
                       draw_gradient, name="gradient-adaptation", summary=gradient_summary,
                       figsize=(15.0, 4.8))
