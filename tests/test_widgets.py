"""Slider panels driven programmatically, as a learner's clicks would drive them."""

import math

import ipywidgets as widgets
import numpy as np
import pytest
from blit_check import blit_mismatch

from mini_lib.demos.ch00_mapping import (
    discounting,
    discounting_panel,
    plan_gridworld,
    value_iteration_panel,
)
from mini_lib.demos.ch01_q_learning import cliff_panel
from mini_lib.ui.widgets import (
    Slider,
    SliderPanel,
    gamma_slider,
    int_slider,
    log_slider,
)


def line_panel(**kwargs):
    calls = []

    def compute(lr, gamma, steps):
        calls.append((lr, gamma, steps))
        return lr * steps + gamma

    def draw(result, fig):
        fig.subplots().plot([0, 1], [0, result])

    sliders = [log_slider("lr", 1e-4, 1.0, 1e-2), gamma_slider(0.9), int_slider("steps", 0, 10, 1)]
    return SliderPanel(compute, sliders, draw, name="test", summary=str, **kwargs), calls


def test_sliders_are_built_from_the_spec():
    panel, _ = line_panel()
    lr, gamma, steps = panel.sliders.values()
    assert isinstance(lr, widgets.FloatLogSlider)
    assert (lr.min, lr.max, lr.base) == pytest.approx((-4, 0, 10))
    assert isinstance(gamma, widgets.FloatSlider) and (gamma.min, gamma.max) == (0, 1)
    assert isinstance(steps, widgets.IntSlider) and (steps.min, steps.max) == (0, 10)
    assert "mini-lib-panel-test" in panel.widget._dom_classes


def test_moving_a_slider_recomputes_and_redraws():
    panel, calls = line_panel()
    assert panel.result == pytest.approx(1e-2 * 1 + 0.9)
    png_before = panel.png
    panel.sliders["steps"].value = 5
    assert calls[-1] == (pytest.approx(1e-2), 0.9, 5)
    assert panel.result == pytest.approx(1e-2 * 5 + 0.9)
    assert panel.png != png_before and panel.png.startswith(b"\x89PNG")
    assert str(panel.result) in panel.readout.value
    assert panel.last_redraw_ms > 0


def test_set_moves_several_sliders_with_one_recompute():
    panel, calls = line_panel()
    n_calls = len(calls)
    result = panel.set(lr=0.1, steps=3)
    assert len(calls) == n_calls + 1
    assert result == pytest.approx(0.1 * 3 + 0.9)
    assert panel.values == {"lr": pytest.approx(0.1), "gamma": 0.9, "steps": 3}
    with pytest.raises(ValueError, match=r"unknown slider\(s\) \['alpha'\]"):
        panel.set(alpha=0.1)


def test_a_failing_computation_is_shown_not_raised():
    def compute(gamma):
        if gamma > 0.95:
            raise RuntimeError("did not converge")
        return gamma

    panel = SliderPanel(compute, [gamma_slider(0.5)], lambda r, fig: None, name="fail")
    panel.sliders["gamma"].value = 0.99
    assert panel.error == "did not converge"
    assert "did not converge" in panel.readout.value
    assert panel.result == 0.5  # the last good result stays


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (lambda: Slider("lr", 0.0, 1.0, 0.1, scale="log"), "log-scale slider needs low > 0"),
        (lambda: Slider("g", 1.0, 0.0, 0.5), "low must be < high"),
        (lambda: Slider("g", 0.0, 1.0, 2.0), r"default must be in \[0.0, 1.0\], got 2.0"),
        (lambda: Slider("n", 0, 10, 2.5, scale="int"), "integer slider needs integer"),
        (lambda: Slider("g", 0.0, 1.0, 0.5, scale="cubic"), "scale must be"),
    ],
)
def test_bad_slider_specs_raise(spec, message):
    with pytest.raises(ValueError, match=message):
        spec()


def test_discounting_panel_wraps_the_pure_function():
    panel = discounting_panel(gamma=0.9)
    panel.sliders["gamma"].value = 0.5
    expected = discounting(0.5)
    assert panel.result.G == pytest.approx(expected.G) == pytest.approx(2.0)
    assert "G = 2" in panel.readout.value


def test_value_iteration_panel_tracks_the_sliders():
    panel = value_iteration_panel("cliff", gamma=0.9, slip=0.0)
    assert {row for row, _ in panel.result.path} == {2}  # along the cliff edge
    panel.sliders["slip"].value = 0.2
    direct = plan_gridworld(0.9, 0.2, "cliff")
    assert panel.result.start_value == pytest.approx(direct.start_value)
    assert 1 in {row for row, _ in panel.result.path}  # the safe detour
    assert f"{direct.start_value:.3f}" in panel.readout.value
    assert np.array_equal(panel.result.solution.policy, direct.solution.policy)
    assert not math.isnan(panel.last_redraw_ms)


@pytest.mark.parametrize(
    ("make_panel", "move"),
    [
        (discounting_panel, {"gamma": 0.6}),
        (value_iteration_panel, {"gamma": 0.6, "slip": 0.3}),
        (cliff_panel, {"alpha": 0.1, "epsilon": 0.0}),
    ],
)
def test_blitted_redraw_shows_the_same_picture_as_a_full_render(make_panel, move):
    """Blitting redraws only the changing artists; the picture must not lose anything."""
    panel = make_panel()
    panel.set(**move)  # a second redraw takes the blitting path
    differing = blit_mismatch(panel)
    assert differing < 0.005, f"{differing:.2%} of pixels differ from a full render"


def test_time_redraws_times_each_position_and_puts_the_sliders_back():
    panel, calls = line_panel()
    before, n_calls = panel.values, len(calls)
    times = panel.time_redraws([{"steps": 2}, {"steps": 7, "gamma": 0.5}])
    assert times.shape == (2,) and np.all(times > 0)
    assert calls[n_calls:n_calls + 2] == [(pytest.approx(1e-2), 0.9, 2),
                                          (pytest.approx(1e-2), 0.5, 7)]
    assert panel.values == before
