"""Time the tabular experiments of chapter 01: the book-size reproduction and the slider.

Run: ``.venv/bin/python benchmarks/tabular_speed.py``. Prints the time of Sutton & Barto's
Figure 6.4 (Sarsa and Q-learning, runs × episodes) with both engines, of Figure 6.5, and the
cliff slider's redraw time (compute + draw + PNG) over a grid of slider positions. The
chapter's bar for a live slider redraw is 1 s.
"""

from __future__ import annotations

import itertools
import time

import gymnasium as gym
import numpy as np

from mini_lib import seed_everything
from mini_lib.demos.ch01_q_learning import cliff_panel, maximization_bias
from mini_lib.tabular.td_control import TabularConfig, train
from mini_lib.ui.plotting import use_course_style


def figure_6_4(n_runs: int, n_episodes: int, engine: str) -> tuple[float, dict[str, float]]:
    """Seconds for Sarsa + Q-learning on the cliff, and their mean return over episodes 200+."""
    env = gym.make("CliffWalking-v1")
    config = TabularConfig(alpha=0.5, epsilon=0.1, gamma=1.0, n_runs=n_runs,
                           n_episodes=n_episodes, seed=1)
    start = time.perf_counter()
    means = {name: float(train(env, name, config, engine).returns[:, 199:].mean())
             for name in ("sarsa", "q_learning")}
    return time.perf_counter() - start, means


def main() -> None:
    seed_everything(0)
    use_course_style()
    for n_runs, engine in [(100, "batched"), (100, "loop"), (50, "batched")]:
        seconds, means = figure_6_4(n_runs, 500, engine)
        print(f"Fig 6.4, {n_runs:>3} runs × 500 episodes, {engine:>7} engine: {seconds:5.2f} s "
              f"(Sarsa {means['sarsa']:.1f}, Q-learning {means['q_learning']:.1f})")
    for n_runs in (2000, 10_000):
        start = time.perf_counter()
        left = maximization_bias(n_runs=n_runs, n_episodes=300)
        print(f"Fig 6.5, {n_runs:>6} runs × 300 episodes: {time.perf_counter() - start:5.2f} s "
              f"(% left at episode 10: Q {left['Q-learning'][9]:.1f}, "
              f"Double Q {left['Double Q-learning'][9]:.1f})")

    panel = cliff_panel()
    grid = {"alpha": [0.02, 0.05, 0.2, 0.5, 1.0], "gamma": [0.9, 1.0],
            "epsilon": [0.0, 0.1, 0.2, 0.3]}
    positions = [dict(zip(grid, combo, strict=True)) for combo in itertools.product(*grid.values())]
    times = panel.time_redraws(positions)
    worst = tuple(positions[int(np.argmax(times))].values())
    print(f"cliff slider (α, γ, ε): {times.size} redraws, median {np.median(times):.0f} ms, "
          f"90th percentile {np.percentile(times, 90):.0f} ms, max {times.max():.0f} ms "
          f"at (α, γ, ε) = {worst}")


if __name__ == "__main__":
    main()
