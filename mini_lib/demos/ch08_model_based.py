"""Chapter 08 part 2's model-based views: what a dynamics model predicts before and after one
adaptation step, and the MPC slider panel (adaptation data M, planner horizon, the actuator).

:func:`predict_actions` asks each model where 16 full-speed actions, one per direction, take
the agent from the origin — before and after one SGD step on ``n_transitions`` transitions of
one actuator — beside the truth. :func:`plan_one_actuator` is what a move of the MPC panel
computes: the first :data:`PANEL_STEPS` steps of an episode of GrBAL (the MAML model adapted
online) and of the pretrained model with the same online fine-tuning, on one actuator.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from mini_lib.checks import check_int
from mini_lib.envs.point_navigation import GOAL_TOLERANCE, MAX_SPEED
from mini_lib.meta.functional import Params, adapt, mse_loss
from mini_lib.model_based.mpc import MPCConfig, hidden_widths, run_mpc
from mini_lib.tasks.navigation_dynamics import (
    ANGLE_RANGE,
    GOAL,
    SCALE_RANGE,
    Dynamics,
    DynamicsModel,
    step,
    transitions,
)
from mini_lib.ui.plotting import COLOURS, GREYS
from mini_lib.ui.widgets import Slider, SliderPanel, int_slider

__all__ = ["AGENTS", "MPCView", "PredictionView", "actuator", "draw_mpc", "draw_predictions",
           "mpc_panel", "plan_one_actuator", "predict_actions"]

DIRECTIONS = 16
#: steps the panel plays (GrBAL needs about 7; a full 100-step failure took 4 s to redraw)
PANEL_STEPS = 30
MAX_DEGREES = math.degrees(ANGLE_RANGE[1])
#: agent -> (stored model, adapt online, colour)
AGENTS = {"GrBAL (MAML model, adapted)": ("maml", True, COLOURS["blue"]),
          "pretrained model + fine-tuning": ("pretrain", True, COLOURS["orange"])}


def actuator(angle_degrees: float, scale: float) -> Dynamics:
    """One actuator: actions turned by ``angle_degrees`` ∈ [−90, 90] and scaled by ``scale``
    ∈ [0.5, 1.5]."""
    if not -MAX_DEGREES <= angle_degrees <= MAX_DEGREES:
        raise ValueError(f"angle_degrees must be in [{-MAX_DEGREES:.0f}, {MAX_DEGREES:.0f}], "
                         f"got {angle_degrees!r}")
    if not SCALE_RANGE[0] <= scale <= SCALE_RANGE[1]:
        raise ValueError(f"scale must be in [{SCALE_RANGE[0]}, {SCALE_RANGE[1]}], got {scale!r}")
    return Dynamics(torch.tensor([math.radians(angle_degrees)], dtype=torch.float32),
                    torch.tensor([scale], dtype=torch.float32))


@dataclass(frozen=True)
class PredictionView:
    """Displacements (in units of the top speed) of :data:`DIRECTIONS` unit actions from the
    origin: ``true`` ``(16, 2)``, ``predicted[model][stage]`` for stage ``"before"`` / ``"after"``
    one step, and each model's mean squared one-step error on 500 fresh transitions."""

    n_transitions: int
    true: np.ndarray
    predicted: dict[str, dict[str, np.ndarray]]
    errors: dict[str, dict[str, float]]


def predict_actions(models: dict[str, Params], n_transitions: int, angle_degrees: float,
                    scale: float, alpha: float = 0.5, seed: int = 0) -> PredictionView:
    """Every model of ``models`` before and after one SGD step of size ``alpha`` on
    ``n_transitions`` ∈ 1…64 uniform transitions of the actuator."""
    n = check_int("n_transitions", n_transitions, 1, 64)
    dynamics = actuator(angle_degrees, scale)
    rng = np.random.default_rng(seed)
    support = tuple(t[0] for t in transitions(dynamics, n, rng))
    test_inputs, test_targets = (t[0] for t in transitions(dynamics, 500, rng))
    angles = torch.linspace(0, 2 * math.pi, DIRECTIONS + 1)[:-1]
    actions = torch.stack([torch.cos(angles), torch.sin(angles)], dim=1)
    inputs = torch.cat([torch.zeros(DIRECTIONS, 2), actions], dim=1)
    true = step(torch.zeros(1, DIRECTIONS, 2), actions[None], dynamics)[0] / MAX_SPEED
    predicted: dict[str, dict[str, np.ndarray]] = {}
    errors: dict[str, dict[str, float]] = {}
    for name, params in models.items():
        skeleton = DynamicsModel(hidden_widths(params))
        loss_fn = mse_loss(skeleton)
        stages = {"before": params,
                  "after": adapt(params, loss_fn, support, alpha, 1, first_order=True)}
        with torch.no_grad():
            predicted[name] = {stage: torch.func.functional_call(skeleton, p, (inputs,)).numpy()
                               for stage, p in stages.items()}
            errors[name] = {stage: float(loss_fn(p, (test_inputs, test_targets)))
                            for stage, p in stages.items()}
    return PredictionView(n, true.numpy(), predicted, errors)


def draw_predictions(view: PredictionView, fig: Figure) -> None:
    """One panel per model: the truth, the prediction before (dashed) and after one step."""
    axes = fig.subplots(1, len(view.predicted))
    for ax, (name, stages) in zip(np.atleast_1d(axes), view.predicted.items(), strict=True):
        closed = np.vstack([view.true, view.true[:1]])
        ax.plot(closed[:, 0], closed[:, 1], color=GREYS["darkest"], label="true")
        for stage, style in (("before", dict(color=GREYS["light"], linestyle="--")),
                             ("after", dict(color=COLOURS["blue"]))):
            points = np.vstack([stages[stage], stages[stage][:1]])
            ax.plot(points[:, 0], points[:, 1], marker="o", markersize=4, **style,
                    label=f"{stage} (error {view.errors[name][stage]:.3f})")
        ax.plot(view.true[0, 0], view.true[0, 1], "s", color=COLOURS["vermillion"],
                markersize=10, label="action (1, 0)", zorder=4)
        ax.set(xlim=(-1.25, 1.25), ylim=(-1.25, 1.25), aspect="equal",
               xlabel="predicted Δx (top speed)", ylabel="predicted Δy (top speed)",
               title=f"{name}: 1 step on {view.n_transitions}")
        ax.legend(loc="lower left", fontsize=10)


@dataclass(frozen=True)
class MPCView:
    """One episode per agent of :data:`AGENTS`: ``paths`` ``(steps + 1, 2)``, ``returns``,
    whether it ``reached`` the goal, and its one-step prediction error per step (NaN after
    the end)."""

    recent: int
    horizon: int
    paths: dict[str, np.ndarray]
    returns: dict[str, float]
    reached: dict[str, bool]
    errors: dict[str, np.ndarray]


def plan_one_actuator(models: dict[str, Params], recent: int, horizon: int,
                      angle_degrees: float, scale: float, seed: int = 0) -> MPCView:
    """Every agent of :data:`AGENTS` on one actuator: adapting on its last ``recent`` ∈ 1…32
    transitions, planning ``horizon`` ∈ 1…10 steps ahead (CEM, 200 sequences), for
    :data:`PANEL_STEPS` steps at most."""
    recent = check_int("recent", recent, 1, 32)
    horizon = check_int("horizon", horizon, 1, 10)
    dynamics = actuator(angle_degrees, scale)
    config = MPCConfig(horizon=horizon, recent=recent, episode_steps=PANEL_STEPS)
    paths, returns, reached, errors = {}, {}, {}, {}
    for name, (model, online, _) in AGENTS.items():
        rollout = run_mpc(models[model], config, dynamics, adapt=online, seed=seed)
        paths[name] = rollout.positions[0].double().numpy()
        returns[name] = float(rollout.returns[0])
        reached[name] = bool(rollout.reached[0])
        errors[name] = rollout.prediction_error[0].double().numpy()
    return MPCView(recent, horizon, paths, returns, reached, errors)


def goal_box() -> Rectangle:
    """The square around :data:`GOAL` in which an episode ends."""
    return Rectangle((GOAL[0] - GOAL_TOLERANCE, GOAL[1] - GOAL_TOLERANCE), 2 * GOAL_TOLERANCE,
                     2 * GOAL_TOLERANCE, fill=False, edgecolor=GREYS["dark"], linewidth=1.2)


def draw_mpc(view: MPCView, fig: Figure) -> None:
    """The agents' paths | their one-step prediction error against the step."""
    ax_paths, ax_error = fig.subplots(1, 2, width_ratios=[1, 1.3])
    for name, path in view.paths.items():
        ax_paths.plot(path[:, 0], path[:, 1], marker=".", color=AGENTS[name][2],
                      label=f"{name.split(' (')[0]}: {view.returns[name]:.1f}")
        ax_error.plot(np.arange(1, len(view.errors[name]) + 1), view.errors[name],
                      color=AGENTS[name][2], label=name)
    ax_paths.plot(*GOAL, marker="*", color=COLOURS["yellow"], markeredgecolor="black",
                  markersize=20, linestyle="none")
    ax_paths.add_patch(goal_box())
    ax_paths.set(xlim=(-1.0, 1.0), ylim=(-1.0, 1.0), aspect="equal", xlabel="x position",
                 ylabel="y position", title=f"First {PANEL_STEPS} steps (return in legend)")
    ax_paths.legend(loc="lower left", fontsize=10)
    ax_error.set(yscale="log", ylim=(1e-4, 3), xlabel="step of the episode",
                 ylabel="one-step error (top speed²)", title=f"Model error, M = {view.recent}")
    ax_error.legend(loc="upper right", fontsize=10)


def mpc_summary(view: MPCView) -> str:
    parts = [f"{name.split(' (')[0]} {view.returns[name]:.1f}"
             f"{'' if view.reached[name] else f' (still short after {PANEL_STEPS} steps)'}"
             for name in view.paths]
    return f"M = {view.recent}, horizon {view.horizon}: " + " · ".join(parts)


def mpc_panel(models: dict[str, Params], **defaults) -> SliderPanel:
    """Sliders: adaptation data M 1–32, horizon 1–10, actuator turn and scale →
    :func:`plan_one_actuator`."""
    start = {"recent": 16, "horizon": 3, "angle_degrees": 45.0, "scale": 1.0} | defaults
    sliders = [int_slider("recent", 1, 32, start["recent"], "adapt on last M"),
               int_slider("horizon", 1, 10, start["horizon"], "planner horizon"),
               Slider("angle_degrees", -MAX_DEGREES, MAX_DEGREES, start["angle_degrees"],
                      step=5.0, label="actuator turn (°)"),
               Slider("scale", SCALE_RANGE[0], SCALE_RANGE[1], start["scale"], step=0.05,
                      label="actuator scale")]
    return SliderPanel(functools.partial(plan_one_actuator, models), sliders, draw_mpc,
                       name="model-based-mpc", summary=mpc_summary, figsize=(13.0, 5.0))
