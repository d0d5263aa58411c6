"""Plots legible from the back of a lecture room: large fonts, thick lines, labelled axes."""

from __future__ import annotations

import matplotlib as mpl
import numpy as np
from matplotlib.axes import Axes

from mini_lib.envs.gridworld import ACTIONS, GridWorldEnv

__all__ = [
    "COLOURS",
    "COURSE_STYLE",
    "GREYS",
    "OKABE_ITO",
    "GridWorldView",
    "draw_gridworld",
    "mean_and_band",
    "plot_mean_and_band",
    "use_course_style",
]

#: Okabe–Ito colours, distinguishable with the common forms of colour blindness, by name.
COLOURS: dict[str, str] = {"blue": "#0072B2", "orange": "#E69F00", "green": "#009E73",
                           "vermillion": "#D55E00", "purple": "#CC79A7", "sky_blue": "#56B4E9",
                           "yellow": "#F0E442", "black": "#000000"}
#: The colour cycle of every course figure, in that order.
OKABE_ITO = list(COLOURS.values())
#: Neutral greys, darkest first: labels on dark boxes, walls, secondary lines, markers, empty cells.
GREYS: dict[str, str] = {"darkest": "#333333", "dark": "#444444", "mid": "#555555",
                         "light": "#777777", "lightest": "#eeeeee"}

COURSE_STYLE: dict[str, object] = {
    "figure.figsize": (10, 5),
    "figure.dpi": 90,
    "figure.constrained_layout.use": True,
    "font.size": 15,
    "axes.titlesize": 17,
    "axes.labelsize": 16,
    "xtick.labelsize": 14,
    "ytick.labelsize": 14,
    "legend.fontsize": 14,
    "lines.linewidth": 2.8,
    "lines.markersize": 8,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.prop_cycle": mpl.cycler(color=OKABE_ITO),
    "image.cmap": "viridis",
}


def use_course_style() -> None:
    """Apply the course's matplotlib style to every later figure."""
    mpl.rcParams.update(COURSE_STYLE)


class GridWorldView:
    """A grid-world drawing whose values, arrows and path update in place.

    Creating the artists once and changing only their data makes a slider redraw several
    times faster than rebuilding the axes. Use :func:`draw_gridworld` for a one-off figure.
    """

    def __init__(
        self,
        ax: Axes,
        env: GridWorldEnv,
        *,
        value_range: tuple[float, float] = (-1.0, 1.0),
        decimals: int = 2,
        show_numbers: bool = True,
    ) -> None:
        env = env.unwrapped
        self.ax, self.env, self.decimals = ax, env, decimals
        self.shape = (env.n_rows, env.n_cols)
        cells = env.cells
        cmap = mpl.colormaps["RdYlGn"].with_extremes(bad=GREYS["dark"])
        before = set(ax.get_children())
        self.mesh = ax.pcolormesh(np.arange(env.n_cols + 1) - 0.5,
                                  np.arange(env.n_rows + 1) - 0.5,
                                  np.ma.masked_where(env.walls, np.zeros(self.shape)),
                                  cmap=cmap, vmin=value_range[0], vmax=value_range[1])
        ax.set_xlim(-0.5, env.n_cols - 0.5)
        ax.set_ylim(env.n_rows - 0.5, -0.5)  # row 0 at the top, as in the map
        ax.set_aspect("equal")
        ax.set_axis_off()  # no ticks: cheaper to draw, and a grid needs no numbers
        ax.hlines(np.arange(-0.5, env.n_rows + 0.5), -0.5, env.n_cols - 0.5, color="white", lw=2)
        ax.vlines(np.arange(-0.5, env.n_cols + 0.5), -0.5, env.n_rows - 0.5, color="white", lw=2)

        font = 15 if max(self.shape) <= 5 else 14
        self.free: list[tuple[int, int]] = []  # cells that get a value and an arrow
        for (row, col), cell in np.ndenumerate(cells):
            if cell in "GP":
                ax.text(col, row, "+1" if cell == "G" else "−1", ha="center", va="center",
                        fontsize=font + 3, fontweight="bold", color="white")
            elif cell != "#":
                self.free.append((row, col))
            if cell == "S":
                ax.text(col - 0.45, row - 0.45, "S", ha="left", va="top", fontsize=font,
                        fontweight="bold")
        self.numbers = ([ax.text(col, row - 0.3, "", ha="center", va="center",
                                 fontsize=font - 1) for row, col in self.free]
                        if show_numbers else [])
        rows, cols = np.array(self.free, dtype=float).T
        self._arrow_xy = (cols, rows + 0.12)
        # The y axis is inverted (row 0 on top), so a row step d_row is a data step too.
        self.arrows = ax.quiver(cols, rows + 0.12, np.zeros_like(cols), np.zeros_like(rows),
                                angles="xy", scale_units="xy", scale=1, width=0.007,
                                headwidth=4, headlength=4, color="black", pivot="middle")
        self.arrows.set_visible(False)
        (self.path_line,) = ax.plot([], [], color=COLOURS["blue"], linewidth=5, alpha=0.45,
                                    solid_capstyle="round")
        self._artists = [a for a in ax.get_children() if a not in before]

    def dynamic_artists(self) -> list:
        """The artists to redraw after :meth:`update` (for blitting).

        The heatmap changes, and everything drawn on top of it (grid lines, labels) must be
        redrawn after it, so this is every artist of the axes, in drawing order.
        """
        in_order = sorted(self._artists, key=lambda artist: artist.get_zorder())  # stable
        return [*in_order, self.ax.title]

    def update(
        self,
        values: np.ndarray | None = None,
        policy: np.ndarray | None = None,
        path: list[tuple[int, int]] | None = None,
        title: str | None = None,
    ) -> None:
        """Show new per-state ``values``, greedy ``policy`` arrows and a ``path`` of cells."""
        grid = (np.zeros(self.shape) if values is None
                else np.asarray(values, dtype=float).reshape(self.shape))
        colour = grid.copy()
        cells = self.env.cells
        colour[cells == "G"], colour[cells == "P"] = 1.0, -1.0  # terminal cells: their reward
        self.mesh.set_array(np.ma.masked_where(self.env.walls, colour))
        self.mesh.set_alpha(1.0 if values is not None else 0.15)
        for text, (row, col) in zip(self.numbers, self.free, strict=False):
            text.set_text("" if values is None else f"{grid[row, col]:.{self.decimals}f}")
        if policy is not None:
            steps = np.array([ACTIONS[int(policy[row * self.env.n_cols + col])]
                              for row, col in self.free], dtype=float)
            self.arrows.set_UVC(0.6 * steps[:, 1], 0.6 * steps[:, 0])
        self.arrows.set_visible(policy is not None)
        if path:
            rows, cols = zip(*path, strict=True)
            self.path_line.set_data(cols, rows)
        else:
            self.path_line.set_data([], [])
        if title is not None:
            self.ax.set_title(title)


def draw_gridworld(
    ax: Axes,
    env: GridWorldEnv,
    values: np.ndarray | None = None,
    policy: np.ndarray | None = None,
    *,
    title: str | None = None,
    value_range: tuple[float, float] = (-1.0, 1.0),
    decimals: int = 2,
) -> GridWorldView:
    """Draw a grid world: a value heatmap, the greedy action as arrows, walls, goal and pits.

    ``values`` and ``policy`` are per state (length ``n_rows * n_cols``), e.g. from
    :func:`mini_lib.tabular.dynamic_programming.value_iteration`.
    """
    view = GridWorldView(ax, env, value_range=value_range, decimals=decimals)
    view.update(values, policy, title=title)
    return view


def mean_and_band(runs: np.ndarray, band: str = "sem",
                  smooth: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Episode numbers, mean over runs (rows) and the band's half-width.

    ``band="sem"``: ±1 standard error of the mean; ``"std"``: ±1 standard deviation across
    runs. ``smooth`` > 1 first averages each run over a moving window of episodes.
    """
    runs = np.atleast_2d(np.asarray(runs, dtype=float))
    if band not in ("sem", "std"):
        raise ValueError(f"band must be 'sem' or 'std', got {band!r}")
    if smooth > 1:
        kernel = np.ones(smooth) / smooth
        runs = np.array([np.convolve(row, kernel, mode="valid") for row in runs])
    x = np.arange(1, runs.shape[1] + 1) + (smooth - 1)
    spread = runs.std(axis=0)
    if band == "sem":
        spread = spread / np.sqrt(runs.shape[0])
    return x, runs.mean(axis=0), spread


def plot_mean_and_band(
    ax: Axes,
    runs: np.ndarray,
    *,
    label: str | None = None,
    color: str | None = None,
    band: str = "sem",
    smooth: int = 1,
    x: np.ndarray | None = None,
):
    """Learning curve: the mean over runs (rows of ``runs``) and a shaded band.

    See :func:`mean_and_band` for ``band`` and ``smooth``. Returns the mean line.
    """
    episodes, mean, spread = mean_and_band(runs, band, smooth)
    x = episodes if x is None else x
    (line,) = ax.plot(x, mean, label=label, color=color)
    ax.fill_between(x, mean - spread, mean + spread, color=line.get_color(), alpha=0.25,
                    linewidth=0)
    return line
