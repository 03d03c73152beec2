"""The Explorer mechanism itself: readout, layout reuse, static fallback, fast path."""

import base64
import gc
import io

import ipywidgets as widgets
import matplotlib.pyplot as plt
import pytest
from PIL import Image as PILImage

from itutils.style import NOTEBOOK_COLUMN_PX
from itutils.widgets import _panel
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


@pytest.fixture
def in_kernel(monkeypatch):
    """Behave as in a Jupyter kernel: render every update into the Image."""
    monkeypatch.setattr(_panel, "_in_kernel", lambda: True)


def _png_size(png: bytes) -> tuple[int, int]:
    return PILImage.open(io.BytesIO(png)).size


def test_figure_is_the_value_of_an_image_widget(in_kernel, explorer):
    # The PNG travels as the Image widget's value: JupyterLab saves it with
    # the widget state, so a reopened notebook still shows the figure.
    assert isinstance(explorer.image, widgets.Image)
    assert explorer.image in explorer.widget.children
    first = bytes(explorer.image.value)
    assert first.startswith(b"\x89PNG")
    explorer.sliders["x"].value = 2.0
    assert bytes(explorer.image.value) != first
    assert bytes(explorer.image.value) == render_png(explorer.figure)
    # The static fallback is the same picture, not a second rendering.
    bundle = explorer._repr_mimebundle_()
    assert base64.b64decode(bundle["image/png"]) == explorer.image.value


def test_png_is_no_wider_than_the_notebook_column(in_kernel):
    slider = widgets.FloatSlider(value=1.0)
    wide = Explorer({"x": slider}, square, draw, figsize=(13, 3))
    width, height = _png_size(bytes(wide.image.value))
    assert width <= NOTEBOOK_COLUMN_PX
    assert width == pytest.approx(NOTEBOOK_COLUMN_PX, abs=2)
    assert height == pytest.approx(3 * NOTEBOOK_COLUMN_PX / 13, abs=2)
    narrow = Explorer({"x": slider}, square, draw, figsize=(4, 3))
    assert _png_size(bytes(narrow.image.value)) == (400, 300)  # its own 100 dpi


def test_explorer_leaves_garbage_collection_alone():
    frozen, enabled = gc.get_freeze_count(), gc.isenabled()
    thresholds = gc.get_threshold()
    ex = Explorer({"x": widgets.FloatSlider(value=1.0)}, square, draw)
    ex.sliders["x"].value = 2.0
    assert gc.get_freeze_count() == frozen
    assert (gc.isenabled(), gc.get_threshold()) == (enabled, thresholds)


def _fast_explorer(calls):
    def draw_line(fig, shown, x):
        ax = fig.subplots()
        (fig.line,) = ax.plot([0, x], [0, shown["square"]])
        ax.set_xlim(0, 3)
        ax.set_ylim(0, 9)
        fig.title = ax.set_title(f"x^2 = {shown['square']:.2f}")

    def move(fig, shown, x):
        calls.append(x)
        if x == 0:  # say "redraw": the structure would change
            return False
        fig.line.set_data([0, x], [0, shown["square"]])
        fig.title.set_text(f"x^2 = {shown['square']:.2f}")
        return None

    slider = widgets.FloatSlider(value=1.0, min=0.0, max=3.0, step=0.5)
    return Explorer({"x": slider}, square, draw_line, figsize=(4, 3), update=move)


def test_fast_path_moves_artists_on_the_same_figure(in_kernel):
    calls = []
    ex = _fast_explorer(calls)
    first, png = ex.figure, bytes(ex.image.value)
    ex.sliders["x"].value = 2.5
    assert calls == [2.5]
    assert ex.figure is first and ex.redraws == 1 and ex.updates == 2
    assert ex.figure.axes[0].get_title() == "x^2 = 6.25"
    assert list(ex.figure.line.get_ydata()) == [0, 6.25]
    assert bytes(ex.image.value) != png
    # The picture equals a full redraw of the same state.
    fresh = _fast_explorer([])
    fresh.sliders["x"].value = 2.5
    assert bytes(fresh.image.value) == bytes(ex.image.value)


def test_fast_path_can_ask_for_a_full_redraw(in_kernel):
    ex = _fast_explorer([])
    first = ex.figure
    ex.sliders["x"].value = 0.0
    assert ex.figure is not first and ex.redraws == 2
    assert ex.figure.axes[0].get_title() == "x^2 = 0.00"


def test_a_failing_update_says_why_on_the_page():
    def compute(x):
        if x > 2:
            raise ValueError("x must be at most 2")
        return {"x": x, "square": x * x}

    slider = widgets.FloatSlider(value=1.0, min=0.0, max=3.0)
    ex = Explorer({"x": slider}, compute, draw, readout=lambda s: "ok")
    with pytest.raises(ValueError):
        ex.sliders["x"].value = 2.5
    assert "could not update: ValueError: x must be at most 2" in ex.text.value


def _cyclic_garbage_of_moves(explorer, values) -> int:
    """Objects in reference cycles that the moves leave for the collector."""
    gc.collect()
    gc.disable()
    try:
        for value in values:
            explorer.sliders["x"].value = value
        return gc.collect()
    finally:
        gc.enable()


def test_fast_path_leaves_no_garbage_for_the_collector(in_kernel):
    # A new figure per move leaves thousands of objects in reference cycles,
    # which only a (slow, full) collection frees; moving artists leaves none
    # worth counting. The learner's garbage collection is never reconfigured.
    values = [0.5, 1.5, 2.0, 2.5, 3.0]
    fast = _cyclic_garbage_of_moves(_fast_explorer([]), values)
    slider = widgets.FloatSlider(value=1.0, min=0.0, max=3.0, step=0.5)
    full = _cyclic_garbage_of_moves(
        Explorer({"x": slider}, square, draw, figsize=(4, 3)), values)
    assert full > 1000 * len(values) // 5
    assert fast < 50, fast
