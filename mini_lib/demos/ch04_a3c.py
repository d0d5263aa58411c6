"""The functions and panels behind chapter 04's sliders, all browsing the stored sweep.

Nothing trains when a slider moves: :func:`sweep_panel` looks up one cell of
``data/a3c_sweep.npz`` (:mod:`mini_lib.artefacts.a3c_sweep`) and draws it over the tuned
setting in grey. :func:`cell_summary` and :func:`first_solved` are the numbers the notebook
prints and asserts (tests call them directly).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import gymnasium as gym
import numpy as np
import torch
from matplotlib.figure import Figure
from torch.nn.utils import parameters_to_vector, vector_to_parameters

from mini_lib.artefacts.a3c_sweep import GRID, PANELS, A3CSweep
from mini_lib.checks import check_int
from mini_lib.evaluation import SOLVED_CARTPOLE
from mini_lib.policy_gradient.a2c import collect_rollouts, make_envs, start_states
from mini_lib.policy_gradient.config import PolicyGradientConfig
from mini_lib.policy_gradient.losses import actor_critic_loss
from mini_lib.policy_gradient.updates import build_actor_critic, gradient_step, optimizer_groups
from mini_lib.ui.plotting import COLOURS, GREYS
from mini_lib.ui.widgets import Choice, SliderPanel

__all__ = ["BASE", "LABELS", "SweepCell", "SweepCurves", "batch_diversity", "cell_summary",
           "first_solved", "stale_gradient_alignment", "sweep_cell", "sweep_panel"]

SEED_COLOURS = (COLOURS["blue"], COLOURS["orange"], COLOURS["green"], COLOURS["purple"],
                COLOURS["vermillion"])
#: The tuned setting (CARTPOLE_A2C; 4 workers without staleness in the staleness panel).
BASE = {"t_max": 8, "learning_rate": 3e-3, "gamma": 0.99, "entropy_coef": 0.01, "workers": 4,
        "staleness": 0}
LABELS = {"t_max": "t_max (rollout length)", "learning_rate": "learning rate (log)",
          "gamma": "γ (discount)", "entropy_coef": "entropy coefficient β",
          "workers": "workers K (simulated)", "staleness": "staleness τ (updates)"}
FORMATS = {"learning_rate": lambda v: f"{v:.0e}", "t_max": lambda v: f"{v:.0f}",
           "workers": lambda v: f"{v:.0f}", "staleness": lambda v: f"{v:.0f}"}


def batch_diversity(n_envs: int, t_max: int, n_batches: int = 200, seed: int = 0,
                    explore: float = 0.2) -> float:
    """How much of CartPole's state variance one batch of ``n_envs × t_max`` states covers.

    A hand-written balancing policy (push towards where the pole is falling; a random action
    with probability ``explore``), like a half-trained agent whose episodes last hundreds of
    steps, runs ``n_envs`` envs side by side; each batch holds the next ``t_max`` states of
    every env (what one A2C update sees). Returns the mean within-batch variance ÷ the
    variance over all states, averaged over the 4 state dimensions: 1 would be a batch as
    varied as independent samples; consecutive states of one env give much less.
    """
    n_envs, t_max = check_int("n_envs", n_envs, 1, 1024), check_int("t_max", t_max, 1, 10_000)
    rng = np.random.default_rng(seed)
    envs = [gym.make("CartPole-v1") for _ in range(n_envs)]
    states = [env.reset(seed=seed + i)[0] for i, env in enumerate(envs)]
    batches = np.empty((n_batches, t_max * n_envs, 4))
    for b in range(n_batches):
        for t in range(t_max):
            for i, env in enumerate(envs):
                batches[b, t * n_envs + i] = states[i]
                falling_right = states[i][2] + 0.5 * states[i][3] > 0
                action = int(rng.integers(2)) if rng.random() < explore else int(falling_right)
                states[i], _, terminated, truncated, _ = env.step(action)
                if terminated or truncated:
                    states[i] = env.reset()[0]
    within = batches.var(axis=1).mean(axis=0)
    total = batches.reshape(-1, 4).var(axis=0)
    return float((within / total).mean())


def stale_gradient_alignment(config: PolicyGradientConfig, staleness: tuple[int, ...],
                             updates: int = 300, n_envs: int = 4,
                             seed: int = 0) -> dict[int, np.ndarray]:
    """How well does a gradient τ updates old point along today's? Per τ, the cosines.

    Trains A2C (``n_envs`` envs) for ``updates`` updates, keeping every parameter snapshot.
    At each update ``u ≥ max(staleness)`` it takes the gradient of that update's loss on its
    rollout with respect to the *policy's* parameters at the current parameters θ_u and at
    θ_{u−τ}, and records their cosine: the direction a worker τ updates behind would push the
    policy, on the same data, against today's. (The critic's gradient, larger and steadier,
    would dominate a cosine over all parameters.)
    """
    updates = check_int("updates", updates, max(staleness) + 2)
    envs = make_envs("CartPole-v1", n_envs)
    policy, value_fn = build_actor_critic(envs[0], config, seed)
    optimizer = torch.optim.Adam(optimizer_groups(policy, value_fn, config))
    params = [p for group in optimizer.param_groups for p in group["params"]]
    old_policy, old_value = copy.deepcopy(policy), copy.deepcopy(value_fn)
    old_params = [*old_policy.parameters(), *old_value.parameters()]
    states, snapshots = start_states(envs, seed), []
    cosines: dict[int, list[float]] = {tau: [] for tau in staleness}
    for u in range(updates):
        snapshots.append(parameters_to_vector(params).detach().clone())
        rollout = collect_rollouts(envs, policy, config.n_steps, states)
        loss = actor_critic_loss(policy, value_fn, rollout, config)
        if u >= max(staleness):
            now = parameters_to_vector(torch.autograd.grad(loss.total, list(policy.parameters()),
                                                           retain_graph=True))
            for tau in staleness:
                with torch.no_grad():
                    vector_to_parameters(snapshots[u - tau], old_params)
                stale_loss = actor_critic_loss(old_policy, old_value, rollout, config)
                then = parameters_to_vector(torch.autograd.grad(stale_loss.total,
                                                                list(old_policy.parameters())))
                cosines[tau].append(float(torch.nn.functional.cosine_similarity(now, then,
                                                                                dim=0)))
        gradient_step(loss, optimizer, config, u)
    return {tau: np.array(values) for tau, values in cosines.items()}


@dataclass(frozen=True)
class SweepCell:
    """One cell of a panel, ``curves[seed, (score, train), evaluation]``, and its base cell."""

    panel: str
    values: dict[str, float]
    steps: np.ndarray
    curves: np.ndarray
    base: np.ndarray


def sweep_cell(sweep: A3CSweep, panel: str, **values: float) -> SweepCell:
    """The cell of ``panel`` at the two knob values (ValueError if a value is off the grid)."""
    first, second = PANELS[panel]
    curves = sweep.cell(panel, values[first], values[second])
    base = sweep.cell(panel, BASE[first], BASE[second])
    return SweepCell(panel, {first: values[first], second: values[second]}, sweep.steps,
                     curves, base)


def first_solved(curves: np.ndarray, steps: np.ndarray) -> list[int | None]:
    """Per seed, the first evaluation step whose greedy score (5 episodes) reached 475."""
    hits = np.nan_to_num(curves[:, 0], nan=0.0) >= SOLVED_CARTPOLE
    return [int(steps[np.argmax(row)]) if row.any() else None for row in hits]


def cell_summary(cell: SweepCell) -> str:
    """Per seed: the step at which the greedy score first reached 475 and the final score."""
    knobs = ", ".join(f"{LABELS[k].split(' (')[0]} = {FORMATS.get(k, '{:g}'.format)(v)}"
                      for k, v in cell.values.items())
    per_seed = []
    for at, final in zip(first_solved(cell.curves, cell.steps), cell.curves[:, 0, -1],
                         strict=True):
        reached = f"475 at {at // 1000}k" if at is not None else "never 475"
        per_seed.append(f"{reached} (final {'diverged' if np.isnan(final) else f'{final:.0f}'})")
    return f"{knobs}: " + " · ".join(per_seed)


class SweepCurves:
    """Greedy score per seed (colours) over the base setting's seeds (grey), one axis."""

    def __init__(self) -> None:
        self.lines: list = []
        self.ax = None

    def __call__(self, cell: SweepCell, fig: Figure) -> None:
        if self.ax is None:
            self._build(cell, fig)
        x = cell.steps / 1000
        for line, scores in zip(self.lines, cell.curves[:, 0], strict=True):
            line.set_data(x, np.nan_to_num(scores, nan=-100.0))
        self.ax.title.set_text(cell_summary(cell).split(":")[0])

    def _build(self, cell: SweepCell, fig: Figure) -> None:
        self.ax = fig.subplots()
        x = cell.steps / 1000
        for k, scores in enumerate(cell.base[:, 0]):
            self.ax.plot(x, np.nan_to_num(scores, nan=-100.0), color=GREYS["light"],
                         linewidth=1.5, alpha=0.7,
                         label="tuned setting (per seed)" if k == 0 else None)
        for seed in range(len(cell.curves)):
            (line,) = self.ax.plot([], [], marker="o", color=SEED_COLOURS[seed],
                                   label=f"this setting, seed {seed}")
            self.lines.append(line)
        self.ax.axhline(SOLVED_CARTPOLE, color="black", linestyle=":", linewidth=1.5)
        self.ax.text(0.5, SOLVED_CARTPOLE - 30, "solved (475)", fontsize=12)
        self.ax.set(xlim=(0, x[-1] + 1), ylim=(0, 520), xlabel="environment steps (thousands)",
                    ylabel="greedy return (5 episodes)", title=" " * 60)
        self.ax.legend(loc="upper left", fontsize=11, ncol=2)

    def dynamic_artists(self) -> list:
        return [*self.lines, self.ax.title]


def sweep_panel(sweep: A3CSweep, panel: str, **defaults: float) -> SliderPanel:
    """Two sliders over the two knobs of ``panel`` (``"rollout_lr"``, ``"gamma_entropy"`` or
    ``"staleness"``); the other knobs stay at :data:`BASE`."""
    if panel not in PANELS:
        raise ValueError(f"panel must be one of {list(PANELS)}, got {panel!r}")
    start = BASE | defaults
    choices = [Choice(name, GRID[name], start[name], LABELS[name],
                      FORMATS.get(name, "{:g}".format)) for name in PANELS[panel]]
    return SliderPanel(lambda **values: sweep_cell(sweep, panel, **values), choices,
                       SweepCurves(), name=f"a3c-{panel.replace('_', '-')}",
                       summary=cell_summary, figsize=(11, 4.8), clear=False)
