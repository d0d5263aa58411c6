"""Time the slider panels' redraws (compute + draw + PNG), as a lecturer would feel them.

Run: ``make bench`` or ``.venv/bin/python benchmarks/slider_redraw.py``. Prints, per panel,
the median and worst redraw over a grid of slider positions (compute + draw + PNG encoding,
the time the kernel is busy), and how much of it value iteration takes. The course's bar is
100 ms per redraw for panels that browse precomputed or cheap results, 1 s for chapter
03's live variance panel (it re-samples 4096 episodes when γ changes) and 2 s for chapter 06's
live adaptation (each redraw samples and adapts two policies). Chapter 07's trial panel
replays a new bandit 500 times per strategy once (about a second for 100 pulls), then only
redraws; the grid below visits every position twice. Chapter 08's panels play episodes on
every move (context: one context and 20 scored episodes; gradient: six batches each for CAVIA
and MAML; a 2 s bar like chapter 06's). The browser adds a few ms to show the new PNG.
"""

from __future__ import annotations

import itertools
import time

import numpy as np
from matplotlib.figure import Figure

from mini_lib import seed_everything
from mini_lib.artefacts.dqn_sweep import load_sweep as load_dqn_sweep
from mini_lib.artefacts.families_nav import learner, load_families
from mini_lib.artefacts.maml_nav import load_policies, policy
from mini_lib.artefacts.maml_weights import load_weights, method_params, scratch_params
from mini_lib.artefacts.pg_sweep import GRID as PG_GRID
from mini_lib.artefacts.pg_sweep import load_sweep as load_pg_sweep
from mini_lib.artefacts.rl2_bandit import agent, load_agents
from mini_lib.demos import ch00_mapping as ch00
from mini_lib.demos import ch02_dqn as ch02
from mini_lib.demos import ch03_policy_gradient as ch03
from mini_lib.demos import ch05_maml as ch05
from mini_lib.demos import ch06_maml_rl as ch06
from mini_lib.demos import ch07_rl2 as ch07
from mini_lib.demos import ch07_trial_panel as ch07_panel
from mini_lib.demos import ch08_panels as ch08
from mini_lib.ui.plotting import use_course_style


def grid_positions(grid: dict[str, list]) -> list[dict]:
    """Every combination of the slider values in ``grid``."""
    return [dict(zip(grid, combo, strict=True)) for combo in itertools.product(*grid.values())]


def compute_share(gamma: float = 0.99, slip: float = 0.3, n: int = 20) -> float:
    """Milliseconds of one value-iteration redraw spent computing (the rest is drawing)."""
    start = time.perf_counter()
    for _ in range(n):
        ch00.plan_gridworld(gamma, slip)
    return (time.perf_counter() - start) / n * 1e3


def main() -> None:
    seed_everything(0)
    use_course_style()
    Figure()  # warm up matplotlib's font cache outside the timings
    panels = {
        "discounting (γ)": (ch00.discounting_panel(),
                            {"gamma": [0.0, 0.3, 0.6, 0.9, 0.95, 0.99, 1.0]}),
        "value iteration (γ, slip)": (ch00.value_iteration_panel(),
                                      {"gamma": [0.5, 0.8, 0.9, 0.95, 0.99, 1.0],
                                       "slip": [0.0, 0.1, 0.2, 0.3, 0.5]}),
    }
    dqn_sweep = load_dqn_sweep()
    panels["02 DQN sweep"] = (ch02.sweep_panel(dqn_sweep),
                              {name: axis.tolist() for name, axis in dqn_sweep.axes.items()})
    pg_sweep = load_pg_sweep()
    panels["03 PG sweep"] = (ch03.sweep_panel(pg_sweep),
                             {name: list(values) for name, values in PG_GRID.items()})
    panels["03 live variance (1 s bar)"] = (
        ch03.variance_panel(), {"batch_size": [1, 16, 256], "baseline": list(ch03.BASELINES),
                                "gamma": [0.5, 0.9, 0.99]})
    weights = load_weights()
    thetas = {"MAML": method_params(weights, "maml"),
              "pretrained": method_params(weights, "pretrain"),
              "from scratch": scratch_params(weights)}
    panels["05 MAML adaptation"] = (ch05.adaptation_panel(thetas),
                                    {"alpha": [0.003, 0.01, 0.1], "steps": [0, 1, 10],
                                     "k_shot": [1, 10, 20], "amplitude": [0.5, 3.0, 5.0],
                                     "phase": [0.0, 2.0]})
    stored = load_policies()
    learners = {"MAML": policy(stored, "maml"), "pretrained": policy(stored, "pretrain")}
    panels["06 MAML-RL live (2 s bar)"] = (
        ch06.adaptation_panel(learners), {"alpha": [0.05, 0.3], "steps": [0, 5],
                                          "goal_x": [-0.4, 0.4], "trajectories": [2, 40]})
    agents = load_agents()
    lab = ch07_panel.TrialLab({
        f"{n}-pull agent": (agent(agents, run), ch07.probe_agent(agent(agents, run), n, 500).probe)
        for run, n in (("n10_k5", 10), ("n100_k5", 100))})
    panels["07 RL² trial (new bandit: replays)"] = (
        ch07_panel.trial_panel(lab), {"agent": list(lab.agents), "bandit": [0, 7],
                                      "n_pulls": [10, 100], "pull": [1, 5, 10]})
    families = load_families()
    panels["08 context inference"] = (
        ch08.context_panel(learner(families, "context_concat")),
        {"n_transitions": [0, 3, 100], "goal_x": [-0.4, 0.4], "goal_y": [0.2]})
    panels["08 CAVIA and MAML steps"] = (
        ch08.gradient_panel(learner(families, "cavia"), learners["MAML"]),
        {"steps": [0, 3], "trajectories": [2, 40], "goal_x": [-0.4, 0.4]})
    print(f"{'panel':<28} {'redraws':>7} {'median ms':>10} {'max ms':>8}")
    for name, (panel, grid) in panels.items():
        times = panel.time_redraws(grid_positions(grid) * 2)
        print(f"{name:<28} {times.size:>7} {np.median(times):>10.0f} {times.max():>8.0f}")
    print(f"of which value iteration itself (γ=0.99, slip=0.3): {compute_share():.1f} ms")


if __name__ == "__main__":
    main()
