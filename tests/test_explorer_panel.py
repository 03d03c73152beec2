"""The Explorer mechanism itself: readout, layout reuse, static fallback."""

import base64

import ipywidgets as widgets
import matplotlib.pyplot as plt
import pytest

from itutils.widgets._panel import Explorer, render_png


def square(x):
    return {"x": x, "square": x * x}


def draw(fig, shown, x):
    ax = fig.subplots()
    ax.plot([0, x], [0, shown["square"]], label="a long label to lay out")
    ax.set_xlabel("x")
    ax.set_title(f"x^2 = {shown['square']:.2f}")


@pytest.fixture
def explorer():
    slider = widgets.FloatSlider(value=1.0, min=0.0, max=3.0, step=0.5)
    return Explorer({"x": slider}, square, draw, figsize=(4, 3),
                    readout=lambda s: f"x^2 = {s['square']:.2f} units")


def test_slider_recomputes_and_redraws(explorer):
    first = explorer.figure
    explorer.sliders["x"].value = 2.5
    assert explorer.shown == {"x": 2.5, "square": 6.25}
    assert explorer.figure is not first
    assert explorer.figure.axes[0].get_title() == "x^2 = 6.25"
    assert explorer.updates == 2


def test_readout_shows_the_numbers_as_text(explorer):
    assert explorer.text.value == "<code>x^2 = 1.00 units</code>"
    explorer.sliders["x"].value = 3.0
    assert explorer.text.value == "<code>x^2 = 9.00 units</code>"
    assert explorer.text in explorer.widget.children


def test_no_readout_means_no_text_widget():
    slider = widgets.FloatSlider(value=1.0)
    ex = Explorer({"x": slider}, square, draw)
    assert ex.text not in ex.widget.children


def test_layout_is_computed_once_then_reused(explorer):
    margins = {k: getattr(explorer.figure.subplotpars, k) for k in ("left", "bottom")}
    explorer.sliders["x"].value = 0.5
    again = {k: getattr(explorer.figure.subplotpars, k) for k in ("left", "bottom")}
    assert margins == again
    # tight_layout moved the axes off matplotlib's default margins.
    assert margins["left"] != pytest.approx(0.125)


def test_leaves_no_pyplot_figures_open(explorer):
    before = len(plt.get_fignums())
    for value in (0.0, 1.5, 3.0):
        explorer.sliders["x"].value = value
    assert len(plt.get_fignums()) == before


def test_static_fallback_carries_the_current_figure(explorer):
    bundle = explorer._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    png = base64.b64decode(bundle["image/png"])
    assert png.startswith(b"\x89PNG") and png == render_png(explorer.figure)
    assert "run the notebook" in bundle["text/plain"]
