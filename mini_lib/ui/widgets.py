"""Slider panels: a pure function, a drawing function, and sliders built from a spec.

The pattern (borrowed in spirit from Neuromatch Academy) keeps experiments testable::

    def compute(gamma, slip):            # pure: tests call it directly
        ...
        return result

    def draw(result, fig):               # draws the result into an (already cleared) figure
        ...

    panel = SliderPanel(compute, [gamma_slider(), Slider("slip", 0, 0.5, 0.2)], draw,
                        name="value-iteration", summary=lambda r: f"V(start) = {r.v0:.3f}")
    panel                                # displays sliders, a readout and the plot

Moving a slider calls ``compute(**values)``, stores the result in ``panel.result``, renders
the figure to PNG and swaps it into the output area in place. ``panel.last_redraw_ms`` is
the time of that whole round trip in the kernel (compute + draw + PNG rendering).
"""

from __future__ import annotations

import html
import io
import math
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

import ipywidgets as widgets
import matplotlib as mpl
import numpy as np
from IPython import get_ipython
from IPython.display import Image, clear_output, display
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image as PILImage

from mini_lib.ui.plotting import COURSE_STYLE

# The course style minus figure-level settings: the panel's figure chooses its own layout.
DRAWING_STYLE = {k: v for k, v in COURSE_STYLE.items() if not k.startswith("figure.")}

__all__ = ["Choice", "Slider", "SliderPanel", "gamma_slider", "int_slider", "log_slider"]

Scale = Literal["linear", "log", "int"]


@dataclass(frozen=True)
class Slider:
    """One slider: parameter ``name`` (the keyword passed to ``compute``), range and default.

    ``scale="log"`` spaces the slider evenly in log10 (learning rates); ``"int"`` for counts
    such as inner steps. ``step`` is the slider resolution (in log10 units for ``"log"``);
    ``label`` is the text shown next to it.
    """

    name: str
    low: float
    high: float
    default: float
    scale: Scale = "linear"
    step: float | None = None
    label: str | None = None

    def __post_init__(self) -> None:
        if self.scale not in ("linear", "log", "int"):
            raise ValueError(f"scale must be 'linear', 'log' or 'int', got {self.scale!r}")
        if not self.low < self.high:
            raise ValueError(f"slider {self.name!r}: low must be < high, got low={self.low}, "
                             f"high={self.high}")
        if self.scale == "log" and self.low <= 0:
            raise ValueError(f"slider {self.name!r}: a log-scale slider needs low > 0, "
                             f"got low={self.low}")
        if not self.low <= self.default <= self.high:
            raise ValueError(f"slider {self.name!r}: default must be in [{self.low}, "
                             f"{self.high}], got {self.default}")
        if self.scale == "int" and not all(float(v).is_integer()
                                           for v in (self.low, self.high, self.default)):
            raise ValueError(f"slider {self.name!r}: an integer slider needs integer low, high "
                             f"and default, got {self.low}, {self.high}, {self.default}")
        if self.step is not None and self.step <= 0:
            raise ValueError(f"slider {self.name!r}: step must be > 0, got {self.step}")

    def build(self, continuous_update: bool) -> widgets.ValueWidget:
        """The ipywidgets control for this spec."""
        common = dict(description=self.label or self.name, continuous_update=continuous_update,
                      style={"description_width": "initial"},
                      layout=widgets.Layout(width="460px"))
        if self.scale == "int":
            return widgets.IntSlider(value=int(self.default), min=int(self.low),
                                     max=int(self.high), step=int(self.step or 1), **common)
        if self.scale == "log":
            lo, hi = math.log10(self.low), math.log10(self.high)
            return widgets.FloatLogSlider(value=self.default, base=10, min=lo, max=hi,
                                          step=self.step or (hi - lo) / 40,
                                          readout_format=".2g", **common)
        step = self.step or (self.high - self.low) / 100
        return widgets.FloatSlider(value=self.default, min=self.low, max=self.high, step=step,
                                   readout_format=".2f", **common)


@dataclass(frozen=True)
class Choice:
    """A slider over a fixed list of values, e.g. the grid points of a precomputed sweep.

    ``options`` are the values passed to ``compute``; ``format`` turns one into its label.
    """

    name: str
    options: tuple[Any, ...]
    default: Any
    label: str | None = None
    format: Callable[[Any], str] = str

    def __post_init__(self) -> None:
        if not self.options:
            raise ValueError(f"choice {self.name!r}: options must not be empty")
        if self.default not in self.options:
            raise ValueError(f"choice {self.name!r}: default must be one of {self.options}, "
                             f"got {self.default!r}")

    def build(self, continuous_update: bool) -> widgets.ValueWidget:
        """An ipywidgets ``SelectionSlider`` over the options."""
        return widgets.SelectionSlider(
            options=[(self.format(v), v) for v in self.options], value=self.default,
            description=self.label or self.name, continuous_update=continuous_update,
            style={"description_width": "initial"}, layout=widgets.Layout(width="460px"))


def log_slider(name: str, low: float, high: float, default: float,
               label: str | None = None) -> Slider:
    """A log-scale slider, for learning rates and other scale parameters."""
    return Slider(name, low, high, default, scale="log", label=label)


def gamma_slider(default: float = 0.9, name: str = "gamma", high: float = 1.0,
                 label: str = "γ (discount)") -> Slider:
    """The discount γ on [0, ``high``] in steps of 0.01."""
    return Slider(name, 0.0, high, default, step=0.01, label=label)


def int_slider(name: str, low: int, high: int, default: int, label: str | None = None) -> Slider:
    """An integer slider, e.g. the number of inner adaptation steps."""
    return Slider(name, low, high, default, scale="int", label=label)


class SliderPanel:
    """Sliders + readout + plot around a pure ``compute(**params)`` function.

    ``draw(result, fig)`` draws into a ``matplotlib.figure.Figure``, cleared before each call
    unless ``clear=False`` — then ``draw`` may create its artists once and update them in
    place, which is much faster. ``summary(result)`` returns a short text for the readout.
    A ``ValueError``/``RuntimeError`` from ``compute`` (e.g. value iteration failing to
    converge) is shown in the readout instead of a traceback, and the last good plot stays.
    """

    def __init__(
        self,
        compute: Callable[..., Any],
        sliders: Sequence[Slider | Choice],
        draw: Callable[[Any, Figure], None],
        *,
        name: str,
        summary: Callable[[Any], str] | None = None,
        figsize: tuple[float, float] = (10.0, 4.5),
        dpi: int = 90,
        layout: str = "constrained",
        clear: bool = True,
        continuous_update: bool = False,
    ) -> None:
        names = [s.name for s in sliders]
        if len(set(names)) != len(names):
            raise ValueError(f"slider names must be unique, got {names}")
        self.compute, self.draw, self.summary = compute, draw, summary
        self.name, self.clear = name, clear
        self.sliders = {s.name: s.build(continuous_update) for s in sliders}
        self.figure = Figure(figsize=figsize, dpi=dpi, layout=layout)
        self._canvas = FigureCanvasAgg(self.figure)
        self._background = None  # static part of the figure, for blitting
        self.readout = widgets.HTML().add_class("mini-lib-readout")
        self.timing = widgets.HTML().add_class("mini-lib-timing")
        self.output = widgets.Output().add_class("mini-lib-plot")
        self.widget = widgets.VBox(
            [*self.sliders.values(), widgets.HBox([self.readout, self.timing]), self.output]
        )
        self.widget.add_class("mini-lib-panel").add_class(f"mini-lib-panel-{name}")
        self.result: Any = None
        self.error: str | None = None
        self.png: bytes = b""
        self.last_redraw_ms = float("nan")
        self._holding = False
        for slider in self.sliders.values():
            slider.observe(lambda _change: self.update(), names="value")
        self.update()

    @property
    def values(self) -> dict[str, Any]:
        """The current slider values, as passed to ``compute``."""
        return {name: slider.value for name, slider in self.sliders.items()}

    def set(self, **values: Any) -> Any:
        """Move several sliders, then redraw once; returns the new result."""
        unknown = set(values) - set(self.sliders)
        if unknown:
            raise ValueError(f"unknown slider(s) {sorted(unknown)}; this panel has "
                             f"{sorted(self.sliders)}")
        with self._hold():
            for name, value in values.items():
                self.sliders[name].value = value
        return self.update()

    def time_redraws(self, positions: Iterable[dict[str, Any]]) -> np.ndarray:
        """Redraw at each slider position (a dict of values); the times in ms.

        The sliders go back to where they were afterwards.
        """
        start, times = self.values, []
        for position in positions:
            self.set(**position)
            times.append(self.last_redraw_ms)
        self.set(**start)
        return np.array(times)

    def update(self) -> Any:
        """Recompute and redraw for the current slider values; returns the result."""
        if self._holding:
            return self.result
        start = time.perf_counter()
        self.timing.value = "<span style='color:#777'>&nbsp; ⏳ computing…</span>"  # live: ~1 s
        try:
            result = self.compute(**self.values)
        except (ValueError, RuntimeError) as error:
            self.error, self.timing.value = str(error), ""
            self.readout.value = f"<b style='color:#b00'>⚠ {html.escape(self.error)}</b>"
            return self.result
        self.error, self.result = None, result
        with mpl.rc_context(DRAWING_STYLE):  # legible on a projector whatever the notebook set
            self.draw_into(result)
            self.png = self._render_png()
        if get_ipython() is not None:  # in a kernel: swap the picture in the output area
            with self.output:
                clear_output(wait=True)
                display(Image(data=self.png, format="png"))
        self.last_redraw_ms = 1000 * (time.perf_counter() - start)
        text = self.summary(result) if self.summary else ""
        self.readout.value = f"<span style='font-size:1.2em'>{html.escape(text)}</span>"
        self.timing.value = (f"<span style='color:#777'>&nbsp; redraw "
                             f"{self.last_redraw_ms:.0f} ms</span>")
        return result

    def _render_png(self) -> bytes:
        """Render the figure to PNG, blitting when ``draw`` names its changing artists.

        A ``draw`` object with a ``dynamic_artists()`` method gets the fast path: the static
        parts (axes, ticks, labels) are rendered once and kept as a background; each redraw
        restores it and draws only the changing artists.
        """
        buffer = io.BytesIO()
        dynamic = getattr(self.draw, "dynamic_artists", None)
        artists = dynamic() if callable(dynamic) and not self.clear else []
        if not artists:
            # Light compression: a 3x faster encode for a slightly larger PNG.
            self.figure.savefig(buffer, format="png", pil_kwargs={"compress_level": 1})
            return buffer.getvalue()
        if self._background is None:
            self._canvas.draw()  # lay the figure out with every artist in it ...
            self.figure.set_layout_engine("none")  # ... and keep that layout from now on
            for artist in artists:
                artist.set_animated(True)
            self._canvas.draw()  # everything but the animated artists
            self._background = self._canvas.copy_from_bbox(self.figure.bbox)
        else:
            self._canvas.restore_region(self._background)
        for artist in artists:
            self.figure.draw_artist(artist)
        width, height = self._canvas.get_width_height()
        PILImage.frombuffer("RGBA", (width, height), self._canvas.buffer_rgba(), "raw",
                            "RGBA", 0, 1).save(buffer, format="png", compress_level=1)
        return buffer.getvalue()

    def draw_into(self, result: Any) -> None:
        """Draw ``result`` into the panel's figure (cleared first unless ``clear=False``)."""
        if self.clear:
            self.figure.clear()
        self.draw(result, self.figure)

    @contextmanager
    def _hold(self) -> Iterator[None]:
        """Suspend redraws while several sliders move."""
        self._holding = True
        try:
            yield
        finally:
            self._holding = False

    def _ipython_display_(self) -> None:
        display(self.widget)
