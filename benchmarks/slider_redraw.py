"""Time the slider panels' redraws (compute + draw + PNG), as a lecturer would feel them.

Run: ``make bench`` or ``.venv/bin/python benchmarks/slider_redraw.py``. Prints, per panel,
the median and worst redraw over a grid of slider positions (compute + draw + PNG encoding,
the time the kernel is busy), and how much of it value iteration takes. The course's bar is
100 ms per redraw; the browser adds a few ms to show the new PNG.
"""

from __future__ import annotations

import itertools
import time

import numpy as np
from matplotlib.figure import Figure

from mini_lib import seed_everything, use_course_style
from mini_lib.demos import ch00_mapping as ch00


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
    print(f"{'panel':<28} {'redraws':>7} {'median ms':>10} {'max ms':>8}")
    for name, (panel, grid) in panels.items():
        times = panel.time_redraws(grid_positions(grid) * 2)
        print(f"{name:<28} {times.size:>7} {np.median(times):>10.0f} {times.max():>8.0f}")
    print(f"of which value iteration itself (γ=0.99, slip=0.3): {compute_share():.1f} ms")


if __name__ == "__main__":
    main()
