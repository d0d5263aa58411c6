"""The pure functions behind chapter 05's adaptation panel and method comparison, and the panel.

:func:`adapt_on_task` is what a slider move computes: one sine wave (amplitude, phase), its
first ``K`` support points, and ``steps`` SGD steps of size ``alpha`` from each learner's
starting point θ (MAML, pretrained, from scratch; all three vmapped in one call), taken by
the library's :func:`~mini_lib.meta.functional.adaptation_path` (the step loop of
:func:`~mini_lib.meta.training.evaluate_adaptation` too). It returns the fitted curves on a
grid after the slider's number of steps and each learner's error over the whole interval
after every step 0…10. :class:`AdaptationPlot` draws that with blitting;
:func:`adaptation_panel` wires the sliders. :func:`compare_methods` is the held-out comparison
of the reproduction section; :func:`task_average`, :func:`blind_baselines` and
:func:`blind_errors`: what a learner can do without a task's points; :func:`gradient_agreement`
compares meta-gradients; :func:`check_within` reads a stored run's curve at an equal budget.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import torch
from matplotlib.figure import Figure
from torch.func import vmap

from mini_lib.meta.functional import Params, adaptation_path
from mini_lib.meta.training import evaluate_adaptation
from mini_lib.tasks.sinusoid import (
    AMPLITUDE_RANGE,
    PHASE_RANGE,
    X_RANGE,
    SinusoidTasks,
    batch_mse,
    forward,
)
from mini_lib.ui.plotting import COLOURS, GREYS
from mini_lib.ui.widgets import Slider, SliderPanel, int_slider, log_slider

__all__ = [
    "LEARNER_COLOURS",
    "MAX_K",
    "MAX_STEPS",
    "AdaptationPlot",
    "TaskAdaptation",
    "adapt_on_task",
    "adaptation_panel",
    "blind_baselines",
    "blind_errors",
    "check_within",
    "compare_methods",
    "gradient_agreement",
    "support_x",
    "task_average",
]

MAX_K = 20
MAX_STEPS = 10
GRID = torch.linspace(*X_RANGE, 201).reshape(-1, 1)
LEARNER_COLOURS = {"MAML": COLOURS["blue"], "pretrained": COLOURS["vermillion"],
                   "from scratch": COLOURS["green"], "FOMAML": COLOURS["sky_blue"],
                   "Reptile": COLOURS["purple"]}
MSE_LIMITS = (1e-3, 1e3)
Y_LIMITS = (-6.5, 6.5)


@functools.cache
def support_x(seed: int = 5) -> torch.Tensor:
    """The ``MAX_K`` support inputs of the panel's task, shape ``(MAX_K, 1)``; K uses the first K.

    Fixed, so moving the K slider adds or removes points instead of reshuffling them.
    """
    rng = np.random.default_rng(seed)
    return torch.as_tensor(rng.uniform(*X_RANGE, size=(MAX_K, 1)), dtype=torch.float32)


@dataclass(frozen=True)
class TaskAdaptation:
    """One task and what each learner makes of it.

    ``curves[name]`` is the learner's prediction on ``grid`` after ``steps`` steps,
    ``start[name]`` before adapting; ``errors[name][n]`` its MSE against the true sine over the
    whole interval after ``n`` = 0…10 steps.
    """

    grid: np.ndarray
    truth: np.ndarray
    x_support: np.ndarray
    y_support: np.ndarray
    curves: dict[str, np.ndarray]
    start: dict[str, np.ndarray]
    errors: dict[str, np.ndarray]
    alpha: float
    steps: int

    def error(self, name: str) -> float:
        """MSE of ``name`` after the chosen number of steps."""
        return float(self.errors[name][self.steps])


def _stack(params: list[Params]) -> Params:
    return {name: torch.stack([p[name] for p in params]) for name in params[0]}


def adapt_on_task(thetas: dict[str, Params], alpha: float, steps: int, k_shot: int,
                  amplitude: float, phase: float) -> TaskAdaptation:
    """Adapt every starting point in ``thetas`` to the sine ``amplitude·sin(x − phase)``.

    ``k_shot`` support points (the first of :func:`support_x`), ``steps`` ∈ 0…10 SGD steps
    of size ``alpha``. ValueError naming the parameter for values out of range, and naming α
    when the steps overshoot so far that the fit is no longer a number.
    """
    if not (isinstance(alpha, int | float) and alpha > 0 and math.isfinite(alpha)):
        raise ValueError(f"alpha must be a finite number > 0, got {alpha!r}")
    if not 0 <= steps <= MAX_STEPS or int(steps) != steps:
        raise ValueError(f"steps must be an integer in [0, {MAX_STEPS}], got {steps!r}")
    if not 1 <= k_shot <= MAX_K or int(k_shot) != k_shot:
        raise ValueError(f"k_shot must be an integer in [1, {MAX_K}], got {k_shot!r}")
    if not AMPLITUDE_RANGE[0] <= amplitude <= AMPLITUDE_RANGE[1]:
        raise ValueError(f"amplitude must be in {list(AMPLITUDE_RANGE)}, got {amplitude!r}")
    if not PHASE_RANGE[0] <= phase <= PHASE_RANGE[1] + 1e-9:
        raise ValueError(f"phase must be in [0, π], got {phase!r}")
    steps, k_shot = int(steps), int(k_shot)
    x = support_x()[:k_shot]
    y = amplitude * torch.sin(x - phase)
    truth = amplitude * torch.sin(GRID - phase)
    names = list(thetas)

    def trajectory(theta: Params) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        path = adaptation_path(theta, batch_mse, (x, y), alpha, MAX_STEPS)
        fits = [forward(phi, GRID) for phi in path]
        errors = torch.stack([((fit - truth) ** 2).mean() for fit in fits])
        return fits[steps], fits[0], errors

    with torch.no_grad():
        chosen, start, errors = vmap(trajectory)(_stack([thetas[n] for n in names]))
    errors_np = errors.double().numpy()
    if not np.isfinite(errors_np[:, : steps + 1]).all():
        raise ValueError(f"alpha={alpha:.3g} is far too large: the inner steps overshoot until "
                         f"the fit is no longer a number; try a smaller α")
    return TaskAdaptation(
        grid=GRID[:, 0].numpy(), truth=truth[:, 0].numpy(), x_support=x[:, 0].numpy(),
        y_support=y[:, 0].numpy(),
        curves={n: chosen[i, :, 0].numpy() for i, n in enumerate(names)},
        start={n: start[i, :, 0].numpy() for i, n in enumerate(names)},
        errors={n: errors_np[i] for i, n in enumerate(names)}, alpha=float(alpha), steps=steps)


def summary(result: TaskAdaptation) -> str:
    errors = " · ".join(f"{name} {_fmt(result.error(name))}" for name in result.curves)
    step_word = "step" if result.steps == 1 else "steps"
    return (f"MSE over [−5, 5] after {result.steps} {step_word} of α = {result.alpha:.3g} on "
            f"{len(result.x_support)} points: {errors}")


def _fmt(value: float) -> str:
    return "nan" if not math.isfinite(value) else f"{value:.3g}"


class AdaptationPlot:
    """Left: the true sine, the K points and each learner's fit; right: MSE against steps."""

    def __init__(self) -> None:
        self.axes = None
        self.truth_line = None
        self.points = None
        self.fit_lines: dict[str, object] = {}
        self.start_line = None
        self.error_lines: dict[str, object] = {}
        self.marker = None

    def __call__(self, result: TaskAdaptation, fig: Figure) -> None:
        if self.axes is None:
            self._build(result, fig)
        low, high = Y_LIMITS
        self.truth_line.set_data(result.grid, result.truth)
        self.points.set_offsets(np.column_stack([result.x_support, result.y_support]))
        first = next(iter(result.curves))
        self.start_line.set_data(result.grid, np.clip(result.start[first], low - 1, high + 1))
        steps = np.arange(MAX_STEPS + 1)
        for name, line in self.fit_lines.items():
            line.set_data(result.grid, np.clip(result.curves[name], low - 1, high + 1))
            errors = np.nan_to_num(result.errors[name], nan=MSE_LIMITS[1], posinf=MSE_LIMITS[1])
            self.error_lines[name].set_data(steps, np.clip(errors, *MSE_LIMITS))
        self.marker.set_xdata([result.steps, result.steps])

    def _build(self, result: TaskAdaptation, fig: Figure) -> None:
        fit_ax, error_ax = fig.subplots(1, 2, width_ratios=(1.35, 1))
        self.axes = (fit_ax, error_ax)
        (self.truth_line,) = fit_ax.plot([], [], color="black", linewidth=2.5, label="true sine")
        self.points = fit_ax.scatter([], [], s=70, color="black", marker="^", zorder=5,
                                     label="K support points")
        first = next(iter(result.curves))
        (self.start_line,) = fit_ax.plot([], [], color=LEARNER_COLOURS.get(first, COLOURS["blue"]),
                                         linestyle=":", linewidth=2,
                                         label=f"{first} before adapting")
        for name in result.curves:
            colour = LEARNER_COLOURS.get(name)
            (self.fit_lines[name],) = fit_ax.plot([], [], color=colour, linewidth=2.2,
                                                  label=f"{name}, adapted")
            (self.error_lines[name],) = error_ax.plot([], [], color=colour, marker="o",
                                                      label=name)
        fit_ax.set(xlim=X_RANGE, ylim=Y_LIMITS, xlabel="x", ylabel="y",
                   title="Fits after the chosen number of steps")
        fit_ax.legend(loc="lower left", fontsize=12, ncol=2)
        self.marker = error_ax.axvline(result.steps, color=GREYS["light"], linestyle="--")
        error_ax.set_yscale("log")
        error_ax.set(xlim=(-0.3, MAX_STEPS + 0.3), ylim=MSE_LIMITS, xlabel="inner SGD steps",
                     ylabel="MSE over [−5, 5] (log)", title="Error on this task")
        error_ax.legend(loc="lower left", fontsize=12)

    def dynamic_artists(self) -> list:
        return [self.truth_line, self.points, self.start_line, *self.fit_lines.values(),
                *self.error_lines.values(), self.marker]


def adaptation_panel(thetas: dict[str, Params], **defaults) -> SliderPanel:
    """Sliders α (log), inner steps, K, amplitude, phase → :func:`adapt_on_task` live."""
    start = {"alpha": 0.01, "steps": 1, "k_shot": 10, "amplitude": 3.0, "phase": 1.0} | defaults
    sliders = [
        log_slider("alpha", 1e-3, 0.3, start["alpha"], "inner learning rate α (log)"),
        int_slider("steps", 0, MAX_STEPS, start["steps"], "inner SGD steps"),
        int_slider("k_shot", 1, MAX_K, start["k_shot"], "K support points"),
        Slider("amplitude", *AMPLITUDE_RANGE, start["amplitude"], step=0.05,
               label="task amplitude A"),
        Slider("phase", *PHASE_RANGE, start["phase"], step=0.02, label="task phase φ"),
    ]
    return SliderPanel(functools.partial(adapt_on_task, thetas), sliders, AdaptationPlot(),
                       name="maml-adaptation", summary=summary, figsize=(13.5, 5.0),
                       clear=False)


def compare_methods(thetas: dict[str, Params], tasks: SinusoidTasks, alpha: float = 0.01,
                    max_steps: int = MAX_STEPS) -> dict[str, np.ndarray]:
    """Per-task query MSE after 0…``max_steps`` steps, ``(tasks, max_steps + 1)`` per method.

    The thetas are :class:`~mini_lib.tasks.sinusoid.SinusoidMLP` parameter dicts.
    """
    return {name: evaluate_adaptation(theta, batch_mse, tasks.support, tasks.query, alpha,
                                      max_steps)
            for name, theta in thetas.items()}


# --- predicting without looking at the task ------------------------------------------------

def task_average(x: np.ndarray | float) -> np.ndarray:
    """The family's mean ``E[A sin(x − φ)]``: the best prediction that ignores the task's points.

    A and φ are independent: ``E[A]·(cos(x − φ_max) − cos(x − φ_min))/(φ_max − φ_min)``, for
    φ ~ U[0, π] ``E[A]·(−2/π) cos x = −(2/π)·2.55·cos x ≈ −1.62 cos x``.
    """
    (low, high), mean_amplitude = PHASE_RANGE, sum(AMPLITUDE_RANGE) / 2
    x = np.asarray(x, dtype=np.float64)
    return mean_amplitude * (np.cos(x - high) - np.cos(x - low)) / (high - low)


def blind_baselines(nodes: int = 64) -> dict[str, float]:
    """Expected MSE over the family (A, φ, x uniform) of predicting ``0`` and :func:`task_average`.

    ``zero = E[A²]·E[sin²(x − φ)]``; since the average is ``E[y | x]``, predicting it removes
    its own square: ``average = zero − E_x[task_average(x)²]``. Integrals over x and φ by
    Gauss–Legendre quadrature (exact to float precision for these smooth integrands).
    """
    (a_low, a_high), nodes_weights = AMPLITUDE_RANGE, np.polynomial.legendre.leggauss(nodes)

    def mean_over(interval: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
        (t, w), (low, high) = nodes_weights, interval
        return low + (t + 1) * (high - low) / 2, w / 2  # nodes in the interval, weights sum to 1

    (x, wx), (phi, wphi) = mean_over(X_RANGE), mean_over(PHASE_RANGE)
    mean_square_amplitude = (a_high**3 - a_low**3) / (3 * (a_high - a_low))
    zero = mean_square_amplitude * (wx @ np.sin(x[:, None] - phi[None, :]) ** 2 @ wphi)
    return {"zero": float(zero), "average": float(zero - wx @ task_average(x) ** 2)}


def blind_errors(tasks: SinusoidTasks) -> dict[str, np.ndarray]:
    """Per-task MSE on the query points of predicting ``0`` and of :func:`task_average`."""
    x, y = (t.double().numpy()[..., 0] for t in tasks.query)
    return {"zero": (y**2).mean(axis=1), "average": ((y - task_average(x)) ** 2).mean(axis=1)}


def gradient_agreement(exact: Params, approximate: Params) -> tuple[float, float]:
    """``(cosine, ‖approximate‖ / ‖exact‖)`` of two gradients over all parameters at once."""
    a, b = (torch.cat([g[name].flatten() for name in exact]).double()
            for g in (exact, approximate))
    return float(a @ b / (a.norm() * b.norm())), float(b.norm() / a.norm())


def check_within(weights: dict[str, torch.Tensor], method: str, *, iterations: int | None = None,
                 seconds: float | None = None) -> tuple[int, float]:
    """``(iteration, 1-step validation MSE)`` of a stored run's last check within a budget:
    ``iterations``, or ``seconds`` of wall time (taken as uniform over the run's iterations)."""
    checks = weights[f"{method}.check_iterations"].numpy()
    limit = iterations if iterations is not None else (
        seconds * len(weights[f"{method}.losses"]) / weights[f"{method}.seconds"].item())
    reached = np.flatnonzero(checks <= limit)
    if reached.size == 0:
        raise ValueError(f"{method}: no stored check within the budget (first at {checks[0]})")
    return int(checks[reached[-1]]), float(weights[f"{method}.check_mse"][reached[-1]])
